// Package proxy forwards one request to one backend and relays the answer,
// plain JSON or a server-sent-event stream, to the client. It speaks the
// dialects of every API the gateway serves (OpenAI chat and completions,
// embeddings and rerank; OpenAI Responses; Anthropic Messages), relays
// them as they are or through a Translator into the client's own.
//
// Nothing is written to the client until the backend has proven itself: a
// plain reply must arrive whole and be a valid JSON object that is not an
// error, and a stream must deliver its first parseable event that is not an
// error event. Until then every failure is returned uncommitted, so the
// caller can try another backend. Once a stream has been committed, a
// failure ends it with one error event in the client's dialect (for chat
// followed by "data: [DONE]"). The package does not choose backends or
// retry.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
)

// Forwarder sends requests to backends. Its fields must not change after
// first use; a Forwarder is safe for concurrent use.
type Forwarder struct {
	// Client sends the upstream requests. It must not be nil. Its Timeout
	// should be zero: the Forwarder bounds each phase itself.
	Client *http.Client
	// FirstByteTimeout bounds the wait for the response headers and, for a
	// stream, its first event. Zero means 300 seconds.
	FirstByteTimeout time.Duration
	// RequestTimeout bounds a whole non-streaming exchange. Zero means
	// 300 seconds.
	RequestTimeout time.Duration
	// IdleTimeout bounds the gap between two stream events after the first.
	// Zero means 300 seconds.
	IdleTimeout time.Duration
	// MaxResponseBytes caps a non-streaming reply. Zero means 64 MiB.
	MaxResponseBytes int64
	// MaxEventBytes caps one stream event. Zero means 16 MiB.
	MaxEventBytes int

	relays  sync.Pool // *relay: per-stream reader and writer buffers
	replies sync.Pool // *[]byte: plain reply buffers
}

// Request is one upstream call.
type Request struct {
	// Method is the HTTP method; "" means POST. GET and DELETE send no
	// body and no Content-Type.
	Method string
	// URL is the full upstream URL (base + "/v1/chat/completions"); it may
	// carry a query string, sent as is.
	URL string
	// Target, when set, is URL already parsed, and URL is ignored. It is
	// only read, so one value may serve any number of requests.
	Target *url.URL
	// Body is sent as is.
	Body []byte
	// APIKey, when set, is sent as a bearer token, or in APIKeyHeader.
	APIKey string
	// APIKeyHeader is the header that carries APIKey as it is (for
	// example "x-api-key"); "" means "Authorization: Bearer <key>".
	APIKeyHeader string
	// Header holds extra headers to send (anthropic-version,
	// anthropic-beta, …), keys in canonical form as http.Header.Set makes
	// them. Content-Type, Accept, X-Request-Id and the key's header are
	// the Forwarder's own and override them.
	Header http.Header
	// Dialect is what the backend speaks (zero: DialectChat).
	Dialect Dialect
	// ClientDialect is what the client speaks. It is only read when
	// Translate is set: without a translator the client gets the
	// backend's dialect.
	ClientDialect Dialect
	// Translate, when set, rewrites the reply into ClientDialect; nil
	// relays it as it is. The backend's dialect still decides whether the
	// reply is valid, its usage, time to first token and clean end.
	Translate Translator
	// RequestID, when set, is sent as X-Request-Id.
	RequestID string
	// Stream selects event-stream relaying.
	Stream bool
	// DropUsageChunk removes the usage-only chunk from a relayed
	// DialectChat stream (the gateway asked for usage on the client's
	// behalf). A Translator sees every chunk.
	DropUsageChunk bool
}

// Result describes a forward that reached the client.
type Result struct {
	// Status is the HTTP status written to the client.
	Status int
	// Usage is the token usage the backend reported, when HasUsage, in
	// OpenAI's terms whatever the dialect (PromptTokens includes cached
	// and, for Anthropic, cache-write tokens; CachedTokens when reported).
	Usage    openai.Usage
	HasUsage bool
	// FirstToken is the time from the start of Forward to the first content
	// event of a stream (0 when none arrived): a chat chunk with text,
	// reasoning, a refusal or tool calls, a completions text, a Responses
	// "response.*.delta", an Anthropic content_block_delta.
	FirstToken time.Duration
	// ResponseID is the id of the Responses API response the backend
	// created (a plain reply's, or a stream's terminal event's); "" for
	// other dialects.
	ResponseID string
}

const (
	defaultTimeout     = 300 * time.Second
	defaultMaxResponse = 64 << 20
	defaultMaxEvent    = 16 << 20
	maxErrorBody       = 64 << 10
)

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Forward sends req and relays a good answer to w. Headers already set on
// w (for example X-Nexus-Backend) go out with the answer. On failure the
// returned error is a *Error; with Committed false nothing was written to w.
// The upstream request ends as soon as ctx is done (the client left).
func (f *Forwarder) Forward(ctx context.Context, w http.ResponseWriter, req *Request) (Result, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	first := orDuration(f.FirstByteTimeout, defaultTimeout)
	if !req.Stream {
		first = min(first, orDuration(f.RequestTimeout, defaultTimeout))
	}
	timer := time.AfterFunc(first, func() { cancel(errTimeout) })
	defer timer.Stop()

	up, err := newUpstream(ctx, req)
	if err != nil {
		return Result{}, &Error{Kind: KindConnect, Err: err}
	}
	resp, err := f.Client.Do(up)
	if err != nil {
		return Result{}, f.classify(ctx, err, false)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return Result{}, &Error{Kind: KindStatus, StatusCode: resp.StatusCode, Body: redactKey(body, req.APIKey), Header: resp.Header.Clone()}
	}
	if !req.Stream {
		if rt := orDuration(f.RequestTimeout, defaultTimeout); rt > first {
			timer.Reset(rt - time.Since(start))
		}
		return f.relayJSON(ctx, w, req, resp)
	}
	return f.relayStream(ctx, w, req, resp, timer, start)
}

// classify turns a transport or read error into an *Error.
func (f *Forwarder) classify(ctx context.Context, err error, committed bool) *Error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errTimeout):
		return &Error{Kind: KindTimeout, Committed: committed, Err: errTimeout}
	case cause != nil:
		return &Error{Kind: KindClientGone, Committed: committed, Err: cause}
	case committed:
		return &Error{Kind: KindStreamBroken, Committed: true, Err: err}
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Err: err}
	}
	return &Error{Kind: KindConnect, Err: err}
}

func (f *Forwarder) relayJSON(ctx context.Context, w http.ResponseWriter, req *Request, resp *http.Response) (Result, error) {
	limit := f.MaxResponseBytes
	if limit <= 0 {
		limit = defaultMaxResponse
	}
	buf, body, tooLarge, err := f.readReply(resp.Body, resp.ContentLength, limit)
	defer f.putReply(buf)
	if err != nil {
		return Result{}, f.classify(ctx, err, false)
	}
	if tooLarge {
		return Result{}, &Error{Kind: KindBadResponse, Err: errors.New("reply larger than the gateway's limit")}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 && resp.StatusCode == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent) // a DELETE may answer so
		return Result{Status: http.StatusNoContent}, nil
	}
	if len(body) == 0 || body[0] != '{' || !openai.Valid(body) {
		return Result{}, &Error{Kind: KindBadResponse, Err: errors.New("reply is not a JSON object")}
	}
	info := inspectReply(req.Dialect, body)
	if info.Error {
		return Result{}, &Error{Kind: KindBadResponse, Err: errors.New("reply is an error object with a 2xx status")}
	}
	res := Result{Status: resp.StatusCode, Usage: info.Usage, HasUsage: info.HasUsage, ResponseID: info.ID}
	if req.Translate != nil {
		out, err := req.Translate.Reply(body)
		if err != nil {
			return Result{}, &Error{Kind: KindBadResponse, Err: fmt.Errorf("translating the reply: %w", err)}
		}
		body = out
	}
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return res, nil
}
