package nexus_test

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// flood sends n chat requests for model from workers parallel clients and
// counts the answers by status.
func flood(t *testing.T, base, model string, n, workers int) map[int]int {
	t.Helper()
	c := testClient(t)
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				r := doChat(c, base, model, false)
				mu.Lock()
				if r.err != nil {
					statuses[-1]++
				} else {
					statuses[r.status]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return statuses
}

// logLine is what the flood test reads from a JSON log line.
type logLine struct {
	Msg        string `json:"msg"`
	Level      string `json:"level"`
	Status     int    `json:"status"`
	Suppressed int64  `json:"suppressed"`
}

func parseLines(t *testing.T, text string) []logLine {
	t.Helper()
	var out []logLine
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		var l logLine
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		out = append(out, l)
	}
	return out
}

// TestLogFloodStaysBounded: at level warn, a flood of requests for unknown
// models (the client's problem) writes nothing; a flood of requests that
// every backend fails (the operator's problem) writes warnings, but at
// most logLinesPerSecond (10) per second of each kind, the suppressed
// count is carried by a later line, and the lines written plus
// nexus_log_lines_suppressed_total account for every warning exactly.
//
// The kinds: each failed attempt at a backend is one "attempt" warning and
// each failed request one "request" warning of kind backend_error; both
// count their suppressed lines under kind backend_error in the metric.
func TestLogFloodStaysBounded(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.NoRecord())
	b := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.NoRecord())
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := testConfig(backendConfig("a", a, 1), backendConfig("b", b, 2))
	cfg.Logging.Level = "warn"
	// Keep both backends in rotation, so that every request makes the same
	// two attempts and fails the same way.
	cfg.HealthCheck.PassiveFailureThreshold = math.MaxInt32
	gw, base := startGateway(t, cfg, nexus.WithLogger(log))
	clientErrors, backendErrors := 5000, 2000
	if testing.Short() {
		clientErrors, backendErrors = 1000, 500
	}

	// Client errors: requests for models nobody serves.
	got := flood(t, base, "no-such-model", clientErrors, 16)
	require.Equal(t, map[int]int{http.StatusNotFound: clientErrors}, got)
	assert.Empty(t, logs.String(), "a client's 4xx flood writes nothing at level warn")

	// Backend failures: every backend fails every request.
	a.SetInferenceFail(http.StatusInternalServerError)
	b.SetInferenceFail(http.StatusServiceUnavailable)
	start := time.Now()
	got = flood(t, base, "m", backendErrors, 16)
	elapsed := time.Since(start)
	failed := got[http.StatusBadGateway] + got[http.StatusServiceUnavailable]
	require.Equal(t, backendErrors, failed, "%v", got)

	// One more failing request in a later second writes a line of each kind
	// for sure, which carries what was suppressed since the last one.
	last := time.Now().Unix()
	for time.Now().Unix() == last {
		time.Sleep(10 * time.Millisecond)
	}
	r := doChat(testClient(t), base, "m", false)
	require.NoError(t, r.err)
	require.GreaterOrEqual(t, r.status, 500)
	failed++

	var attempts, requests, other []logLine
	var carried int64
	for _, l := range parseLines(t, logs.String()) {
		assert.Equal(t, "WARN", l.Level, l.Msg)
		carried += l.Suppressed
		switch {
		case l.Msg == "request":
			requests = append(requests, l)
		case strings.HasPrefix(l.Msg, "backend attempt failed"):
			attempts = append(attempts, l)
		default:
			other = append(other, l)
		}
	}
	assert.Empty(t, other, "no other warnings")
	bound := 10*int(math.Ceil(elapsed.Seconds())) + 10 + 2 // +2: the flush request
	assert.LessOrEqual(t, len(requests), bound, "request lines in %s", elapsed)
	assert.LessOrEqual(t, len(attempts), bound, "attempt lines in %s", elapsed)
	assert.Greater(t, carried, int64(0), "a later line reports the suppressed count")
	t.Logf("%d failing requests in %s: %d request lines, %d attempt lines, %d suppressed reported in lines",
		failed, elapsed, len(requests), len(attempts), carried)

	// The metric counts every suppressed line at once: written plus
	// suppressed is every warning, two attempts and one request per
	// failed request.
	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	suppressed := int(st.LogLinesSuppressed["backend_error"])
	assert.Equal(t, 3*failed, len(requests)+len(attempts)+suppressed)
	assert.Equal(t, int64(suppressed), carried, "after the flush line, every suppressed line was reported in one")

	status, _, body := call(t, http.MethodGet, base+"/metrics", "")
	require.Equal(t, http.StatusOK, status)
	m := regexp.MustCompile(`(?m)^nexus_log_lines_suppressed_total\{kind="backend_error"\} (\d+)$`).FindSubmatch(body)
	require.NotNil(t, m, "nexus_log_lines_suppressed_total in /metrics")
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	assert.Equal(t, suppressed, n)
	assert.Greater(t, n, 0)
}
