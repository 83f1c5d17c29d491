package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain lets the test binary act as the child process of
// -gateway-process, and checks that runs leave no goroutine behind.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// short keeps test runs to a few seconds; the scenarios stay the defaults.
var short = []string{"-smoke", "-duration", "200ms", "-warmup", "50ms"}

func runBenchCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, append(append([]string{}, short...), args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestSmokeTable(t *testing.T) {
	t.Parallel()
	out, _, err := runBenchCmd(t)
	require.NoError(t, err)

	for _, sc := range []string{"plain@1", "plain@16", "plain@64", "stream@1 ttfb", "stream@16 ttfb", "stream@16 chunk", "stream@16 total", "embed@16"} {
		for _, tgt := range []string{"direct", "bare-proxy", "gateway"} {
			found := false
			for line := range strings.SplitSeq(out, "\n") {
				f := strings.Fields(line)
				name := strings.Join(f[:min(len(f), len(strings.Fields(sc)))], " ")
				if name == sc && len(f) > len(strings.Fields(sc)) && f[len(strings.Fields(sc))] == tgt {
					found = true
					// errors column: the last column before the allocation figures.
					assert.Equal(t, "0", f[len(f)-3], "errors in %q", line)
				}
			}
			assert.True(t, found, "no row for %s → %s in\n%s", sc, tgt, out)
		}
	}
	for _, want := range []string{
		"gateway/bare-proxy throughput @64:",
		"embed@16   throughput gateway/bare-proxy",
		"added p50 latency @1 vs bare proxy:",
		"stream TTFB p50 @1 vs bare proxy:",
		"idle RSS (whole process",
		"peak RSS (VmHWM)",
		"run in this one process",
	} {
		assert.Contains(t, out, want)
	}
}

// TestSmokeJSON is not parallel and measures 600 ms windows: on two cores
// shared with other test binaries a 200 ms window can pass without one
// request starting, and this test asserts that every target served some.
func TestSmokeJSON(t *testing.T) {
	out, _, err := runBenchCmd(t, "-json", "-concurrency", "2", "-stream-concurrency", "2", "-embeddings-concurrency", "2", "-chunks", "5", "-duration", "600ms")
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, 9)
	for i, r := range rep.Results {
		wantEndpoint := endpointChat
		if i >= 6 {
			wantEndpoint = endpointEmbeddings
		}
		assert.Equal(t, wantEndpoint, r.Endpoint, "%s → %s", r.Scenario, r.Target)
		assert.Positive(t, r.Requests, "%s → %s", r.Scenario, r.Target)
		assert.Zero(t, r.Errors, "%s → %s: %s", r.Scenario, r.Target, r.FirstError)
		assert.Positive(t, r.RPS)
		assert.Positive(t, r.Latency.P50)
		assert.LessOrEqual(t, r.Latency.P50, r.Latency.P99)
		if r.Stream {
			require.NotNil(t, r.Chunk)
			assert.GreaterOrEqual(t, r.Total.P50, r.Latency.P50*0.9, "a stream ends after its first event")
		}
	}
	assert.Len(t, rep.Comparisons, 3)
	require.NotNil(t, rep.Memory)
	assert.Positive(t, rep.Memory.Idle)
	assert.GreaterOrEqual(t, rep.Memory.Peak, rep.Memory.Idle)
}

func TestURLMode(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newFastBackend("m1", 3, 0))
	defer srv.Close()
	out, _, err := runBenchCmd(t, "-url", srv.URL+"/", "-model", "m1", "-concurrency", "1,2", "-stream-concurrency", "1")
	require.NoError(t, err)
	assert.Contains(t, out, "mode url, target "+srv.URL+"/v1/chat/completions")
	assert.Contains(t, out, "plain@2")
	assert.NotContains(t, out, "gateway")
	assert.NotContains(t, out, "Targets (")
}

func TestErrorsAreCountedAndFailSmoke(t *testing.T) {
	t.Parallel()
	// Every second stream lacks [DONE]; every plain request fails.
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Stream bool }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if !body.Stream {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {}\n\n")
		if n.Add(1)%2 == 0 {
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	}))
	defer srv.Close()
	out, _, err := runBenchCmd(t, "-json", "-url", srv.URL, "-model", "m", "-concurrency", "1", "-stream-concurrency", "1")
	require.ErrorContains(t, err, "requests failed")
	var rep report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, 2)
	plain, stream := rep.Results[0], rep.Results[1]
	assert.Zero(t, plain.Requests)
	assert.Positive(t, plain.Errors)
	assert.Equal(t, "HTTP 500", plain.FirstError)
	assert.Positive(t, stream.Requests)
	assert.Positive(t, stream.Errors)
	assert.Equal(t, errNoDone.Error(), stream.FirstError)
}

func TestGatewayProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	prof := t.TempDir() + "/gw.pprof"
	out, errOut, err := runBenchCmd(t, "-gateway-process", "-concurrency", "4", "-stream-concurrency", "2", "-cpuprofile", prof)
	require.NoError(t, err)
	assert.Contains(t, out, "mode gateway-process")
	assert.Contains(t, out, "Memory (gateway child process alone): idle RSS")
	assert.Contains(t, out, "bare proxy child for scale")
	assert.NotContains(t, out, "allocs/req")
	st, err := os.Stat(prof)
	require.NoError(t, err, "the gateway child writes the profile; stderr: %s", errOut)
	t.Log(errOut)
	assert.Positive(t, st.Size())
}

func TestProgress(t *testing.T) {
	t.Parallel()
	_, errOut, err := runBenchCmd(t, "-progress", "-concurrency", "1", "-stream-concurrency", "", "-embeddings-concurrency", "")
	require.NoError(t, err)
	for _, tgt := range []string{"direct", "bare-proxy", "gateway"} {
		assert.Contains(t, errOut, "plain@1 → "+tgt)
	}
	assert.Contains(t, errOut, "[3/3]")
	assert.True(t, strings.HasSuffix(errOut, "\r\x1b[K"), "the progress line is cleared at the end")
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-url", "http://127.0.0.1:1"}, "-url needs -model"},
		{[]string{"-concurrency", "1,x"}, "usage"},
		{[]string{"-concurrency", "0"}, "usage"},
		{[]string{"-concurrency", "", "-stream-concurrency", "", "-embeddings-concurrency", ""}, "nothing to run"},
		{[]string{"-embeddings-concurrency", "0"}, "usage"},
		{[]string{"-embeddings-model", "other"}, "-embeddings-model needs -url"},
		{[]string{"-backend", "slow"}, "want fast or nexustest"},
		{[]string{"-url", "http://127.0.0.1:1", "-model", "m", "-gateway-process"}, "no meaning with -url"},
		{[]string{"-rounds", "0"}, "-rounds"},
		{[]string{"extra"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			require.ErrorContains(t, err, tt.want)
			assert.Empty(t, out.String())
		})
	}
}

func TestFlagDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, o.duration)
	assert.Equal(t, 500*time.Millisecond, o.warmup)
	assert.Equal(t, []int{1, 16, 64}, o.concurrency)
	assert.Equal(t, []int{1, 16}, o.streamConcurrency)
	assert.Equal(t, []int{16}, o.embedConcurrency)
	assert.Equal(t, localModel, o.embedModel)
	assert.Equal(t, 20, o.chunks)
	assert.Equal(t, 5, o.rounds)
	assert.Equal(t, localModel, o.model)
	assert.False(t, o.progress, "a buffer is not a terminal")

	o, err = parseFlags([]string{"-smoke"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 400*time.Millisecond, o.duration)
	assert.Equal(t, 100*time.Millisecond, o.warmup)
	assert.Equal(t, 1, o.rounds)
	assert.Equal(t, []int{16}, o.embedConcurrency, "-smoke runs the embeddings scenario too")

	o, err = parseFlags([]string{"-url", "http://127.0.0.1:1", "-model", "m"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Empty(t, o.embedConcurrency, "a deployment's model may not embed: none unless asked")
	assert.Equal(t, "m", o.embedModel)

	o, err = parseFlags([]string{"-url", "http://127.0.0.1:1", "-model", "m", "-embeddings-concurrency", "4", "-embeddings-model", "e"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []int{4}, o.embedConcurrency)
	assert.Equal(t, "e", o.embedModel)
}

func TestChatURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://h:1":                      "http://h:1/v1/chat/completions",
		"http://h:1/":                     "http://h:1/v1/chat/completions",
		"http://h:1/v1":                   "http://h:1/v1/chat/completions",
		"http://h:1/v1/chat/completions":  "http://h:1/v1/chat/completions",
		"http://h:1/api/v1/":              "http://h:1/api/v1/chat/completions",
		"http://h:1/v1/chat/completions/": "http://h:1/v1/chat/completions",
	} {
		assert.Equal(t, want, chatURL(in), in)
	}
}
