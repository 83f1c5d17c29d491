package limits

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWriteHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Decision
		want http.Header
	}{
		{"unlimited", Decision{Allowed: true}, http.Header{}},
		{"both windows, as in OpenAI's documentation", Decision{
			Allowed:  true,
			Requests: Window{Limit: 60, Remaining: 59, Reset: time.Second},
			Tokens:   Window{Limit: 150000, Remaining: 149984, Reset: 6 * time.Minute},
		}, http.Header{
			"X-Ratelimit-Limit-Requests":     {"60"},
			"X-Ratelimit-Remaining-Requests": {"59"},
			"X-Ratelimit-Reset-Requests":     {"1s"},
			"X-Ratelimit-Limit-Tokens":       {"150000"},
			"X-Ratelimit-Remaining-Tokens":   {"149984"},
			"X-Ratelimit-Reset-Tokens":       {"6m0s"},
		}},
		{"refused for tokens", Decision{
			Reason:     ReasonTokens,
			RetryAfter: 30060 * time.Millisecond,
			Tokens:     Window{Limit: 1000, Remaining: 0, Reset: 4*time.Minute + 12171500*time.Microsecond},
		}, http.Header{
			"X-Ratelimit-Limit-Tokens":     {"1000"},
			"X-Ratelimit-Remaining-Tokens": {"0"},
			"X-Ratelimit-Reset-Tokens":     {"4m12.172s"},
			"Retry-After":                  {"31"},
		}},
		{"refused for concurrency", Decision{Reason: ReasonConcurrency, RetryAfter: time.Second},
			http.Header{"Retry-After": {"1"}}},
		{"refused, tiny wait", Decision{Reason: ReasonRequests, RetryAfter: time.Microsecond},
			http.Header{"Retry-After": {"1"}}},
		{"zero decision", Decision{}, http.Header{"Retry-After": {"1"}}},
	}
	for _, tc := range tests {
		h := http.Header{}
		tc.d.WriteHeaders(h)
		assert.Equal(t, tc.want, h, tc.name)
		for k := range h {
			assert.Equal(t, http.CanonicalHeaderKey(k), k, "header keys are canonical")
		}
	}
	h := http.Header{"X-Ratelimit-Remaining-Requests": {"old"}}
	Decision{Allowed: true, Requests: Window{Limit: 5, Remaining: 4}}.WriteHeaders(h)
	assert.Equal(t, "4", h.Get("x-ratelimit-remaining-requests"), "replaces, never appends")
	assert.Equal(t, "0s", h.Get("x-ratelimit-reset-requests"))
}

func TestFormatReset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {time.Nanosecond, "1ms"}, {12 * time.Millisecond, "12ms"},
		{1500 * time.Microsecond, "2ms"}, {120 * time.Millisecond, "120ms"}, {time.Second, "1s"},
		{1234567 * time.Microsecond, "1.235s"}, {6 * time.Minute, "6m0s"},
		{23*time.Hour + 18*time.Minute + 29144*time.Millisecond, "23h18m29.144s"},
	} {
		assert.Equal(t, tc.want, FormatReset(tc.d), "%v", tc.d)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 1}, {-time.Second, 1}, {time.Nanosecond, 1}, {time.Second, 1},
		{time.Second + time.Nanosecond, 2}, {59500 * time.Millisecond, 60}, {2 * time.Minute, 120},
	} {
		assert.Equal(t, tc.want, RetryAfterSeconds(tc.d), "%v", tc.d)
	}
}
