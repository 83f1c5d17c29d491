package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error types and codes used in error envelopes.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypeServer         = "server_error"
	TypeNotFound       = "not_found_error"
	TypePermission     = "permission_error"
	TypeRateLimit      = "rate_limit_error"

	CodeModelNotFound      = "model_not_found"
	CodeBadGateway         = "bad_gateway"
	CodeGatewayTimeout     = "gateway_timeout"
	CodeServiceUnavailable = "service_unavailable"
	CodeInvalidAPIKey      = "invalid_api_key"
	CodeRequestTooLarge    = "request_too_large"
)

// ErrorBody is the inner object of an OpenAI error envelope.
type ErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Envelope is {"error": {...}}.
type Envelope struct {
	Error ErrorBody `json:"error"`
}

// NewEnvelope builds an envelope; empty param or code become null.
func NewEnvelope(message, typ, param, code string) Envelope {
	e := Envelope{Error: ErrorBody{Message: message, Type: typ}}
	if param != "" {
		e.Error.Param = &param
	}
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

// Marshal returns the envelope as JSON.
func (e Envelope) Marshal() []byte {
	b, _ := json.Marshal(e)
	return b
}

// WriteError writes an OpenAI error envelope with the given HTTP status.
func WriteError(w http.ResponseWriter, status int, message, typ, param, code string) {
	body := NewEnvelope(message, typ, param, code).Marshal()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// IsEnvelope reports whether body is a JSON object with an "error" member,
// the shape OpenAI-compatible servers use for errors.
func IsEnvelope(body []byte) bool {
	return validObject(body) == nil && HasMember(body, "error")
}

// HasMember reports whether the JSON object body, already known to be
// valid, has a top-level member key whose value is not null.
func HasMember(body []byte, key string) bool {
	start, end, ok := memberSpan(body, key)
	return ok && string(body[start:end]) != "null"
}

// Anthropic error types (the "type" of the inner object of an Anthropic
// error envelope).
const (
	AnthropicInvalidRequest  = "invalid_request_error"
	AnthropicAuthentication  = "authentication_error"
	AnthropicPermission      = "permission_error"
	AnthropicNotFound        = "not_found_error"
	AnthropicRequestTooLarge = "request_too_large"
	AnthropicRateLimit       = "rate_limit_error"
	AnthropicAPI             = "api_error"
	AnthropicOverloaded      = "overloaded_error"
	AnthropicTimeout         = "timeout_error"
)

// AnthropicErrorType maps an HTTP status to the Anthropic error type that
// goes with it: 400 invalid_request_error, 401 authentication_error, 403
// permission_error, 404 not_found_error, 413 request_too_large, 429
// rate_limit_error, 503 and 529 overloaded_error, 504 timeout_error, any
// other 4xx invalid_request_error and anything else api_error.
func AnthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return AnthropicInvalidRequest
	case http.StatusUnauthorized:
		return AnthropicAuthentication
	case http.StatusForbidden:
		return AnthropicPermission
	case http.StatusNotFound:
		return AnthropicNotFound
	case http.StatusRequestEntityTooLarge:
		return AnthropicRequestTooLarge
	case http.StatusTooManyRequests:
		return AnthropicRateLimit
	case http.StatusServiceUnavailable, 529:
		return AnthropicOverloaded
	case http.StatusGatewayTimeout:
		return AnthropicTimeout
	}
	if status >= 400 && status < 500 {
		return AnthropicInvalidRequest
	}
	return AnthropicAPI
}

// AnthropicError is an Anthropic error envelope:
// {"type":"error","error":{"type":…,"message":…},"request_id":…}.
type AnthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	// RequestID is omitted when empty.
	RequestID string `json:"request_id,omitempty"`
}

// NewAnthropicError builds an Anthropic error envelope of type typ; an
// empty typ means api_error.
func NewAnthropicError(typ, message, requestID string) AnthropicError {
	if typ == "" {
		typ = AnthropicAPI
	}
	e := AnthropicError{Type: "error", RequestID: requestID}
	e.Error.Type, e.Error.Message = typ, message
	return e
}

// Marshal returns the envelope as JSON.
func (e AnthropicError) Marshal() []byte {
	b, _ := json.Marshal(e)
	return b
}

// WriteAnthropicError writes an Anthropic error envelope with the given
// HTTP status. An empty typ is the type AnthropicErrorType gives the
// status. The envelope's request_id is the X-Request-Id header already set
// on w, when there is one.
func WriteAnthropicError(w http.ResponseWriter, status int, typ, message string) {
	if typ == "" {
		typ = AnthropicErrorType(status)
	}
	h := w.Header()
	body := NewAnthropicError(typ, message, h.Get("X-Request-Id")).Marshal()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
