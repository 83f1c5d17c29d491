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
