package signals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/nexusllm/nexus/registry"
)

// fetchLoad reads b's load the way its engine reports it, bounded by the
// configured Timeout. The returned reading has no UpdatedAt yet.
func (p *Poller) fetchLoad(ctx context.Context, b *registry.Backend) (*registry.Load, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	switch b.Type {
	case registry.TypeVLLM:
		return p.getParse(ctx, b, "/metrics", ParseVLLM)
	case registry.TypeSGLang:
		return p.getParse(ctx, b, "/metrics", ParseSGLang)
	case registry.TypeOllama:
		return p.getParse(ctx, b, "/api/ps", ParseOllamaPS)
	case registry.TypeLlamaCpp:
		return p.fetchLlamaCpp(ctx, b)
	}
	return nil, ErrNotPollable
}

// fetchLlamaCpp reads GET /slots; when the server does not serve it
// (--no-slots) or it fails, GET /metrics and GET /props together, keeping
// whatever of the two answered.
func (p *Poller) fetchLlamaCpp(ctx context.Context, b *registry.Backend) (*registry.Load, error) {
	l, slotsErr := p.getParse(ctx, b, "/slots", ParseLlamaCppSlots)
	if slotsErr == nil {
		return l, nil
	}
	if ctx.Err() != nil {
		return nil, slotsErr
	}
	l, metricsErr := p.getParse(ctx, b, "/metrics", ParseLlamaCppMetrics)
	props, propsErr := p.getParse(ctx, b, "/props", ParseLlamaCppProps)
	switch {
	case metricsErr == nil && propsErr == nil:
		l.SlotsTotal = props.SlotsTotal
		return l, nil
	case metricsErr == nil:
		return l, nil
	case propsErr == nil:
		return props, nil
	}
	return nil, errors.Join(slotsErr, metricsErr, propsErr)
}

// getParse GETs b.URL+path and parses a 2xx answer with parse.
func (p *Poller) getParse(ctx context.Context, b *registry.Backend, path string, parse func([]byte) (*registry.Load, error)) (*registry.Load, error) {
	body, err := p.get(ctx, b, path)
	if err != nil {
		return nil, err
	}
	l, err := parse(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return l, nil
}

// get sends GET b.URL+path with b's key as bearer token and returns the
// body of a 2xx answer, at most MaxBody bytes. Errors name the path but
// never the key.
func (p *Poller) get(ctx context.Context, b *registry.Backend, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: invalid backend URL", path)
	}
	req.Header.Set("User-Agent", "nexus-signals")
	if path == "/metrics" {
		req.Header.Set("Accept", "text/plain;version=0.0.4")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if key := b.APIKey(); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL, keep the cause
		}
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10) // let the connection be reused
		return nil, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", path, MaxBody)
	}
	return body, nil
}
