package nexustest

import (
	"net/http"
	"strconv"
)

// dialect is the error envelope a route answers in.
type dialect uint8

const (
	openAIDialect    dialect = iota // {"error":{"message","type","param","code"}}
	anthropicDialect                // {"type":"error","error":{"type","message"},"request_id"}
)

// anthropicError is Anthropic's error shape.
type anthropicError struct {
	Type      string          `json:"type"` // always "error"
	Error     anthropicDetail `json:"error"`
	RequestID string          `json:"request_id"`
}

type anthropicDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// anthropicErrorType is the error.type Anthropic's API uses for status.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// fail answers an error in dialect d. typ, code and param are used by the
// OpenAI envelope only; Anthropic's type follows from status.
func (b *Backend) fail(w http.ResponseWriter, d dialect, status int, typ string, code, param *string, msg string) {
	if d == anthropicDialect {
		writeJSON(w, status, anthropicError{
			Type:      "error",
			Error:     anthropicDetail{Type: anthropicErrorType(status), Message: msg},
			RequestID: "req_nexustest_" + strconv.FormatInt(b.ids.Add(1), 10),
		})
		return
	}
	writeJSON(w, status, errorEnvelope{Error: errorDetail{Message: msg, Type: typ, Param: param, Code: code}})
}

// injectFailure answers an injected failure (Fail, SetFail) in dialect d,
// with Retry-After: 1 on 429, 503 and 529.
func (b *Backend) injectFailure(w http.ResponseWriter, d dialect, status int) {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, 529:
		w.Header().Set("Retry-After", "1")
	}
	code := strconv.Itoa(status)
	b.fail(w, d, status, "server_error", &code, nil, injectedFailure)
}

// badRequest answers 400 invalid_request_error.
func (b *Backend) badRequest(w http.ResponseWriter, d dialect, param, msg string) {
	var p *string
	if param != "" {
		p = &param
	}
	b.fail(w, d, http.StatusBadRequest, "invalid_request_error", nil, p, "nexustest "+b.cfg.name+": "+msg)
}

// notFound answers 404 with code (OpenAI) or not_found_error (Anthropic).
func (b *Backend) notFound(w http.ResponseWriter, d dialect, code, msg string) {
	var c *string
	if code != "" {
		c = &code
	}
	b.fail(w, d, http.StatusNotFound, "invalid_request_error", c, nil, msg)
}
