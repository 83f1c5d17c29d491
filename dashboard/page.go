package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

// Markers in assets/index.html replaced when the page is served.
const (
	initialMarker  = `<script id="initial-data" type="application/json">{}</script>`
	noscriptMarker = `<!--nexus:noscript-->`
)

// contentSecurityPolicy allows the page only its own script, style sheet
// and connections: no inline script, no external URL.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// statsTimeout bounds the statistics snapshot taken for the page.
const statsTimeout = 5 * time.Second

// asset is one embedded file served under /assets/.
type asset struct {
	data        []byte
	contentType string
	etag        string
}

// assetSet is the embedded page, split around its markers, and its assets.
type assetSet struct {
	head, middle, tail []byte // head + noscript + middle + initial data + tail
	files              map[string]asset
	noscript           *template.Template
}

// contentType returns the media type served for an asset name, or "" for
// a file that is not served.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// loadAssets reads the embedded files. A malformed page is a build error,
// which the package tests catch, so it panics.
func loadAssets() *assetSet {
	page, err := assetFS.ReadFile("assets/index.html")
	if err != nil {
		panic("dashboard: embedded index.html: " + err.Error())
	}
	i := bytes.Index(page, []byte(noscriptMarker))
	j := bytes.Index(page, []byte(initialMarker))
	if i < 0 || j < i {
		panic("dashboard: embedded index.html lacks its markers")
	}
	const open = `<script id="initial-data" type="application/json">`
	s := &assetSet{
		head:     page[:i],
		middle:   page[i+len(noscriptMarker) : j+len(open)],
		tail:     page[j+len(initialMarker)-len("</script>"):],
		files:    map[string]asset{},
		noscript: template.Must(template.New("noscript").Parse(noscriptTemplate)),
	}
	entries, err := assetFS.ReadDir("assets")
	if err != nil {
		panic("dashboard: embedded assets: " + err.Error())
	}
	for _, e := range entries {
		ct := contentType(e.Name())
		if ct == "" || e.IsDir() {
			continue
		}
		data, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic("dashboard: embedded " + e.Name() + ": " + err.Error())
		}
		sum := sha256.Sum256(data)
		s.files[e.Name()] = asset{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return s
}

// serveAsset answers GET /assets/{file}.
func (d *Dashboard) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/assets/")
	a, ok := d.assets.files[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Unknown asset "+r.URL.Path+".", "invalid_request_error", "unknown_url")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
}

// initialData is the JSON embedded in the page so it renders before any
// request of its own.
type initialData struct {
	Stats           any                `json:"stats"`
	StatsError      string             `json:"stats_error,omitempty"`
	Models          any                `json:"models"`
	Health          any                `json:"health"`
	Backends        []api.Backend      `json:"backends"`
	History         []api.HistoryEntry `json:"history"`
	StatsIntervalMS int64              `json:"stats_interval_ms"`
	HistoryCapacity int                `json:"history_capacity"`
}

// snapshot gathers the page's data.
func (d *Dashboard) snapshot(ctx context.Context) initialData {
	data := initialData{
		Backends:        d.backends(),
		History:         d.cfg.History.List(),
		StatsIntervalMS: d.cfg.StatsInterval.Milliseconds(),
		HistoryCapacity: d.cfg.History.Cap(),
	}
	if d.cfg.Stats != nil {
		ctx, cancel := context.WithTimeout(ctx, statsTimeout)
		s, err := d.cfg.Stats(ctx)
		cancel()
		var raw []byte
		if err == nil {
			raw, err = json.Marshal(s)
		}
		if err != nil {
			data.StatsError = err.Error()
		} else {
			data.Stats = json.RawMessage(raw)
		}
	}
	if d.cfg.Models != nil {
		data.Models = d.cfg.Models()
	}
	if d.cfg.Health != nil {
		data.Health = d.cfg.Health()
	}
	return data
}

// backends returns the backend list to show (an empty list when none).
func (d *Dashboard) backends() []api.Backend {
	if d.cfg.Backends == nil {
		return []api.Backend{}
	}
	return d.cfg.Backends()
}

// serveIndex answers GET / with the page and its data.
func (d *Dashboard) serveIndex(w http.ResponseWriter, r *http.Request) {
	data := d.snapshot(r.Context())
	// encoding/json escapes <, > and & (and U+2028/9), so no value can end
	// the script element it is embedded in.
	js, err := json.Marshal(data)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not encode the dashboard data: "+err.Error(), "server_error", "")
		return
	}
	var buf bytes.Buffer
	buf.Grow(len(d.assets.head) + len(d.assets.middle) + len(d.assets.tail) + len(js) + 2048)
	buf.Write(d.assets.head)
	if err := d.assets.noscript.Execute(&buf, fallbackView(data)); err != nil {
		writeError(w, http.StatusInternalServerError, "could not render the dashboard: "+err.Error(), "server_error", "")
		return
	}
	buf.Write(d.assets.middle)
	buf.Write(js)
	buf.Write(d.assets.tail)

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not encode the response", "server_error", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes an OpenAI-style error envelope.
func writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	var c any
	if code != "" {
		c = code
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": c,
	}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
