package routing

import (
	"errors"
	"net/http"
	"strings"
)

// ErrorKind says why a request could not be routed.
type ErrorKind int

// Routing error kinds. See Router.Route for the order in which they are
// decided.
const (
	// KindModelNotFound: no backend lists the model (nor any fallback).
	KindModelNotFound ErrorKind = iota + 1
	// KindNoHealthyBackend: the model is known but none of its backends is
	// healthy, and no fallback chain is configured.
	KindNoHealthyBackend
	// KindCapabilityMismatch: healthy backends list the model, but none
	// meets the request's needs (vision, tools, JSON mode, context length).
	KindCapabilityMismatch
	// KindFallbackExhausted: neither the model nor any model of its
	// configured fallback chain has a usable backend.
	KindFallbackExhausted
	// KindEndpointUnsupported: healthy backends list the model, but none
	// of them serves the request's endpoint (Requirements.Endpoints).
	KindEndpointUnsupported
)

// String returns the kind's metrics error_type (see Error.Type).
func (k ErrorKind) String() string {
	switch k {
	case KindModelNotFound:
		return "model_not_found"
	case KindNoHealthyBackend:
		return "no_healthy_backend"
	case KindCapabilityMismatch:
		return "capability_mismatch"
	case KindFallbackExhausted:
		return "fallback_exhausted"
	case KindEndpointUnsupported:
		// A missing endpoint is a missing capability: the metrics'
		// error types stay the seed's closed set.
		return "capability_mismatch"
	}
	return "unknown"
}

// Sentinels for errors.Is: an *Error matches the sentinel of its Kind.
var (
	ErrModelNotFound      = errors.New("routing: model not found")
	ErrNoHealthyBackend   = errors.New("routing: no healthy backend")
	ErrCapabilityMismatch = errors.New("routing: capability mismatch")
	ErrFallbackExhausted  = errors.New("routing: fallback chain exhausted")
	// ErrEndpointUnsupported matches KindEndpointUnsupported.
	ErrEndpointUnsupported = errors.New("routing: endpoint not served for the model")
)

// Error is the error returned by Router.Route when a request cannot be
// routed. Match it with errors.As, or its Kind with errors.Is and the Err*
// sentinels.
type Error struct {
	// Kind says why routing failed.
	Kind ErrorKind
	// Model is the model name the client sent (before alias resolution).
	Model string
	// Resolved is Model after alias resolution (equal to Model when it is
	// not an alias).
	Resolved string
	// Missing lists the unmet requirements for KindCapabilityMismatch, in
	// the order vision, tools, json_mode, context_length.
	Missing []string
	// Available lists every model id known to the registry, sorted, for
	// KindModelNotFound.
	Available []string
	// Fallbacks is the fallback chain of Resolved, for KindFallbackExhausted.
	Fallbacks []string
	// Served lists the endpoints the model's healthy backends do serve,
	// for KindEndpointUnsupported. The caller names the endpoint asked
	// for (see Endpoint).
	Served []string
	// Endpoint is the endpoint the client called, for the message of
	// KindEndpointUnsupported; the caller sets it.
	Endpoint string
}

// Error returns the client-facing message.
func (e *Error) Error() string {
	switch e.Kind {
	case KindModelNotFound:
		if len(e.Available) == 0 {
			return "Model '" + e.Model + "' not found. No models available"
		}
		return "Model '" + e.Model + "' not found. Available: " + strings.Join(e.Available, ", ")
	case KindCapabilityMismatch:
		return "Model '" + e.Model + "' lacks required capabilities: [" + strings.Join(e.Missing, ", ") + "]"
	case KindFallbackExhausted:
		return "No healthy backend for model '" + e.Model + "' or its fallbacks [" + strings.Join(e.Fallbacks, ", ") + "]"
	case KindEndpointUnsupported:
		ep := e.Endpoint
		if ep == "" {
			ep = "this endpoint"
		}
		return "Model '" + e.Model + "' is not served on " + ep + " by any of its backends; they serve: " + strings.Join(e.Served, ", ")
	}
	return "No healthy backend available for model '" + e.Model + "'"
}

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	switch e.Kind {
	case KindModelNotFound:
		return target == ErrModelNotFound
	case KindNoHealthyBackend:
		return target == ErrNoHealthyBackend
	case KindCapabilityMismatch:
		return target == ErrCapabilityMismatch
	case KindFallbackExhausted:
		return target == ErrFallbackExhausted
	case KindEndpointUnsupported:
		return target == ErrEndpointUnsupported
	}
	return false
}

// Status returns the HTTP status to answer with: 404 for an unknown model,
// 400 for a capability mismatch, 503 when the model exists but nothing can
// serve it right now.
func (e *Error) Status() int {
	switch e.Kind {
	case KindModelNotFound:
		return http.StatusNotFound
	case KindCapabilityMismatch, KindEndpointUnsupported:
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

// Code returns the OpenAI error code: "model_not_found",
// "invalid_request_error" or "service_unavailable".
func (e *Error) Code() string {
	switch e.Kind {
	case KindModelNotFound:
		return "model_not_found"
	case KindCapabilityMismatch:
		return "invalid_request_error"
	case KindEndpointUnsupported:
		return "endpoint_not_supported"
	}
	return "service_unavailable"
}

// Param returns the OpenAI error param: "model" for an unknown model, ""
// otherwise.
func (e *Error) Param() string {
	if e.Kind == KindModelNotFound {
		return "model"
	}
	return ""
}

// Type returns the error_type label of nexus_errors_total:
// "model_not_found", "no_healthy_backend", "capability_mismatch" or
// "fallback_exhausted".
func (e *Error) Type() string { return e.Kind.String() }
