package nexus

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/limits"
)

// Inbound authentication. With keys configured ([[keys]] or
// server.api_keys), every route but GET /health (left open for load
// balancers and orchestrators) requires one of them, as "Authorization:
// Bearer <key>" or "x-api-key: <key>" (what Anthropic clients send). That
// covers the inference API, the admin API (whose changes need an admin
// key), /v1/stats and /metrics (configure the scrape job with a key as its
// bearer credentials) and the dashboard. With no keys at all, everything is
// open except fleet changes, which only a loopback client may make.
//
// A browser cannot send a header from an EventSource, so the dashboard is
// opened once as /?api_key=<key>: the gateway answers with a redirect to
// the bare page (the key leaves the address bar and history) and an
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
// lets everything through (but fleet changes; see requireAdmin).
type authenticator struct {
	keys    *limits.Keyring
	cookies [][sha256.Size]byte // SHA-256 of each key's cookie value
}

// newAuthenticator returns nil when keys is nil (authentication off).
func newAuthenticator(keys *limits.Keyring, secrets []string) *authenticator {
	if keys == nil {
		return nil
	}
	a := &authenticator{keys: keys}
	for _, k := range secrets {
		a.cookies = append(a.cookies, sha256.Sum256([]byte(cookieValue(k))))
	}
	return a
}

// secrets lists the configured key secrets, for the dashboard cookies.
func (c Config) secrets() []string {
	out := append([]string(nil), c.Server.APIKeys...)
	for _, k := range c.Keys {
		out = append(out, k.Key)
	}
	return out
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

// clientKey returns the key a request carries: the token of
// "Authorization: Bearer <token>", else the x-api-key header.
func clientKey(r *http.Request) (string, bool) {
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if token = strings.TrimSpace(token); token != "" {
			return token, true
		}
	}
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k, true
	}
	return "", false
}

// readOnly reports whether r is a GET or HEAD request, the only ones a
// dashboard cookie may authorise.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// principal returns who r is: nil with ok true when authentication is off,
// the key's principal when it carries a valid key. Otherwise it answers
// 401 in the API's envelope and reports false.
func (g *Gateway) principal(w http.ResponseWriter, r *http.Request, style apiStyle) (*limits.Principal, bool) {
	a := g.auth.Load()
	if a == nil {
		return nil, true
	}
	if key, ok := clientKey(r); ok {
		if p, ok := a.keys.Lookup(key); ok {
			return p, true
		}
	}
	g.unauthorized(w, r, style)
	return nil, false
}

// unauthorized answers 401.
func (g *Gateway) unauthorized(w http.ResponseWriter, r *http.Request, style apiStyle) {
	g.log.Debug("request without a valid API key", "method", r.Method, "path", r.URL.Path, "remote_addr", r.RemoteAddr)
	msg := "Missing or invalid API key. Send the header 'Authorization: Bearer <key>' (or 'x-api-key: <key>') with one of the gateway's keys."
	if r.URL.Path == "/" && readOnly(r) {
		msg += " To open the dashboard in a browser, visit /?api_key=<key> once."
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="nexus"`)
	if style == apiAnthropic {
		openai.WriteAnthropicError(w, http.StatusUnauthorized, "", msg)
		return
	}
	openai.WriteError(w, http.StatusUnauthorized, msg, openai.TypeAuthentication, "", openai.CodeInvalidAPIKey)
}

// authenticate applies a route's access rule. It reports whether the
// request may go on; when it returns false it has answered (401, 403, or
// the redirect that turns /?api_key=<key> into the dashboard cookie).
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, acc access) bool {
	switch acc {
	case accessOpen, accessInference:
		return true // inference handlers authenticate themselves
	case accessAdmin:
		return g.requireAdmin(w, r)
	}
	a := g.auth.Load()
	if a == nil {
		return true
	}
	if r.URL.Path == "/" && readOnly(r) && r.URL.Query().Has(authQuery) {
		g.dashboardLogin(w, r, a)
		return false
	}
	if key, ok := clientKey(r); ok {
		if _, ok := a.keys.Lookup(key); ok {
			return true
		}
	} else if readOnly(r) {
		if c, err := r.Cookie(authCookie); err == nil && c.Value != "" && matchAny(a.cookies, c.Value) {
			return true
		}
	}
	g.unauthorized(w, r, apiOpenAI)
	return false
}

// dashboardLogin turns /?api_key=<key> into the dashboard's session cookie
// and a redirect to the bare page, or answers 401 for a wrong key.
func (g *Gateway) dashboardLogin(w http.ResponseWriter, r *http.Request, a *authenticator) {
	key := r.URL.Query().Get(authQuery)
	if _, ok := a.keys.Lookup(key); !ok {
		g.log.Debug("dashboard login with an invalid key", "remote_addr", r.RemoteAddr)
		g.unauthorized(w, r, apiOpenAI)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     authCookie,
		Value:    cookieValue(key),
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	// Relative, so that it also works when the dashboard is mounted under
	// a prefix; it drops the query and with it the key.
	w.Header().Set("Location", "./")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusSeeOther)
}

// requireAdmin admits fleet changes: with keys configured, from an admin
// key only; with no keys at all, from a loopback client only, since
// anybody who reaches the port could otherwise add a backend and receive
// prompts. Anyone else gets 403 (401 without a valid key) explaining how
// to enable it.
func (g *Gateway) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	var p *limits.Principal
	var keys *limits.Keyring
	if a := g.auth.Load(); a != nil {
		key, ok := clientKey(r)
		if ok {
			p, ok = a.keys.Lookup(key)
		}
		if !ok {
			g.unauthorized(w, r, apiOpenAI)
			return false
		}
		keys = a.keys
	}
	allowed, why := keys.AdminAllowed(p, r.RemoteAddr)
	if allowed {
		return true
	}
	g.log.Info("admin change refused", "method", r.Method, "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", why)
	openai.WriteError(w, http.StatusForbidden, why, openai.TypePermission, "", "admin_forbidden")
	return false
}
