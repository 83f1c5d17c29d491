package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/proxy"
)

// TestForwardFirstByteTimeoutBeforeFirstEvent: until a stream's first data
// event, only first_byte_timeout applies. Keep-alive comments do not reset
// it to the (longer) idle timeout, and a first event cut short by the timer
// is a timeout, not a stream that "ended".
func TestForwardFirstByteTimeoutBeforeFirstEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"keep-alive comments only", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			// Bounded so that a regression fails instead of hanging.
			for range 250 {
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}},
		{"half a first event", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, `data: {"id":"c1",`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := forwarder()
			f.FirstByteTimeout = 200 * time.Millisecond
			f.IdleTimeout = time.Minute
			o := forward(t, f, tt.h, true)
			require.NotNil(t, o.err)
			assert.Equal(t, proxy.KindTimeout, o.err.Kind, o.err.Error())
			assert.False(t, o.err.Committed)
			assert.True(t, o.err.Retryable())
			assert.Empty(t, o.body)
		})
	}
}

// TestForwardRedactsBackendKey: a backend that echoes the key it was sent
// cannot make the proxy hand it on, in a relayed error body, an error
// message or an error event.
func TestForwardRedactsBackendKey(t *testing.T) {
	t.Parallel()
	echo := func(r *http.Request) string {
		return fmt.Sprintf(`{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","code":"invalid_api_key"}}`,
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	tests := []struct {
		name   string
		stream bool
		h      http.HandlerFunc
		// committed: the error event is relayed in the body; otherwise
		// the error carries it.
		committed bool
	}{
		{"error status", false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, echo(r))
		}, false},
		{"error as the first event", true, func(w http.ResponseWriter, r *http.Request) {
			sse(w, echo(r))
		}, false},
		{"error event mid-stream", true, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"), echo(r), "[DONE]")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forward(t, forwarder(), tt.h, tt.stream)
			assert.NotContains(t, o.body, "sk-backend")
			if tt.committed {
				assert.Contains(t, o.body, "Incorrect API key provided: [REDACTED]")
				return
			}
			require.NotNil(t, o.err)
			assert.NotContains(t, o.err.Error(), "sk-backend")
			assert.NotContains(t, string(o.err.Body), "sk-backend")
			assert.Contains(t, o.err.Error()+string(o.err.Body), "[REDACTED]")
		})
	}
}
