package nexus

import (
	"crypto/rand"
	"encoding/json"
	"net/http"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/routing"
)

// Response headers set by the gateway.
const (
	HeaderRequestID     = "X-Request-Id"
	HeaderBackend       = "X-Nexus-Backend"
	HeaderModel         = "X-Nexus-Model"
	HeaderFallbackModel = "X-Nexus-Fallback-Model"
	HeaderRouteReason   = "X-Nexus-Route-Reason"
	// HeaderSessionID is the request header that names a client's
	// session (kept in history and logs, and used for affinity).
	HeaderSessionID = "X-Nexus-Session-Id"
)

// setAttemptHeaders sets the response headers that name an attempt's
// backend, model and route reason, with one allocation for the three.
func setAttemptHeaders(h http.Header, att routing.Attempt) {
	v := []string{att.Backend.Name, att.Model, att.Reason}
	h[HeaderBackend] = v[0:1:1]
	h[HeaderModel] = v[1:2:2]
	h[HeaderRouteReason] = v[2:3:3]
	if att.Fallback {
		h[HeaderFallbackModel] = v[1:2:2]
	} else {
		delete(h, HeaderFallbackModel)
	}
}

// requestID returns the client's X-Request-Id when it is reasonable, or a
// new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	return rand.Text()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		openai.WriteError(w, http.StatusInternalServerError, "could not encode the response", openai.TypeServer, "", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
