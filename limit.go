package nexus

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
)

// chatPath is the route the concurrency limit applies to.
const chatPath = "/v1/chat/completions"

// CodeOverloaded is the error code of the 503 a gateway answers when it is
// already handling server.max_concurrent_requests chat requests.
const CodeOverloaded = "overloaded"

// limiter bounds the chat requests handled at once. It never queues: a
// request over the limit is refused at once, so that under overload the
// gateway answers quickly and clients back off instead of piling up. A nil
// limiter admits everything.
type limiter struct {
	max    int64
	active atomic.Int64
}

// newLimiter returns nil for max <= 0 (no limit).
func newLimiter(max int) *limiter {
	if max <= 0 {
		return nil
	}
	return &limiter{max: int64(max)}
}

// acquire takes a slot if one is free. Every true result must be paired
// with one release.
func (l *limiter) acquire() bool {
	if l == nil {
		return true
	}
	if l.active.Add(1) > l.max {
		l.active.Add(-1)
		return false
	}
	return true
}

func (l *limiter) release() {
	if l != nil {
		l.active.Add(-1)
	}
}

// limited reports whether r is subject to the concurrency limit: chat
// completions only, so health checks, metrics and the dashboard keep
// answering under overload.
func limited(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == chatPath
}

// overloaded answers a request refused by the limiter: 503 with
// Retry-After, in the OpenAI envelope, counted as error type "overloaded".
// The body is not read; the server discards or closes as it sees fit.
func (g *Gateway) overloaded(w http.ResponseWriter, r *http.Request) {
	g.metrics.RecordError(r.Context(), metrics.ErrorOverloaded, metrics.OtherLabel)
	w.Header().Set("Retry-After", "1")
	openai.WriteError(w, http.StatusServiceUnavailable,
		fmt.Sprintf("The gateway is handling its maximum of %d concurrent requests. Retry after a short wait.", g.limit.max),
		openai.TypeServer, "", CodeOverloaded)
}
