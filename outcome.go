package nexus

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
)

// writeUpstreamError answers the client after the last attempt failed and
// returns the status it wrote (499 when the client is gone, the relayed
// status when the stream was already committed).
func (c *call) writeUpstreamError(pe *proxy.Error) int {
	if pe.Kind == proxy.KindClientGone {
		return 499
	}
	if pe.Committed {
		return http.StatusOK
	}
	name := c.att.Backend.Name
	c.errKind = string(metrics.ErrorBackendError)
	switch pe.Kind {
	case proxy.KindTimeout:
		c.errKind = string(metrics.ErrorTimeout)
		c.writeError(http.StatusGatewayTimeout, openai.TypeServer, "Backend '"+name+"' did not answer in time.", "", openai.CodeGatewayTimeout)
		return http.StatusGatewayTimeout
	case proxy.KindStatus:
		return c.relayStatusError(pe, name)
	}
	c.writeError(http.StatusBadGateway, openai.TypeServer, "Backend '"+name+"' failed: "+pe.Error()+".", "", openai.CodeBadGateway)
	return http.StatusBadGateway
}

// relayStatusError passes a backend's 4xx answer (and 429) to the client —
// it describes the client's request — as it is when it is already in the
// client's API envelope (a backend's 400 reaches Claude Code unchanged),
// else rewrapped; except 401 and 403, which are about the gateway's own key
// for the backend and would mislead the client about its key: those become
// 502. A 5xx becomes 502, or 504 when the backend itself timed out, or 503
// with the backend's Retry-After when it said when to come back; an
// Anthropic backend's 529 (overloaded) becomes 529 for Anthropic clients and
// 503 for OpenAI ones.
func (c *call) relayStatusError(pe *proxy.Error, name string) int {
	status := pe.StatusCode
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		c.writeError(http.StatusBadGateway, openai.TypeServer,
			fmt.Sprintf("Backend '%s' refused the gateway's credentials (HTTP %d); check its api_key_env.", name, status),
			"", openai.CodeBadGateway)
		return http.StatusBadGateway
	}
	if ra := pe.Header.Get("Retry-After"); ra != "" && (status < 500 || status == http.StatusServiceUnavailable || status == 529) {
		c.w.Header().Set("Retry-After", ra)
	}
	if status == 529 || status == http.StatusServiceUnavailable && pe.Header.Get("Retry-After") != "" {
		if status == 529 && c.ep.api != apiAnthropic {
			status = http.StatusServiceUnavailable
		}
		c.writeError(status, openai.TypeServer, fmt.Sprintf("Backend '%s' is overloaded or unavailable (HTTP %d): %s", name, pe.StatusCode, snippet(pe.Body)),
			"", openai.CodeServiceUnavailable)
		return status
	}
	if status < 500 {
		if !c.trans && openai.IsEnvelope(pe.Body) {
			h := c.w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", strconv.Itoa(len(pe.Body)))
			c.w.WriteHeader(status)
			_, _ = c.w.Write(pe.Body)
			return status
		}
		c.writeError(status, openai.TypeInvalidRequest, fmt.Sprintf("Backend '%s' returned HTTP %d: %s", name, status, snippet(pe.Body)), "", "")
		return status
	}
	if status == http.StatusGatewayTimeout {
		c.writeError(http.StatusGatewayTimeout, openai.TypeServer, "Backend '"+name+"' timed out (HTTP 504).", "", openai.CodeGatewayTimeout)
		return http.StatusGatewayTimeout
	}
	c.writeError(http.StatusBadGateway, openai.TypeServer, fmt.Sprintf("Backend '%s' returned HTTP %d: %s", name, status, snippet(pe.Body)),
		"", openai.CodeBadGateway)
	return http.StatusBadGateway
}

// snippet returns the start of an upstream error body for a message.
func snippet(b []byte) string {
	const n = 200
	s := string(b)
	if len(s) > n {
		s = s[:n] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// finish writes the one log line of a request and records it in the
// history that the dashboard and GET /v1/history show.
func (c *call) finish(status int) {
	g := c.g
	c.traceEnd(status) // tracing.go
	c.ticket.Done(c.res.Usage.PromptTokens + c.res.Usage.CompletionTokens)
	elapsed := time.Since(c.start)
	e := api.HistoryEntry{
		Time:       c.start,
		RequestID:  c.id,
		Endpoint:   c.ep.name,
		Model:      c.req.Model,
		Status:     status,
		Stream:     c.req.Stream,
		DurationMS: float64(elapsed.Microseconds()) / 1000,
		Error:      c.err,
		Translated: c.trans,
		Session:    c.session,
		Key:        c.keyName(),
	}
	if a := c.att; a != nil {
		e.Backend, e.ActualModel, e.Fallback, e.RouteReason, e.Attempts = a.Backend.Name, a.Model, a.Fallback, a.Reason, a.Number
	}
	if c.res.HasUsage {
		e.PromptTokens, e.CompletionTokens = c.res.Usage.PromptTokens, c.res.Usage.CompletionTokens
	}
	g.history.Add(e)
	// A client's error (4xx, or a client that left) is the client's
	// problem: info, so the access log at info stays complete. What an
	// operator must act on (5xx: backends failing, nothing healthy) is a
	// warning, sampled per kind so that it cannot flood the log.
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !g.log.Enabled(ctx, level) {
		return // the line would be dropped: do not build it
	}
	var suppressed int64
	if level >= slog.LevelWarn {
		kind := cmp.Or(c.errKind, string(metrics.ErrorBackendError))
		var ok bool
		if ok, suppressed = g.sampler.allow(kind); !ok {
			// Counted now, so the metric is current even if no line of
			// this kind follows.
			g.metrics.RecordLogSuppressed(ctx, kind, 1)
			return
		}
	}
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("request_id", c.id),
		slog.String("endpoint", c.ep.name),
		slog.String("model", c.req.Model),
		slog.Int("status", status),
		slog.Bool("stream", c.req.Stream),
		slog.Float64("latency_ms", e.DurationMS))
	if a := c.att; a != nil {
		attrs = append(attrs,
			slog.String("backend", a.Backend.Name),
			slog.String("actual_model", a.Model),
			slog.String("route_reason", a.Reason),
			slog.Int("attempts", a.Number),
			slog.Bool("fallback", a.Fallback))
		if c.trans {
			attrs = append(attrs, slog.Bool("translated", true))
		}
	}
	if tried := c.triedNames(); len(tried) > 1 {
		attrs = append(attrs, slog.Any("tried", tried))
	}
	if e.Key != "" {
		attrs = append(attrs, slog.String("key", e.Key))
	}
	if e.Session != "" {
		attrs = append(attrs, slog.String("session_id", e.Session))
	}
	if g.cfg.Logging.EnableContentLogging {
		if p := openai.PromptPreview(c.body, 100); p != "" {
			attrs = append(attrs, slog.String("prompt_preview", p))
		}
	}
	if c.res.HasUsage {
		attrs = append(attrs,
			slog.Int64("tokens_prompt", e.PromptTokens),
			slog.Int64("tokens_completion", e.CompletionTokens))
	}
	if c.err != "" {
		attrs = append(attrs, slog.String("error", c.err))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int64("suppressed", suppressed))
	}
	g.log.LogAttrs(ctx, level, "request", attrs...)
}

// triedNames lists the backends the route tried, when it tried more than
// one.
func (c *call) triedNames() []string {
	if c.rt == nil {
		return nil
	}
	tried := c.rt.Tried()
	if len(tried) < 2 {
		return nil
	}
	names := make([]string, len(tried))
	for i, b := range tried {
		names[i] = b.Name
	}
	return names
}

// sessionID returns the client's session id header: X-Nexus-Session-Id or
// Claude Code's X-Claude-Code-Session-Id, bounded and printable, "" when
// none.
func sessionID(r *http.Request) string {
	for _, h := range [...]string{HeaderSessionID, "X-Claude-Code-Session-Id"} {
		if v := r.Header.Get(h); v != "" && len(v) <= 128 && printable(v) {
			return v
		}
	}
	return ""
}
