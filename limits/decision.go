package limits

import (
	"net/http"
	"strconv"
	"time"
)

// Reasons for a refusal, in Decision.Reason.
const (
	// ReasonRequests: the key's requests per minute are used up.
	ReasonRequests = "requests"
	// ReasonTokens: the key's tokens per minute are used up.
	ReasonTokens = "tokens"
	// ReasonConcurrency: the key has its maximum of requests in flight.
	ReasonConcurrency = "concurrency"
)

// concurrencyRetry is the Retry-After of a refusal for concurrency: a slot
// frees when some request ends, which nobody can predict.
const concurrencyRetry = time.Second

// Window is the state of one per-minute budget, as OpenAI reports it in its
// x-ratelimit-* headers.
type Window struct {
	// Limit is the budget per minute; 0 = unlimited (no headers).
	Limit int64
	// Remaining is what is left now, in whole requests or tokens; never
	// negative.
	Remaining int64
	// Reset is the time until the budget is full again.
	Reset time.Duration
}

// Decision is the outcome of Principal.Acquire. The zero Decision refuses
// without a reason.
type Decision struct {
	// Allowed reports whether the request may go ahead.
	Allowed bool
	// Reason says which limit refused the request: ReasonRequests,
	// ReasonTokens or ReasonConcurrency; empty when allowed.
	Reason string
	// RetryAfter is how long the client should wait before retrying: the
	// exact time until the refusing budget allows a request again, or one
	// second for concurrency. Zero when allowed.
	RetryAfter time.Duration
	// Requests and Tokens are the key's budgets after the decision. They
	// are zero (unlimited) for a key without them and for a refusal for
	// concurrency, which does not consult them.
	Requests, Tokens Window
}

// Header names, in canonical form so that WriteHeaders can set them without
// canonicalising. HTTP/2 and HTTP/3 send them in lower case.
const (
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerResetRequests     = "X-Ratelimit-Reset-Requests"
	headerLimitTokens       = "X-Ratelimit-Limit-Tokens"
	headerRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	headerResetTokens       = "X-Ratelimit-Reset-Tokens"
	headerRetryAfter        = "Retry-After"
)

// WriteHeaders sets OpenAI's rate-limit headers for each limited window
// (x-ratelimit-limit-requests: 60, x-ratelimit-remaining-requests: 59,
// x-ratelimit-reset-requests: 1s, and the same for -tokens) and, when the
// request is refused, Retry-After in whole seconds, rounded up and at least
// 1. Reset times are rounded up to the millisecond and written as Go
// durations, like OpenAI's ("1s", "6m0s", "120ms", "4m12.172s").
func (d Decision) WriteHeaders(h http.Header) {
	d.Requests.write(h, headerLimitRequests, headerRemainingRequests, headerResetRequests)
	d.Tokens.write(h, headerLimitTokens, headerRemainingTokens, headerResetTokens)
	if !d.Allowed {
		h[headerRetryAfter] = []string{strconv.FormatInt(RetryAfterSeconds(d.RetryAfter), 10)}
	}
}

// write sets the three headers of w, if it is limited.
func (w Window) write(h http.Header, limit, remaining, reset string) {
	if w.Limit <= 0 {
		return
	}
	h[limit] = []string{strconv.FormatInt(w.Limit, 10)}
	h[remaining] = []string{strconv.FormatInt(w.Remaining, 10)}
	h[reset] = []string{FormatReset(w.Reset)}
}

// FormatReset formats d as OpenAI's x-ratelimit-reset-* headers do: a Go
// duration rounded up to the millisecond ("0s" for d <= 0).
func FormatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return time.Duration(ceilDiv(int64(d), int64(time.Millisecond)) * int64(time.Millisecond)).String()
}

// RetryAfterSeconds returns d in whole seconds for a Retry-After header:
// rounded up, and at least 1, since a refused client that retries at once
// would only be refused again.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(ceilDiv(int64(d), int64(time.Second)), 1)
}
