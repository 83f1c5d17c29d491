package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Errors a failed probe wraps; match them with errors.Is. The error of a
// timed-out probe also matches context.DeadlineExceeded.
var (
	// ErrTimeout: the backend did not answer within the probe timeout.
	ErrTimeout = errors.New("timeout")
	// ErrConnection: the request could not be sent or its answer read.
	ErrConnection = errors.New("connection failed")
	// ErrHTTPStatus: the backend answered with a non-2xx status.
	ErrHTTPStatus = errors.New("HTTP status")
	// ErrNotReady: a llama.cpp server answered 2xx but reported a status
	// other than "ok".
	ErrNotReady = errors.New("backend not ready")
)

// probeError carries a short, secret-free message and unwraps to its kind
// (one of the Err* values) and the underlying cause.
type probeError struct {
	kind  error
	cause error
	msg   string
}

func (e *probeError) Error() string { return e.msg }

func (e *probeError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Result is the outcome of one probe.
type Result struct {
	// OK reports a successful probe.
	OK bool
	// Latency is the time until the response headers arrived (or until
	// the probe gave up when there was no answer).
	Latency time.Duration
	// Models is what the backend reported; meaningful only when
	// ModelsParsed is true. An empty list then means the backend really
	// serves no model.
	Models []registry.Model
	// ModelsParsed reports that Models is the backend's current list. It
	// is false for failures, for answers whose body could not be parsed
	// and for llama.cpp servers that did not list their model: the last
	// known list is kept then.
	ModelsParsed bool
	// Err says why the probe failed (nil when OK). It never contains the
	// backend's API key.
	Err error
	// StatusCode is the HTTP status of the probe answer, 0 when none
	// arrived.
	StatusCode int
}

// answered reports whether the backend sent an HTTP answer.
func (r Result) answered() bool { return r.StatusCode != 0 }

// Probe sends one health probe to b and reports the result without changing
// any state. It is bounded by ctx and by DefaultTimeout; Ollama backends get
// a second budget of the same length to describe their models. A nil client
// means a private one, whose connections are closed before Probe returns.
func Probe(ctx context.Context, client *http.Client, b *registry.Backend) Result {
	if client == nil {
		client = newClient()
		defer client.CloseIdleConnections()
	}
	p := prober{client: client, timeout: DefaultTimeout}
	res, _ := p.probe(ctx, b, nil)
	return res
}

// prober sends probes with one client and timeout.
type prober struct {
	client  *http.Client
	timeout time.Duration
}

// answer is one HTTP exchange: its status, body and time to headers.
type answer struct {
	status  int
	body    []byte
	latency time.Duration
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// probePath returns the path probed for a backend type.
func probePath(t registry.Type) string {
	switch t {
	case registry.TypeOllama:
		return "/api/tags"
	case registry.TypeLlamaCpp:
		return "/health"
	case registry.TypeAnthropic:
		return anthropicModelsPath
	}
	return "/v1/models"
}

// probe runs one probe of b. cache holds the Ollama model descriptions of
// the previous probe (nil for none); the returned cache replaces it.
func (p prober) probe(ctx context.Context, b *registry.Backend, cache showCache) (Result, showCache) {
	cred := credentials{key: b.APIKey(), anthropic: b.Type == registry.TypeAnthropic}
	ans, err := p.send(ctx, http.MethodGet, b.URL+probePath(b.Type), cred, nil)
	res := Result{Latency: ans.latency, StatusCode: ans.status}
	switch {
	case err != nil:
		res.Err = err
		return res, cache
	case !ans.ok():
		res.Err = &probeError{kind: ErrHTTPStatus, msg: fmt.Sprintf("HTTP %d", ans.status)}
		return res, cache
	}
	res.OK = true
	switch b.Type {
	case registry.TypeOllama:
		tags, ok := parseTags(ans.body)
		if !ok {
			return res, cache
		}
		res.Models, cache = p.describe(ctx, b, tags, cache)
		res.ModelsParsed = true
	case registry.TypeLlamaCpp:
		status, ok := parseLlamaHealth(ans.body)
		if !ok {
			return res, cache
		}
		if status != "ok" {
			res.OK = false
			res.Err = &probeError{kind: ErrNotReady, msg: fmt.Sprintf("backend status %q", clip(status, 64))}
			return res, cache
		}
		res.Models, res.ModelsParsed = p.llamaModels(ctx, b)
	case registry.TypeAnthropic:
		res.Models, res.ModelsParsed = p.anthropicModels(ctx, b, cred, ans.body)
	default:
		res.Models, res.ModelsParsed = parseOpenAIModels(ans.body)
	}
	return res, cache
}

// llamaModels asks a healthy llama.cpp server which model it serves. Its
// /health reports none, and without a model a backend is never routable.
// Any failure here only means "keep the last known list".
func (p prober) llamaModels(ctx context.Context, b *registry.Backend) ([]registry.Model, bool) {
	ans, err := p.exchange(ctx, http.MethodGet, b.URL+"/v1/models", b.APIKey(), nil)
	if err != nil || !ans.ok() {
		return nil, false
	}
	return parseOpenAIModels(ans.body)
}

// exchange sends one request bounded by p.timeout, with key (if any) as a
// Bearer token, and reads the answer. Errors are classified and scrubbed of
// key.
func (p prober) exchange(ctx context.Context, method, target, key string, body []byte) (answer, error) {
	return p.send(ctx, method, target, credentials{key: key}, body)
}

// credentials are how a probe authenticates: key as "Authorization:
// Bearer", or, for an Anthropic-API backend, as x-api-key with
// anthropic-version (always sent then, key or not: Anthropic's API
// requires it).
type credentials struct {
	key       string
	anthropic bool
}

// send is exchange with the given credentials.
func (p prober) send(ctx context.Context, method, target string, cred credentials, body []byte) (answer, error) {
	key := cred.key
	budget := p.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < budget {
			budget = max(left.Round(time.Millisecond), 0)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return answer{}, &probeError{kind: ErrConnection, cause: err, msg: "connection failed: invalid backend URL"}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "nexus-health-check")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case cred.anthropic:
		req.Header.Set("Anthropic-Version", anthropicVersion)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
	case key != "":
		req.Header.Set("Authorization", "Bearer "+key)
	}

	start := time.Now()
	resp, err := p.client.Do(req)
	ans := answer{latency: time.Since(start)}
	if err != nil {
		return ans, classify(err, budget, key)
	}
	defer resp.Body.Close()
	ans.status = resp.StatusCode
	if !ans.ok() {
		// Read a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return ans, nil
	}
	ans.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return ans, classify(err, budget, key)
	}
	return ans, nil
}

// classify turns a transport error into a probe error whose message names
// the problem without the URL and without key.
func classify(err error, budget time.Duration, key string) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &probeError{kind: ErrTimeout, cause: context.DeadlineExceeded, msg: "timeout after " + budget.String()}
	}
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	msg := inner.Error()
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	return &probeError{kind: ErrConnection, cause: inner, msg: "connection failed: " + clip(msg, 512)}
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
