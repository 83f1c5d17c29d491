package dashboard

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// fallbackRows is how many recent requests the no-script view lists.
const fallbackRows = 20

// noscriptTemplate renders the page's content for browsers without
// JavaScript, inside the page's <noscript> element. html/template escapes
// every value.
const noscriptTemplate = `<section class="fallback" id="fallback">
<p class="notice">JavaScript is turned off, so this page cannot update itself: it reloads every 5 seconds.
Raw data: <a href="v1/stats">/v1/stats</a>, <a href="v1/history">/v1/history</a>,
<a href="v1/models">/v1/models</a>, <a href="health">/health</a>.</p>
{{with .Summary}}<p>{{.}}</p>{{end}}
<div class="table-wrap"><table>
<caption>Backends</caption>
<thead><tr><th>Backend</th><th>Status</th><th>URL</th><th>Pending</th><th>Models</th></tr></thead>
<tbody>{{range .Backends}}
<tr><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.URL}}</td><td>{{.Pending}}</td><td>{{.Models}}</td></tr>{{else}}
<tr><td colspan="5">No backends.</td></tr>{{end}}
</tbody></table></div>
<div class="table-wrap"><table>
<caption>Latest requests</caption>
<thead><tr><th>Time (UTC)</th><th>Model</th><th>Backend</th><th>Status</th><th>Duration</th><th>Error</th></tr></thead>
<tbody>{{range .History}}
<tr><td>{{.Time}}</td><td>{{.Model}}</td><td>{{.Backend}}</td><td>{{.Status}}</td><td>{{.Duration}}</td><td>{{.Error}}</td></tr>{{else}}
<tr><td colspan="6">No requests yet.</td></tr>{{end}}
</tbody></table></div>
</section>`

type fallbackPage struct {
	Summary  string
	Backends []fallbackBackend
	History  []fallbackEntry
}

type fallbackBackend struct {
	Name, Status, URL, Models string
	Pending                   int64
}

type fallbackEntry struct {
	Time, Model, Backend, Duration, Error string
	Status                                int
}

// fallbackView prepares the no-script view. The statistics are read back
// from their JSON, since the dashboard does not know their type.
func fallbackView(data initialData) fallbackPage {
	var p fallbackPage
	var stats struct {
		UptimeSeconds uint64 `json:"uptime_seconds"`
		Requests      *struct {
			Total   uint64 `json:"total"`
			Success uint64 `json:"success"`
			Errors  uint64 `json:"errors"`
		} `json:"requests"`
	}
	if raw, ok := data.Stats.(json.RawMessage); ok && json.Unmarshal(raw, &stats) == nil && stats.Requests != nil {
		r := stats.Requests
		p.Summary = fmt.Sprintf("Up %s · %d requests · %d succeeded · %d failed",
			formatUptime(stats.UptimeSeconds), r.Total, r.Success, r.Errors)
	}
	for _, b := range data.Backends {
		ids := make([]string, len(b.Models))
		for i, m := range b.Models {
			ids[i] = m.ID
		}
		p.Backends = append(p.Backends, fallbackBackend{
			Name: b.Name, Status: b.Status, URL: b.URL, Pending: b.Pending, Models: strings.Join(ids, ", "),
		})
	}
	for i := len(data.History) - 1; i >= 0 && len(p.History) < fallbackRows; i-- {
		e := data.History[i]
		p.History = append(p.History, fallbackEntry{
			Time:     e.Time.UTC().Format(time.TimeOnly),
			Model:    e.Model,
			Backend:  e.Backend,
			Status:   e.Status,
			Duration: strconv.FormatFloat(e.DurationMS, 'f', 1, 64) + " ms",
			Error:    e.Error,
		})
	}
	return p
}

// formatUptime renders whole seconds as "3d 4h", "4h 5m", "5m 6s" or "6s".
func formatUptime(s uint64) string {
	d, h, m := s/86400, s/3600%24, s/60%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh", d, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s%60)
	}
	return fmt.Sprintf("%ds", s)
}
