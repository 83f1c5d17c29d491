package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a failed forward.
type Kind int

// Failure kinds.
const (
	// KindConnect: the backend could not be reached or the connection broke
	// before a response arrived.
	KindConnect Kind = iota + 1
	// KindTimeout: no response headers, first event or next event in time.
	KindTimeout
	// KindStatus: the backend answered with a non-2xx status.
	KindStatus
	// KindBadResponse: a 2xx answer that is not a valid reply (not JSON, not
	// an event stream, an error event, or a stream that ended before its
	// first event).
	KindBadResponse
	// KindStreamBroken: the stream failed after events reached the client.
	KindStreamBroken
	// KindClientGone: the client went away; not the backend's fault.
	KindClientGone
)

func (k Kind) String() string {
	switch k {
	case KindConnect:
		return "connect"
	case KindTimeout:
		return "timeout"
	case KindStatus:
		return "status"
	case KindBadResponse:
		return "bad_response"
	case KindStreamBroken:
		return "stream_broken"
	case KindClientGone:
		return "client_gone"
	}
	return "unknown"
}

// Error describes a failed forward. Committed says whether anything was
// written to the client; when it is false the caller may try another
// backend or write its own error.
type Error struct {
	Kind       Kind
	StatusCode int         // the backend's status for KindStatus
	Committed  bool        // bytes reached the client
	Body       []byte      // the backend's error body for KindStatus (bounded)
	Header     http.Header // the backend's response headers for KindStatus
	Err        error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindStatus:
		return fmt.Sprintf("backend returned HTTP %d", e.StatusCode)
	case KindClientGone:
		return "client closed the request"
	}
	if e.Err != nil {
		return fmt.Sprintf("backend %s: %v", e.Kind, e.Err)
	}
	return "backend " + e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another backend may be tried: nothing reached
// the client and the failure is the backend's (unreachable, too slow, a 5xx
// or 429, a 401/403 refusing the gateway's credentials, or an invalid
// reply).
func (e *Error) Retryable() bool {
	if e.Committed {
		return false
	}
	switch e.Kind {
	case KindConnect, KindTimeout, KindBadResponse:
		return true
	case KindStatus:
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || credentialsRefused(e.StatusCode)
	}
	return false
}

// credentialsRefused reports whether a backend status says it refused the
// gateway's own key: a misconfigured backend, not a bad client request.
func credentialsRefused(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// BackendFault reports whether the failure counts against the backend's
// health (passive health): everything but a client that went away, a 429
// (busy, not broken) and the other 4xx, which are the client's own doing —
// except 401/403, which refuse the gateway's credentials.
func (e *Error) BackendFault() bool {
	switch e.Kind {
	case KindClientGone:
		return false
	case KindStatus:
		return e.StatusCode >= 500 || credentialsRefused(e.StatusCode)
	}
	return true
}

// AsError returns err as *Error if it is one.
func AsError(err error) (*Error, bool) {
	var pe *Error
	ok := errors.As(err, &pe)
	return pe, ok
}

// errTimeout is the cause set when a first-byte or idle timer fires.
var errTimeout = errors.New("timed out")

// redacted replaces a backend's API key in what the backend sent back.
var redacted = []byte("[REDACTED]")

// redactKey returns b with every occurrence of key replaced, so that a
// backend that echoes the credentials it received (in an error body or an
// error event) cannot make the gateway pass them on to a client or a log.
// b itself is returned when it does not contain key.
func redactKey(b []byte, key string) []byte {
	if key == "" || !bytes.Contains(b, []byte(key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(key), redacted)
}
