package nexus

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/nexusllm/nexus/internal/openai"
)

// Inbound authentication. When server.api_keys is set, every route but
// GET /health (left open for load balancers and orchestrators) requires one
// of the keys as "Authorization: Bearer <key>". That covers the chat and
// model API, the admin API, /v1/stats and /metrics (configure the scrape
// job with the key as its bearer credentials) and the dashboard.
//
// A browser cannot send that header from an EventSource, so the dashboard
// is opened once as /?api_key=<key>: the gateway answers with a redirect
// to the bare page (the key leaves the address bar and history) and an
// HttpOnly, SameSite=Strict cookie. The cookie holds a value derived from
// the key, not the key, and is accepted for GET and HEAD requests only, so
// it can neither be replayed as an API key nor used for a cross-site write.

const (
	// authCookie is the name of the dashboard's session cookie.
	authCookie = "nexus_session"
	// authQuery is the query parameter that opens the dashboard with a key.
	authQuery = "api_key"
	// cookieContext separates the cookie derivation from any other use of
	// a key's hash.
	cookieContext = "nexus dashboard session v1\x00"
)

// authenticator checks inbound keys in constant time. A nil authenticator
// lets everything through.
type authenticator struct {
	keys    [][sha256.Size]byte // SHA-256 of each key
	cookies [][sha256.Size]byte // SHA-256 of each key's cookie value
}

// newAuthenticator returns nil when keys is empty (authentication off).
func newAuthenticator(keys []string) *authenticator {
	if len(keys) == 0 {
		return nil
	}
	a := &authenticator{}
	for _, k := range keys {
		a.keys = append(a.keys, sha256.Sum256([]byte(k)))
		a.cookies = append(a.cookies, sha256.Sum256([]byte(cookieValue(k))))
	}
	return a
}

// cookieValue is the dashboard cookie for key: a one-way function of it.
func cookieValue(key string) string {
	sum := sha256.Sum256([]byte(cookieContext + key))
	return hex.EncodeToString(sum[:])
}

// matchAny compares the SHA-256 of s with every entry of set, always all of
// them, so neither the position of a match nor the length of s leaks
// through timing.
func matchAny(set [][sha256.Size]byte, s string) bool {
	got := sha256.Sum256([]byte(s))
	match := 0
	for i := range set {
		match |= subtle.ConstantTimeCompare(got[:], set[i][:])
	}
	return match == 1
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// readOnly reports whether r is a GET or HEAD request, the only ones a
// dashboard cookie may authorise.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// allows reports whether r carries a valid key, in its Authorization
// header or, for a read-only request, as the dashboard cookie.
func (a *authenticator) allows(r *http.Request) bool {
	if a == nil {
		return true
	}
	if token, ok := bearer(r); ok {
		return matchAny(a.keys, token)
	}
	if !readOnly(r) {
		return false
	}
	c, err := r.Cookie(authCookie)
	return err == nil && c.Value != "" && matchAny(a.cookies, c.Value)
}

// authorized reports whether r may use the gateway: always when no gateway
// API keys are configured, otherwise only with one of them (see allows).
func (g *Gateway) authorized(r *http.Request) bool { return g.auth.allows(r) }

// requireAuth answers 401 and reports false when r is not authorized.
func (g *Gateway) requireAuth(w http.ResponseWriter, r *http.Request) bool {
	if g.authorized(r) {
		return true
	}
	msg := "Missing or invalid API key. Send the header 'Authorization: Bearer <key>' with one of the gateway's keys."
	if r.URL.Path == "/" && readOnly(r) {
		msg += " To open the dashboard in a browser, visit /?api_key=<key> once."
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="nexus"`)
	openai.WriteError(w, http.StatusUnauthorized, msg, openai.TypeAuthentication, "", openai.CodeInvalidAPIKey)
	return false
}

// authenticate guards every route but GET /health. It reports whether the
// request may go on; when it returns false it has answered (401, or the
// redirect that turns /?api_key=<key> into the dashboard cookie).
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if g.auth == nil || r.URL.Path == "/health" && readOnly(r) {
		return true
	}
	if r.URL.Path == "/" && readOnly(r) && r.URL.Query().Has(authQuery) {
		key := r.URL.Query().Get(authQuery)
		if !matchAny(g.auth.keys, key) {
			g.log.Debug("dashboard login with an invalid key", "remote_addr", r.RemoteAddr)
			return g.requireAuth(w, r)
		}
		http.SetCookie(w, &http.Cookie{
			Name:     authCookie,
			Value:    cookieValue(key),
			Path:     "/",
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
		// Relative, so that it also works when the gateway is mounted
		// under a prefix; it drops the query and with it the key.
		w.Header().Set("Location", "./")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(http.StatusSeeOther)
		return false
	}
	if !g.requireAuth(w, r) {
		g.log.Debug("request without a valid API key", "method", r.Method, "path", r.URL.Path, "remote_addr", r.RemoteAddr)
		return false
	}
	return true
}
