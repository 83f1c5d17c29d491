// Package promtest runs the real Prometheus tools against a target on
// loopback, for tests: promtool's linter and a Prometheus server that
// scrapes a /metrics endpoint and answers PromQL queries. A missing binary
// skips the test locally and fails it under CI (CI set).
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireTool returns the path of an external program. When it is missing
// the test is skipped, or failed when the CI environment variable is set.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// CheckMetrics runs `promtool check metrics` on an exposition and returns
// its exit code and the findings it printed, one per element.
func CheckMetrics(t testing.TB, exposition string) (exitCode int, findings []string) {
	t.Helper()
	promtool := RequireTool(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		exitCode = exit.ExitCode()
	default:
		t.Fatalf("promtool: %v", err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			findings = append(findings, line)
		}
	}
	return exitCode, findings
}

// Server is a Prometheus server on loopback scraping one target every
// second. It is stopped when the test ends.
type Server struct {
	addr    string
	logPath string
	client  *http.Client
}

// Start launches Prometheus scraping target (host:port, path /metrics).
func Start(t testing.TB, target string) *Server {
	t.Helper()
	bin := RequireTool(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil,
		"global: {scrape_interval: 1s, evaluation_interval: 1s}\n"+
			"scrape_configs:\n"+
			"  - job_name: nexus\n"+
			"    static_configs: [{targets: [%q]}]\n", target), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{addr: freeLoopbackAddr(t), logPath: filepath.Join(dir, "prometheus.log")}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+s.addr,
		"--log.level=warn")
	cmd.Dir = dir
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	s.client = &http.Client{Transport: transport, Timeout: 2 * time.Second}
	t.Cleanup(func() {
		cancel() // kills the process
		_ = cmd.Wait()
		transport.CloseIdleConnections()
	})
	return s
}

// Addr returns the host:port of the server's HTTP API.
func (s *Server) Addr() string { return s.addr }

// Query evaluates an instant PromQL query that yields one sample.
func (s *Server) Query(q string) (float64, bool) {
	resp, err := s.client.Get("http://" + s.addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || body.Status != "success" || len(body.Data.Result) != 1 {
		return 0, false
	}
	str, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	return v, err == nil
}

// WaitFor polls q for up to 25 seconds until it equals want, and fails the
// test with Prometheus's log otherwise. The first scrape takes about 6 s.
func (s *Server) WaitFor(t testing.TB, what, q string, want float64) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	var last float64
	for time.Now().Before(deadline) {
		if v, ok := s.Query(q); ok {
			last = v
			if v == want {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	logs, _ := os.ReadFile(s.logPath)
	t.Fatalf("%s: %s never became %v (last %v); prometheus log:\n%s", what, q, want, last, logs)
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port free right now.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
