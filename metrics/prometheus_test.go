package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/require"
)

// TestRealPrometheusScrapes runs a Prometheus server on loopback against
// Handler and checks that it stores exactly the requests recorded.
func TestRealPrometheusScrapes(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "prometheus")

	reg := registry.New()
	addBackend(t, reg, "ollama-local:11434", registry.StatusHealthy, "llama3:70b")
	m := newMetrics(t, reg)
	target := httptest.NewServer(m.Handler())
	t.Cleanup(target.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil,
		"global: {scrape_interval: 1s, evaluation_interval: 1s}\n"+
			"scrape_configs:\n"+
			"  - job_name: nexus\n"+
			"    static_configs: [{targets: [%q]}]\n", target.Listener.Addr().String()), 0o600))
	addr := freeLoopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	cmd.Dir = dir
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel() // kills the process
		_ = cmd.Wait()
	})

	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: 2 * time.Second}
	query := func(q string) (float64, bool) {
		resp, err := client.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
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
		s, _ := body.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	waitFor := func(what, q string, want float64) {
		t.Helper()
		deadline := time.Now().Add(25 * time.Second)
		var last float64
		for time.Now().Before(deadline) {
			if v, ok := query(q); ok {
				last = v
				if v == want {
					return
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		logs, _ := os.ReadFile(logPath)
		t.Fatalf("%s: %s never became %v (last %v); prometheus log:\n%s", what, q, want, last, logs)
	}

	waitFor("first scrape", `up{job="nexus"}`, 1)
	const n = 17
	for i := range n {
		status := 200
		if i%5 == 0 {
			status = 503
		}
		m.RecordRequest(context.Background(), metrics.Request{Model: "llama3:70b", Backend: "ollama-local:11434",
			Status: status, Duration: time.Duration(i) * 100 * time.Millisecond, HasUsage: true, PromptTokens: 10, CompletionTokens: 5})
	}
	waitFor("requests", "sum(nexus_requests_total)", n)
	waitFor("errors", `sum(nexus_requests_total{status="503"})`, 4)
	waitFor("labels", `sum(nexus_requests_total{model="llama3_70b",backend="ollama_local_11434"})`, n)
	waitFor("tokens", "sum(nexus_tokens_total_sum)", n*15)
	waitFor("gauge", "nexus_backends_healthy", 1)
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port free right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
