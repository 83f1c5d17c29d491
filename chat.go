package nexus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/nexusllm/nexus/dashboard"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// passiveFailureThreshold is how many consecutive failed requests take a
// backend out of rotation before the next health probe.
const passiveFailureThreshold = 3

// handleChat routes and proxies POST /v1/chat/completions.
func (g *Gateway) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	id := w.Header().Get(HeaderRequestID)

	body, err := readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			g.metrics.RecordError(ctx, metrics.ErrorInvalidRequest, metrics.OtherLabel)
			openai.WriteError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Request body is larger than the limit of %d bytes.", MaxBodyBytes),
				openai.TypeInvalidRequest, "", openai.CodeRequestTooLarge)
			g.finish(outcome{id: id, start: start, status: http.StatusRequestEntityTooLarge, err: "request body too large"})
			return
		}
		var ne net.Error
		if ctx.Err() != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			g.metrics.RecordError(ctx, metrics.ErrorClientClosed, metrics.OtherLabel)
			g.finish(outcome{id: id, start: start, status: 499, err: "client went away while sending the body"})
			return
		}
		// The body did not arrive whole (read timeout, broken upload): say
		// so rather than answer an empty 200.
		g.metrics.RecordError(ctx, metrics.ErrorInvalidRequest, metrics.OtherLabel)
		openai.WriteError(w, http.StatusRequestTimeout, "The request body did not arrive in time or was cut off.",
			openai.TypeInvalidRequest, "", "request_timeout")
		g.finish(outcome{id: id, start: start, status: http.StatusRequestTimeout, err: "request body not received: " + err.Error()})
		return
	}
	req, err := openai.PeekChat(body)
	if err != nil {
		var re *openai.RequestError
		errors.As(err, &re)
		g.metrics.RecordError(ctx, metrics.ErrorInvalidRequest, metrics.OtherLabel)
		openai.WriteError(w, http.StatusBadRequest, re.Message, openai.TypeInvalidRequest, re.Param, "")
		g.finish(outcome{id: id, model: req.Model, start: start, status: http.StatusBadRequest, err: re.Message})
		return
	}

	rt, err := g.router.Route(routing.Requirements{
		Model:           req.Model,
		Vision:          req.Vision,
		Tools:           req.Tools,
		JSONMode:        req.JSONMode,
		EstimatedTokens: req.EstimatedTokens,
	})
	if err != nil {
		g.writeRouteError(w, r, err, req.Model)
		g.finish(outcome{id: id, model: req.Model, stream: req.Stream, start: start, status: routeErrorStatus(err), err: err.Error()})
		return
	}

	dropUsage := false
	if req.Stream && !req.HasStreamOptions {
		// Ask for usage so streams are counted in token metrics; the usage
		// chunk the client did not ask for is dropped before it is relayed.
		body = openai.WithIncludeUsage(body)
		dropUsage = true
	}
	g.forward(w, r, rt, body, req, dropUsage, id, start)
}

// forward tries the route's attempts until one answers the client.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, rt *routing.Route, body []byte, req openai.Request, dropUsage bool, id string, start time.Time) {
	ctx := r.Context()
	h := w.Header()
	var last *proxy.Error
	var lastAttempt routing.Attempt
	var lastRes proxy.Result // what a committed stream delivered before failing
	for {
		att, ok := rt.Next()
		if !ok {
			break
		}
		lastAttempt = att
		b := att.Backend
		setAttemptHeaders(h, att)
		preq := &proxy.Request{
			Target:         b.ChatURL(),
			Body:           openai.WithModel(body, att.Model),
			APIKey:         b.APIKey(),
			RequestID:      id,
			Stream:         req.Stream,
			DropUsageChunk: dropUsage,
		}
		if preq.Target == nil {
			preq.URL = b.URL + "/v1/chat/completions" // does not parse: Forward says so
		}
		b.Begin()
		res, err := g.fwd.Forward(ctx, w, preq)
		b.End()
		if err == nil {
			b.RecordSuccess()
			g.recordDone(ctx, rt, att, res.Status, start, req.Stream, res)
			g.finish(outcome{id: id, model: req.Model, stream: req.Stream, start: start, status: res.Status,
				att: &att, tried: triedNames(rt), res: res, prompt: g.promptPreview(body)})
			return
		}
		pe, _ := proxy.AsError(err)
		last, lastRes = pe, res
		g.noteFailure(ctx, b, att, pe)
		if pe.Committed || !pe.Retryable() {
			break
		}
		g.log.Warn("backend attempt failed, trying the next one",
			"request_id", id, "backend", b.Name, "model", att.Model, "attempt", att.Number, "error", pe.Error())
	}
	if last == nil {
		// Every candidate left rotation between routing and forwarding.
		g.metrics.RecordError(ctx, metrics.ErrorNoHealthyBackend, rt.Resolved)
		w.Header().Set("Retry-After", "1")
		openai.WriteError(w, http.StatusServiceUnavailable,
			"No healthy backend available for model '"+rt.Requested+"'", openai.TypeServer, "", openai.CodeServiceUnavailable)
		g.finish(outcome{id: id, model: req.Model, stream: req.Stream, start: start, status: http.StatusServiceUnavailable, err: "no healthy backend"})
		return
	}
	status := g.writeUpstreamError(w, last, lastAttempt)
	g.recordDone(ctx, rt, lastAttempt, status, start, req.Stream, lastRes)
	g.finish(outcome{id: id, model: req.Model, stream: req.Stream, start: start, status: status,
		att: &lastAttempt, tried: triedNames(rt), res: lastRes, err: last.Error(), prompt: g.promptPreview(body)})
}

// triedNames lists the backends a route tried, when it tried more than one.
func triedNames(rt *routing.Route) []string {
	tried := rt.Tried()
	if len(tried) < 2 {
		return nil
	}
	names := make([]string, len(tried))
	for i, b := range tried {
		names[i] = b.Name
	}
	return names
}

// promptPreview returns the start of the prompt for the request log when
// content logging is enabled, and "" otherwise: prompts are not logged by
// default.
func (g *Gateway) promptPreview(body []byte) string {
	if !g.cfg.Logging.EnableContentLogging {
		return ""
	}
	return openai.PromptPreview(body, 100)
}

// noteFailure counts a failed attempt against the backend's passive health
// and in the error metrics.
func (g *Gateway) noteFailure(ctx context.Context, b *registry.Backend, att routing.Attempt, pe *proxy.Error) {
	model := att.Model
	switch {
	case pe.Kind == proxy.KindClientGone:
		g.metrics.RecordError(ctx, metrics.ErrorClientClosed, model)
		return
	case pe.Kind == proxy.KindTimeout:
		g.metrics.RecordError(ctx, metrics.ErrorTimeout, model)
	case pe.BackendFault() || pe.Retryable():
		g.metrics.RecordError(ctx, metrics.ErrorBackendError, model)
	}
	if !pe.BackendFault() {
		return
	}
	if n := b.RecordFailure(); n >= passiveFailureThreshold && b.Healthy() {
		if b.SetStatus(registry.StatusUnhealthy, fmt.Sprintf("%d consecutive request failures, last: %v", n, pe)) {
			g.log.Warn("backend taken out of rotation after request failures", "backend", b.Name, "failures", n, "error", pe.Error())
		}
	}
}

// recordDone records one request that reached a backend.
func (g *Gateway) recordDone(ctx context.Context, rt *routing.Route, att routing.Attempt, status int, start time.Time, stream bool, res proxy.Result) {
	g.metrics.RecordRequest(ctx, metrics.Request{
		Model:            att.Model,
		Backend:          att.Backend.ID,
		Status:           status,
		Duration:         time.Since(start),
		Stream:           stream,
		PromptTokens:     res.Usage.PromptTokens,
		CompletionTokens: res.Usage.CompletionTokens,
		HasUsage:         res.HasUsage,
		TTFT:             res.FirstToken,
	})
	if att.Fallback && status >= 200 && status < 300 {
		g.metrics.RecordFallback(ctx, rt.Requested, att.Model)
	}
}

// writeUpstreamError answers the client after the last attempt failed and
// returns the status it wrote (499 when the client is gone, the relayed
// status when the stream was already committed).
func (g *Gateway) writeUpstreamError(w http.ResponseWriter, pe *proxy.Error, att routing.Attempt) int {
	if pe.Kind == proxy.KindClientGone {
		return 499
	}
	if pe.Committed {
		return http.StatusOK
	}
	name := att.Backend.Name
	switch pe.Kind {
	case proxy.KindTimeout:
		openai.WriteError(w, http.StatusGatewayTimeout, "Backend '"+name+"' did not answer in time.",
			openai.TypeServer, "", openai.CodeGatewayTimeout)
		return http.StatusGatewayTimeout
	case proxy.KindStatus:
		return relayStatusError(w, pe, name)
	}
	openai.WriteError(w, http.StatusBadGateway, "Backend '"+name+"' failed: "+pe.Error()+".",
		openai.TypeServer, "", openai.CodeBadGateway)
	return http.StatusBadGateway
}

// relayStatusError passes a backend's 4xx answer (and 429) to the client as
// it is — it describes the client's request — except 401 and 403, which
// are about the gateway's own key for the backend and would mislead the
// client about its key: those become 502. A 5xx becomes 502, or 504 when the
// backend itself timed out, or 503 with the backend's Retry-After when it
// said when to come back.
func relayStatusError(w http.ResponseWriter, pe *proxy.Error, name string) int {
	status := pe.StatusCode
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		openai.WriteError(w, http.StatusBadGateway,
			fmt.Sprintf("Backend '%s' refused the gateway's credentials (HTTP %d); check its api_key_env.", name, status),
			openai.TypeServer, "", openai.CodeBadGateway)
		return http.StatusBadGateway
	}
	if status == http.StatusServiceUnavailable && pe.Header.Get("Retry-After") != "" {
		w.Header().Set("Retry-After", pe.Header.Get("Retry-After"))
		openai.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("Backend '%s' is unavailable (HTTP 503): %s", name, snippet(pe.Body)),
			openai.TypeServer, "", openai.CodeServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	if status < 500 {
		if ra := pe.Header.Get("Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if openai.IsEnvelope(pe.Body) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(pe.Body)))
			w.WriteHeader(status)
			_, _ = w.Write(pe.Body)
			return status
		}
		typ := openai.TypeInvalidRequest
		openai.WriteError(w, status, fmt.Sprintf("Backend '%s' returned HTTP %d: %s", name, status, snippet(pe.Body)), typ, "", "")
		return status
	}
	if status == http.StatusGatewayTimeout {
		openai.WriteError(w, http.StatusGatewayTimeout, "Backend '"+name+"' timed out (HTTP 504).",
			openai.TypeServer, "", openai.CodeGatewayTimeout)
		return http.StatusGatewayTimeout
	}
	openai.WriteError(w, http.StatusBadGateway, fmt.Sprintf("Backend '%s' returned HTTP %d: %s", name, status, snippet(pe.Body)),
		openai.TypeServer, "", openai.CodeBadGateway)
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

// writeRouteError answers a request that could not be routed.
func (g *Gateway) writeRouteError(w http.ResponseWriter, r *http.Request, err error, model string) {
	var re *routing.Error
	if !errors.As(err, &re) {
		openai.WriteError(w, http.StatusInternalServerError, err.Error(), openai.TypeServer, "", "")
		return
	}
	// Metrics turn a model name the gateway does not know into "other".
	g.metrics.RecordError(r.Context(), metrics.ErrorType(re.Type()), re.Model)
	param, typ := "", openai.TypeServer
	switch re.Status() {
	case http.StatusNotFound, http.StatusBadRequest:
		param, typ = "model", openai.TypeInvalidRequest
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	openai.WriteError(w, re.Status(), re.Error(), typ, param, re.Code())
}

func routeErrorStatus(err error) int {
	var re *routing.Error
	if errors.As(err, &re) {
		return re.Status()
	}
	return http.StatusInternalServerError
}

// outcome is what the gateway knows about a finished chat request; finish
// turns it into the request's log line and history entry.
type outcome struct {
	id     string
	model  string // as requested
	stream bool
	start  time.Time
	status int
	att    *routing.Attempt // the last attempt, nil when none was made
	tried  []string         // backends tried, in order, when more than one
	res    proxy.Result
	err    string
	prompt string // start of the prompt, only with content logging enabled
}

// finish writes the one log line of a chat request and records it in the
// history that the dashboard and GET /v1/history show.
func (g *Gateway) finish(o outcome) {
	elapsed := time.Since(o.start)
	e := dashboard.Entry{
		Time:       o.start,
		RequestID:  o.id,
		Model:      o.model,
		Status:     o.status,
		Stream:     o.stream,
		DurationMS: float64(elapsed.Microseconds()) / 1000,
		Error:      o.err,
	}
	if a := o.att; a != nil {
		e.Backend, e.ActualModel, e.Fallback, e.RouteReason, e.Attempts = a.Backend.Name, a.Model, a.Fallback, a.Reason, a.Number
	}
	if o.res.HasUsage {
		e.PromptTokens, e.CompletionTokens = o.res.Usage.PromptTokens, o.res.Usage.CompletionTokens
	}
	g.history.Add(e)
	level := slog.LevelInfo
	if o.err != "" {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !g.log.Enabled(ctx, level) {
		return // the line would be dropped: do not build it
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("request_id", o.id),
		slog.String("model", o.model),
		slog.Int("status", o.status),
		slog.Bool("stream", o.stream),
		slog.Float64("latency_ms", e.DurationMS))
	if a := o.att; a != nil {
		attrs = append(attrs,
			slog.String("backend", a.Backend.Name),
			slog.String("actual_model", a.Model),
			slog.String("route_reason", a.Reason),
			slog.Int("attempts", a.Number),
			slog.Bool("fallback", a.Fallback))
	}
	if len(o.tried) > 1 {
		attrs = append(attrs, slog.Any("tried", o.tried))
	}
	if o.prompt != "" {
		attrs = append(attrs, slog.String("prompt_preview", o.prompt))
	}
	if o.res.HasUsage {
		attrs = append(attrs,
			slog.Int64("tokens_prompt", e.PromptTokens),
			slog.Int64("tokens_completion", e.CompletionTokens))
	}
	if o.err != "" {
		attrs = append(attrs, slog.String("error", o.err))
	}
	g.log.LogAttrs(ctx, level, "chat completion", attrs...)
}
