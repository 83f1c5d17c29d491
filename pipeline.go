package nexus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// call is one inference request on its way through the gateway: what the
// client sent, how it was routed, and what it got. Its methods write the
// client's answer in the endpoint's API envelope and record the outcome in
// metrics, history and the log, once.
type call struct {
	g     *Gateway
	w     http.ResponseWriter
	r     *http.Request
	ep    *endpoint
	id    string
	start time.Time

	key    *limits.Principal // the client's key; nil when auth is off
	ticket limits.Ticket     // the key's limits, returned by finish

	body []byte         // as the client sent it
	req  openai.Request // what the peek found
	// askedUsage is set when the gateway asked the backend for a usage
	// chunk the client did not ask for.
	askedUsage bool

	rt    *routing.Route
	att   *routing.Attempt // the last attempt; nil before the first
	res   proxy.Result     // what the last attempt delivered
	trans bool             // the last attempt was translated
	err   string           // the error the client got, "" on success
	// errKind is the error's type (a metrics.ErrorType), the kind by which
	// warning lines are sampled.
	errKind string
	// session is the client's session header (X-Nexus-Session-Id or
	// X-Claude-Code-Session-Id), "" when it sent none.
	session string

	trace callTrace // spans when tracing is on (tracing.go)
}

// newCall starts the record of one request to ep.
func (g *Gateway) newCall(w http.ResponseWriter, r *http.Request, ep *endpoint) *call {
	return &call{g: g, w: w, r: r, ep: ep, id: w.Header().Get(HeaderRequestID), start: time.Now(), session: sessionID(r)}
}

// serveInference runs the pipeline of one inference endpoint.
func (g *Gateway) serveInference(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	c := g.newCall(w, r, ep)
	var ok bool
	if c.key, ok = g.principal(w, r, ep.api); !ok {
		return
	}
	c.traceStart() // tracing.go; finish ends the span
	if !c.readBody() {
		return
	}
	// The concurrency slot is taken only now: a client that uploads slowly
	// holds a connection, not a slot.
	if !g.limit.acquire() {
		c.overloaded()
		return
	}
	defer g.limit.release()
	req, err := ep.peek(c.body)
	c.req = req
	if err != nil {
		var re *openai.RequestError
		errors.As(err, &re)
		c.reject(http.StatusBadRequest, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest, re.Message, re.Param, "")
		return
	}
	if !c.admit() || !c.route() {
		return
	}
	c.forward()
}

// admit applies the client key's model access and limits. On refusal it
// has answered and reports false.
func (c *call) admit() bool {
	p := c.key
	if p == nil {
		return true
	}
	if !p.AllowsModel(c.req.Model) && !p.AllowsModel(c.g.Router().Resolve(c.req.Model)) {
		// Answered as an unknown model: the key must not learn that it
		// exists.
		c.routeError(&routing.Error{Kind: routing.KindModelNotFound, Model: c.req.Model, Resolved: c.req.Model,
			Available: c.g.modelsFor(p)})
		return false
	}
	ticket, d := p.Acquire(time.Now())
	d.WriteHeaders(c.w.Header())
	if !d.Allowed {
		c.g.metrics.RecordRateLimited(c.r.Context(), p.Name(), d.Reason)
		c.reject(http.StatusTooManyRequests, "", openai.TypeRateLimit,
			fmt.Sprintf("Rate limit reached for key '%s' (%s). Retry after %s.", p.Name(), d.Reason, c.w.Header().Get("Retry-After")+"s"),
			"", "rate_limit_exceeded")
		return false
	}
	c.ticket = ticket
	return true
}

// readBody reads the request body into c.body. On failure it has answered
// (413 over the limit, 408 when the body did not arrive whole) and reports
// false.
func (c *call) readBody() bool {
	addr, ok := c.g.uploads.enter(c.r.RemoteAddr)
	if !ok {
		c.w.Header().Set("Retry-After", "1")
		c.reject(http.StatusTooManyRequests, metrics.ErrorOverloaded, openai.TypeRateLimit,
			fmt.Sprintf("Too many unfinished request bodies from your address (at most %d at once).", c.g.uploads.max),
			"", "too_many_uploads")
		return false
	}
	body, err := readBody(c.w, c.r)
	c.g.uploads.leave(addr)
	c.body = body
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		c.reject(http.StatusRequestEntityTooLarge, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest,
			fmt.Sprintf("Request body is larger than the limit of %d bytes.", MaxBodyBytes), "", openai.CodeRequestTooLarge)
		return false
	}
	var ne net.Error
	if c.r.Context().Err() != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		c.g.metrics.RecordError(c.r.Context(), metrics.ErrorClientClosed, metrics.OtherLabel)
		c.err = "client went away while sending the body"
		c.finish(499)
		return false
	}
	// The body did not arrive whole (read timeout, broken upload): say so
	// rather than answer an empty 200.
	c.err = "request body not received: " + err.Error() // for the log and history
	c.reject(http.StatusRequestTimeout, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest,
		"The request body did not arrive in time or was cut off.", "", "request_timeout")
	return false
}

// requirements turns the peeked request into what routing needs.
func (c *call) requirements() routing.Requirements {
	q := routing.Requirements{
		Model:           c.req.Model,
		Vision:          c.req.Vision,
		Tools:           c.req.Tools,
		JSONMode:        c.req.JSONMode,
		EstimatedTokens: c.req.EstimatedTokens,
		Endpoints:       c.ep.backendEndpoints(),
		Generation:      c.ep.generation,
		Embedding:       c.ep.embedding,
		Insert:          c.req.Suffix,
	}
	q.SessionKey, q.Priority = c.sessionKey() // fleet.go
	return q
}

// route plans the request. On failure it has answered and reports false.
func (c *call) route() bool {
	q := c.requirements()
	if id := c.req.PreviousResponseID; id != "" {
		// The backend that created the previous response holds the
		// conversation: only it can serve this one.
		b, _, ok := c.owner(id, "previous_response_id")
		if !ok {
			return false
		}
		q.Backend = b.ID
	}
	rt, err := c.g.Router().Route(q)
	if err != nil {
		c.routeError(err)
		return false
	}
	rt, ok := c.waitForRoom(q, rt) // fleet.go
	if !ok {
		return false
	}
	c.rt = rt
	if c.ep.askUsage && c.req.Stream && !c.req.HasStreamOptions {
		// Ask for usage so streams are counted in token metrics; the usage
		// chunk the client did not ask for is dropped before it is relayed.
		c.body = openai.WithIncludeUsage(c.body)
		c.askedUsage = true
	}
	return true
}

// forward tries the route's attempts until one answers the client.
func (c *call) forward() {
	ctx := c.r.Context()
	var last *proxy.Error
	for {
		att, ok := c.rt.Next()
		if !ok {
			break
		}
		c.att = &att
		b := att.Backend
		setAttemptHeaders(c.w.Header(), att)
		if c.ep.estimate != nil && !b.ServesEndpoint(c.ep.native) {
			c.answerEstimate()
			return
		}
		trial := !b.Healthy()
		if trial && !b.BeginTrial() {
			continue // out of rotation, or another request is trying it
		}
		preq, err := c.upstream(att)
		if err != nil {
			// The request cannot be put in this backend's API: try the next.
			last = &proxy.Error{Kind: proxy.KindBadResponse, Err: err}
			c.g.log.Warn("request could not be translated for a backend", "request_id", c.id, "backend", b.Name, "error", err.Error())
			if trial {
				// End the trial it claimed, or the backend never gets another.
				b.Eject(c.g.passiveCooldown, "trial request could not be sent: "+err.Error())
			}
			continue
		}
		c.traceAttempt(preq) // tracing.go: the attempt's span, its traceparent in preq
		b.Begin()
		res, err := c.g.fwd.Forward(ctx, c.w, preq)
		c.traceAttemptEnd(res, err)
		b.End()
		c.g.fleet.freed() // a queued request may go (fleet.go)
		c.res = res
		if err == nil {
			b.RecordSuccess()
			if trial && b.Readmit() {
				c.g.log.Info("backend readmitted after a successful trial request", "backend", b.Name)
			}
			if res.ResponseID != "" {
				c.g.responses.remember(res.ResponseID, b.ID, att.Model)
			}
			c.done(res.Status)
			return
		}
		pe, _ := proxy.AsError(err)
		if c.ep.estimate != nil && pe.Kind == proxy.KindStatus && (pe.StatusCode == http.StatusNotFound || pe.StatusCode == http.StatusMethodNotAllowed) {
			// The backend speaks Messages but cannot count tokens.
			c.answerEstimate()
			return
		}
		last = pe
		c.g.noteFailure(ctx, b, att, pe)
		if trial {
			// The trial failed (or the client left during it): out for
			// another cool-down.
			b.Eject(c.g.passiveCooldown, "trial request failed: "+pe.Error())
		}
		if pe.Committed || !pe.Retryable() {
			break
		}
		if ok, suppressed := c.g.sampler.allow("attempt"); !ok {
			c.g.metrics.RecordLogSuppressed(ctx, string(metrics.ErrorBackendError), 1)
		} else {
			c.g.log.Warn("backend attempt failed, trying the next one",
				"request_id", c.id, "backend", b.Name, "model", att.Model, "attempt", att.Number, "error", pe.Error(),
				"suppressed", suppressed)
		}
	}
	if last == nil {
		// Every candidate left rotation between routing and forwarding.
		c.g.metrics.RecordError(ctx, metrics.ErrorNoHealthyBackend, c.rt.Resolved)
		c.w.Header().Set("Retry-After", "1")
		c.writeError(http.StatusServiceUnavailable, openai.TypeServer,
			"No healthy backend available for model '"+c.rt.Requested+"'", "", openai.CodeServiceUnavailable)
		c.err = "no healthy backend"
		c.finish(http.StatusServiceUnavailable)
		return
	}
	c.err = last.Error()
	c.done(c.writeUpstreamError(last))
}

// upstream builds the request for one attempt: the body with the attempt's
// model (translated when the backend does not serve the endpoint itself),
// the backend's URL for it, its key and the client headers worth passing.
func (c *call) upstream(att routing.Attempt) (*proxy.Request, error) {
	b := att.Backend
	preq := &proxy.Request{
		APIKey:         b.APIKey(),
		RequestID:      c.id,
		Stream:         c.req.Stream,
		DropUsageChunk: c.askedUsage,
		Dialect:        c.ep.dialect,
		Header:         forwardHeaders(c.r.Header),
	}
	backendEP := c.ep.native
	c.trans = false
	if !b.ServesEndpoint(c.ep.native) {
		tr := c.ep.translated
		body, err := tr.request(c.body, att.Model, c)
		if err != nil {
			return nil, err
		}
		preq.Body = body
		preq.Dialect, preq.ClientDialect = tr.dialect, c.ep.dialect
		preq.Translate = tr.reply(c)
		preq.DropUsageChunk = false
		backendEP = tr.backend
		c.trans = true
	} else {
		preq.Body = openai.WithModel(c.body, att.Model)
	}
	preq.Target = b.EndpointURL(backendEP)
	if c.ep.upstreamPath != "" || c.r.URL.RawQuery != "" && !c.trans {
		u := *preq.Target
		if c.ep.upstreamPath != "" {
			u.Path = b.EndpointURL(backendEP).Path + c.ep.upstreamPath
		}
		if !c.trans {
			u.RawQuery = c.r.URL.RawQuery
		}
		preq.Target = &u
	}
	if preq.Target == nil {
		preq.URL = b.URL + backendEP.Path() // does not parse: Forward says so
	}
	if b.Type == registry.TypeAnthropic {
		preq.APIKeyHeader = "x-api-key"
		if preq.Header.Get("Anthropic-Version") == "" {
			if preq.Header == nil {
				preq.Header = http.Header{}
			}
			preq.Header.Set("Anthropic-Version", defaultAnthropicVersion)
		}
	}
	return preq, nil
}

// defaultAnthropicVersion is the anthropic-version the gateway sends to an
// Anthropic-API backend when the client did not send one.
const defaultAnthropicVersion = "2023-06-01"

// forwardedHeaderPrefixes and forwardedHeaders are the client headers the
// gateway passes to backends: API versions and betas, and the session and
// tracing headers of coding agents. Everything else (notably the client's
// gateway key) stays at the gateway.
var (
	forwardedHeaderPrefixes = []string{"Anthropic-", "Openai-"}
	forwardedHeaders        = map[string]bool{
		"Originator": true, "Session-Id": true, "X-Codex-Turn-Metadata": true,
		"X-Claude-Code-Session-Id": true, "Traceparent": true, "Tracestate": true,
	}
)

// forwardHeaders returns the client headers to pass on, nil when none.
func forwardHeaders(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		if !forwardedHeaders[k] && !hasAnyPrefix(k, forwardedHeaderPrefixes) {
			continue
		}
		if out == nil {
			out = make(http.Header, 4)
		}
		out[k] = v
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// done records a request that reached a backend and finishes it.
func (c *call) done(status int) {
	att, res := c.att, c.res
	m := metrics.Request{
		Model:            att.Model,
		Backend:          att.Backend.ID,
		Status:           status,
		Duration:         time.Since(c.start),
		Stream:           c.req.Stream,
		PromptTokens:     res.Usage.PromptTokens,
		CompletionTokens: res.Usage.CompletionTokens,
		HasUsage:         res.HasUsage,
		TTFT:             res.FirstToken,
		Endpoint:         c.ep.name,
		Key:              c.keyName(),
	}
	ctx := c.r.Context()
	c.g.metrics.RecordRequest(ctx, m)
	if att.Fallback && status >= 200 && status < 300 {
		c.g.metrics.RecordFallback(ctx, c.rt.Requested, att.Model)
	}
	c.finish(status)
}

// reject answers a request that never reached a backend, counting it as
// errType.
func (c *call) reject(status int, errType metrics.ErrorType, typ, msg, param, code string) {
	if errType != "" {
		c.g.metrics.RecordError(c.r.Context(), errType, metrics.OtherLabel)
		c.errKind = string(errType)
	}
	c.writeError(status, typ, msg, param, code)
	if c.err == "" {
		c.err = msg // unless the caller recorded a more precise cause
	}
	c.finish(status)
}

// overloaded answers a request refused by the concurrency limit: 503 with
// Retry-After, counted as error type "overloaded".
func (c *call) overloaded() {
	c.w.Header().Set("Retry-After", "1")
	c.reject(http.StatusServiceUnavailable, metrics.ErrorOverloaded, openai.TypeServer,
		fmt.Sprintf("The gateway is handling its maximum of %d concurrent requests. Retry after a short wait.", c.g.limit.max),
		"", CodeOverloaded)
}

// writeError writes an error in the endpoint's API envelope: OpenAI's
// {"error":{message,type,param,code}} or Anthropic's
// {"type":"error","error":{type,message}} (whose type follows the status).
func (c *call) writeError(status int, typ, msg, param, code string) {
	if c.ep.api == apiAnthropic {
		openai.WriteAnthropicError(c.w, status, "", msg)
		return
	}
	openai.WriteError(c.w, status, msg, typ, param, code)
}

// routeError answers a request that could not be routed.
func (c *call) routeError(err error) {
	var re *routing.Error
	if !errors.As(err, &re) {
		c.writeError(http.StatusInternalServerError, openai.TypeServer, err.Error(), "", "")
		c.err = err.Error()
		c.finish(http.StatusInternalServerError)
		return
	}
	re.Endpoint = c.ep.path
	if re.Kind == routing.KindModelNotFound && c.key != nil {
		// A key is told only of the models it may use.
		re.Available = c.g.modelsFor(c.key)
	}
	// Metrics turn a model name the gateway does not know into "other".
	c.g.metrics.RecordError(c.r.Context(), metrics.ErrorType(re.Type()), re.Model)
	c.errKind = re.Type()
	typ := openai.TypeServer
	switch re.Status() {
	case http.StatusNotFound, http.StatusBadRequest:
		typ = openai.TypeInvalidRequest
	case http.StatusServiceUnavailable:
		c.w.Header().Set("Retry-After", "5")
	}
	param := re.Param()
	if re.Kind == routing.KindCapabilityMismatch || re.Kind == routing.KindEndpointUnsupported {
		param = "model"
	}
	c.writeError(re.Status(), typ, re.Error(), param, re.Code())
	c.err = re.Error()
	c.finish(re.Status())
}

// readBody reads a request body of at most MaxBodyBytes. With a
// Content-Length within the limit it reads into one buffer of that size
// (net/http stops the body there); otherwise it reads through
// http.MaxBytesReader, which reports a body over the limit.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > MaxBodyBytes {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	b := make([]byte, 0, n+1) // +1: the read that finds the end
	for {
		m, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			// Longer than announced, which only a Body that is not
			// net/http's own can be.
			if int64(len(b)) > MaxBodyBytes {
				return b, &http.MaxBytesError{Limit: MaxBodyBytes}
			}
			b = append(b, 0)[:len(b)]
		}
	}
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
	if n := b.RecordFailure(); n >= int64(g.passiveThreshold) && b.Healthy() {
		if b.Eject(g.passiveCooldown, fmt.Sprintf("%d consecutive request failures, last: %v", n, pe)) {
			g.log.Warn("backend taken out of rotation after request failures", "backend", b.Name, "failures", n,
				"cooldown", g.passiveCooldown.String(), "error", pe.Error())
		}
	}
}

// translation lets backends that serve another endpoint serve an endpoint:
// the request is rewritten into the backend's API and the reply back.
type translation struct {
	// backend is the endpoint the backend serves, and dialect what it
	// answers in.
	backend registry.Endpoint
	dialect proxy.Dialect
	// request rewrites the client's body for the backend, with model.
	request func(body []byte, model string, c *call) ([]byte, error)
	// reply returns the translator of the backend's answer.
	reply func(c *call) proxy.Translator
}

// answerEstimate answers the request at the gateway with the endpoint's
// estimate (count_tokens for a backend that cannot count).
func (c *call) answerEstimate() {
	body, err := c.ep.estimate(c)
	if err != nil {
		var re *openai.RequestError
		if errors.As(err, &re) {
			c.reject(http.StatusBadRequest, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest, re.Message, re.Param, "")
			return
		}
		c.reject(http.StatusInternalServerError, metrics.ErrorInvalidRequest, openai.TypeServer, err.Error(), "", "")
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRouteReason, "estimated")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
	c.res = proxy.Result{Status: http.StatusOK}
	c.done(http.StatusOK)
}

// keyName is the configured name of the client's key, "" without one.
func (c *call) keyName() string {
	if c.key == nil {
		return ""
	}
	return c.key.Name()
}
