package registry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Reasons CheckURL rejects a base URL, wrapped in a *URLError; match them
// with errors.Is.
var (
	ErrURLMissing     = errors.New("missing URL")
	ErrURLScheme      = errors.New("want http:// or https://")
	ErrURLQuery       = errors.New("a base URL has no query or fragment")
	ErrURLCredentials = errors.New("credentials in the URL are not allowed")
)

// URLError is a backend base URL that CheckURL rejects. Printing it never
// shows user information (a password) that the URL held.
type URLError struct {
	// URL is the URL as given, trimmed, without its user information when
	// it could be parsed.
	URL string
	// Err is ErrURLMissing, ErrURLScheme, ErrURLQuery or ErrURLCredentials.
	Err error
}

// Error reads `invalid URL "ftp://x" (want http:// or https://)`, or for
// credentials `credentials in the URL are not allowed (http://x:8000)`.
func (e *URLError) Error() string {
	switch e.Err {
	case ErrURLMissing:
		return e.Err.Error()
	case ErrURLCredentials:
		return fmt.Sprintf("%v (%s)", e.Err, e.URL)
	}
	return fmt.Sprintf("invalid URL %q (%v)", e.URL, e.Err)
}

// Unwrap returns Err.
func (e *URLError) Unwrap() error { return e.Err }

// CheckURL is the one rule for a backend's base URL, shared by the
// configuration, the admin API and the CLI: http or https, a host, no user
// information, no query or fragment. Surrounding space is ignored. It
// returns the URL as NormalizeURL writes it, or a *URLError naming the
// first problem found (credentials before query).
func CheckURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", &URLError{Err: ErrURLMissing}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", &URLError{URL: s, Err: ErrURLScheme}
	}
	shown, creds := s, u.User != nil
	if creds {
		// The message must not echo a password.
		u.User = nil
		shown = u.String()
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", &URLError{URL: shown, Err: ErrURLScheme}
	case creds:
		return "", &URLError{URL: shown, Err: ErrURLCredentials}
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", &URLError{URL: shown, Err: ErrURLQuery}
	}
	return NormalizeURL(s), nil
}
