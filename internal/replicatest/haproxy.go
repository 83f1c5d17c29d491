package replicatest

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HeaderReplica is the response header HAProxy sets to the name of the
// server (replica) that answered.
const HeaderReplica = "X-Nexus-Replica"

// HAProxy is an HAProxy load balancer on loopback in front of named
// servers: round-robin, a health check of GET checkPath every 100 ms (down
// after 2 failures, up after 2 successes), failed connections retried on
// another server, and each response marked with HeaderReplica. Its stats
// (CSV) tell each server's state.
type HAProxy struct {
	port, statsPort int
	proc            *Process
	client          *http.Client
}

// StartHAProxy starts HAProxy balancing over servers (name → host:port) in
// the order of names, and waits until every server is up. It is killed
// when the test ends.
func StartHAProxy(t testing.TB, checkPath string, names []string, servers map[string]string) *HAProxy {
	t.Helper()
	bin := RequireTool(t, "haproxy", "haproxy")
	h := &HAProxy{port: FreePort(t), statsPort: FreePort(t), client: &http.Client{Timeout: 5 * time.Second}}
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 2048
defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
frontend gateways
    bind %s
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET %s
    http-check expect status 200
    default-server inter 100ms fall 2 rise 2
    http-response set-header %s %%[srv_name]
`, addr(h.port), checkPath, HeaderReplica)
	for _, name := range names {
		fmt.Fprintf(&b, "    server %s %s check\n", name, servers[name])
	}
	fmt.Fprintf(&b, "frontend stats\n    bind %s\n    stats enable\n    stats uri /stats\n", addr(h.statsPort))
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h.proc = startProcess(t, "haproxy", bin, nil, "-db", "-f", cfg)
	t.Cleanup(h.client.CloseIdleConnections)
	for _, name := range names {
		h.WaitStatus(t, name, "UP")
	}
	return h
}

// URL returns the balancer's base URL.
func (h *HAProxy) URL() string { return "http://" + addr(h.port) }

// Status returns server's state as HAProxy's stats report it ("UP",
// "DOWN", "UP 1/2", ...), or "" when the stats cannot be read.
func (h *HAProxy) Status(server string) string {
	resp, err := h.client.Get("http://" + addr(h.statsPort) + "/stats;csv")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return ""
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(strings.TrimSpace(name), "# ")] = i
	}
	for _, row := range rows[1:] {
		if row[col["pxname"]] == "replicas" && row[col["svname"]] == server {
			return row[col["status"]]
		}
	}
	return ""
}

// WaitStatus waits, for at most 10 s, until server's state is status.
func (h *HAProxy) WaitStatus(t testing.TB, server, status string) {
	t.Helper()
	waitUntil(t, h.proc, "haproxy server "+server+" "+status, 10*time.Second, func() bool {
		return h.Status(server) == status
	})
}
