package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// DetectTimeout bounds each of the requests Detect sends.
const DetectTimeout = 2 * time.Second

// ErrUndetected is returned by Detect when no known API answered.
var ErrUndetected = errors.New("no Ollama, llama.cpp or OpenAI-compatible API found")

// Detect guesses the type of the server at baseURL, for adding a backend
// without a type. It tries, in order, each request bounded by
// DetectTimeout and by ctx:
//
//   - GET /api/tags answers 2xx with a "models" array: TypeOllama;
//   - GET /health answers 2xx with {"status":"ok"}: TypeLlamaCpp;
//   - GET /v1/models answers 2xx: TypeGeneric (any OpenAI-compatible
//     server).
//
// Otherwise it returns an error wrapping ErrUndetected that says what the
// last attempt saw. A nil client means a private one, closed before Detect
// returns. Detect sends no credentials.
func Detect(ctx context.Context, client *http.Client, baseURL string) (registry.Type, error) {
	if client == nil {
		client = newClient()
		defer client.CloseIdleConnections()
	}
	p := prober{client: client, timeout: DetectTimeout}
	base := registry.NormalizeURL(baseURL)
	shown := base
	if u, err := url.Parse(base); err == nil {
		shown = u.Redacted()
	}

	if ans, err := p.exchange(ctx, http.MethodGet, base+"/api/tags", "", nil); err == nil && ans.ok() {
		if _, ok := parseTags(ans.body); ok {
			return registry.TypeOllama, nil
		}
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("detect %s: %w", shown, ctx.Err())
	}
	if ans, err := p.exchange(ctx, http.MethodGet, base+"/health", "", nil); err == nil && ans.ok() {
		if status, ok := parseLlamaHealth(ans.body); ok && status == "ok" {
			return registry.TypeLlamaCpp, nil
		}
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("detect %s: %w", shown, ctx.Err())
	}
	ans, err := p.exchange(ctx, http.MethodGet, base+"/v1/models", "", nil)
	switch {
	case err != nil:
		return "", fmt.Errorf("detect %s: %w (GET /v1/models: %w)", shown, ErrUndetected, err)
	case !ans.ok():
		return "", fmt.Errorf("detect %s: %w (GET /v1/models: HTTP %d)", shown, ErrUndetected, ans.status)
	}
	return registry.TypeGeneric, nil
}
