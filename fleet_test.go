package nexus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// fleetGate is an OpenAI backend whose chat replies wait until the test
// lets them go, and which reports the order requests arrived in (by the
// text of their first message).
type fleetGate struct {
	srv      *httptest.Server
	arrivals chan string
	release  chan struct{}
}

// newFleetGate starts a gated backend; auto answers at once.
func newFleetGate(t *testing.T, auto bool) *fleetGate {
	t.Helper()
	gb := &fleetGate{arrivals: make(chan string, 256), release: make(chan struct{})}
	gb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
			return
		}
		var body struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		tag := ""
		if len(body.Messages) > 0 {
			tag = body.Messages[0].Content
		}
		if !auto {
			gb.arrivals <- tag
			select {
			case <-gb.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, tag)
	}))
	t.Cleanup(func() {
		close(gb.release)
		gb.srv.Close()
	})
	return gb
}

// fleetChat is a chat request for model m whose first message is tag.
func fleetChat(tag string) string {
	return `{"model":"m","messages":[{"role":"user","content":"` + tag + `"}]}`
}

// fleetQueueConfig is a gateway over one gated backend with max_concurrency 1.
func fleetQueueConfig(gb *fleetGate, maxSize, maxWait int) nexus.Config {
	cfg := testConfig(nexus.BackendConfig{Name: "gpu", URL: gb.srv.URL, Type: "openai", MaxConcurrency: 1,
		Models: []nexus.ModelConfig{{ID: "m"}}})
	cfg.Queue = nexus.QueueConfig{Enabled: true, MaxSize: maxSize, MaxWaitSeconds: maxWait}
	return cfg
}

// waitQueueDepth yields until the gateway's queue holds n requests.
func waitQueueDepth(gw *nexus.Gateway, n int64) {
	for gw.QueueDepth() != n {
		runtime.Gosched()
	}
}

type fleetAnswer struct {
	tag    string
	status int
	reason string
	body   string
	header http.Header
}

// fleetSend posts a chat request in the background; its answer arrives on
// out.
func fleetSend(ctx context.Context, base, tag string, out chan<- fleetAnswer, header ...string) {
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(fleetChat(tag)))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- fleetAnswer{tag: tag, status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- fleetAnswer{tag: tag, status: resp.StatusCode, reason: resp.Header.Get(nexus.HeaderRouteReason), body: string(b), header: resp.Header}
	}()
}

// TestFleetQueueOrder: with the backend at capacity, requests wait and go
// one by one as capacity frees, high priority first, then in arrival
// order; each that waited says "queued".
func TestFleetQueueOrder(t *testing.T) {
	t.Parallel()
	gb := newFleetGate(t, false)
	gw, base := startGateway(t, fleetQueueConfig(gb, 10, 30))
	out := make(chan fleetAnswer, 8)
	fleetSend(t.Context(), base, "first", out)
	require.Equal(t, "first", <-gb.arrivals)
	for i, tc := range []struct{ tag, prio string }{{"normal-1", ""}, {"low", "low"}, {"high", "high"}, {"normal-2", "normal"}} {
		fleetSend(t.Context(), base, tc.tag, out, nexus.HeaderPriority, tc.prio)
		waitQueueDepth(gw, int64(i+1))
	}
	var order []string
	for range 4 {
		gb.release <- struct{}{}
		order = append(order, <-gb.arrivals)
	}
	assert.Equal(t, []string{"high", "normal-1", "normal-2", "low"}, order)
	gb.release <- struct{}{}
	for range 5 {
		a := <-out
		require.Equal(t, http.StatusOK, a.status, a.body)
		if a.tag == "first" {
			assert.NotEqual(t, "queued", a.reason)
		} else {
			assert.Equal(t, "queued", a.reason, a.tag)
		}
	}
	assert.Zero(t, gw.QueueDepth())
}

// TestFleetQueueLimits: a full queue and a wait past max_wait_seconds are
// answered 429 with Retry-After in the caller's envelope.
func TestFleetQueueLimits(t *testing.T) {
	t.Parallel()
	gb := newFleetGate(t, false)
	gw, base := startGateway(t, fleetQueueConfig(gb, 1, 1))
	out := make(chan fleetAnswer, 4)
	fleetSend(t.Context(), base, "busy", out)
	require.Equal(t, "busy", <-gb.arrivals)
	fleetSend(t.Context(), base, "waits", out)
	waitQueueDepth(gw, 1)

	resp, body := post(t, base, fleetChat("refused"))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After in seconds")
	assert.GreaterOrEqual(t, ra, 1)
	assert.LessOrEqual(t, ra, 1)
	var env struct {
		Error struct{ Type, Code, Message string }
	}
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	assert.Equal(t, "rate_limit_error", env.Error.Type)
	assert.Equal(t, "queue_full", env.Error.Code)

	resp, body = postPath(t, base, "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, string(body), `"type":"error"`, "Anthropic envelope")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	a := <-out // "waits" gives up after max_wait_seconds
	assert.Equal(t, "waits", a.tag)
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Contains(t, a.body, "queue_timeout")
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	gb.release <- struct{}{}
	assert.Equal(t, http.StatusOK, (<-out).status)
}

// TestFleetQueueUnhealthy: a request waiting for a backend that leaves
// rotation hears 503, not 429.
func TestFleetQueueUnhealthy(t *testing.T) {
	t.Parallel()
	gb := newFleetGate(t, false)
	gw, base := startGateway(t, fleetQueueConfig(gb, 5, 30))
	out := make(chan fleetAnswer, 4)
	fleetSend(t.Context(), base, "busy", out)
	require.Equal(t, "busy", <-gb.arrivals)
	fleetSend(t.Context(), base, "waits", out)
	waitQueueDepth(gw, 1)
	b, ok := gw.Registry().Get("gpu")
	require.True(t, ok)
	b.SetStatus(registry.StatusUnhealthy, "gone")
	a := <-out // on the queue's next recheck
	assert.Equal(t, "waits", a.tag)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	gb.release <- struct{}{}
	<-out
}

// TestFleetQueueClientLeaves: a client that leaves while queued frees its
// place at once, and the next request goes in its stead.
func TestFleetQueueClientLeaves(t *testing.T) {
	t.Parallel()
	gb := newFleetGate(t, false)
	gw, base := startGateway(t, fleetQueueConfig(gb, 5, 30))
	out := make(chan fleetAnswer, 4)
	fleetSend(t.Context(), base, "busy", out)
	require.Equal(t, "busy", <-gb.arrivals)
	ctx, cancel := context.WithCancel(t.Context())
	fleetSend(ctx, base, "leaves", out)
	waitQueueDepth(gw, 1)
	fleetSend(t.Context(), base, "stays", out)
	waitQueueDepth(gw, 2)
	cancel()
	waitQueueDepth(gw, 1)
	assert.Equal(t, "leaves", (<-out).tag)
	gb.release <- struct{}{}
	assert.Equal(t, "stays", <-gb.arrivals)
	gb.release <- struct{}{}
	for range 2 {
		assert.Equal(t, http.StatusOK, (<-out).status)
	}
}

// TestFleetQueueStorm: many requests against small capacity all get an
// fleetAnswer, the queue empties, and no goroutine is left after Close.
func TestFleetQueueStorm(t *testing.T) {
	base := goleak.IgnoreCurrent()
	// Registered first, so it runs after the gateway's and backends'
	// cleanups.
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, base)
	})
	gb := newFleetGate(t, true)
	cfg := fleetQueueConfig(gb, 8, 5)
	cfg.Backends[0].MaxConcurrency = 2
	gw, url := startGateway(t, cfg)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 60 {
		wg.Go(func() {
			resp, _ := post(t, url, fleetChat(fmt.Sprint(i)), nexus.HeaderPriority, []string{"low", "normal", "high"}[i%3])
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, 60, codes[http.StatusOK]+codes[http.StatusTooManyRequests], codes)
	assert.Positive(t, codes[http.StatusOK])
	assert.Zero(t, gw.QueueDepth())
}

// TestFleetAffinity: the requests of a session go to one backend, the
// same for two gateway instances, keyed by the session headers or
// prompt_cache_key, and by user only when routing.affinity_user is on.
func TestFleetAffinity(t *testing.T) {
	t.Parallel()
	var bcs []nexus.BackendConfig
	for i := range 4 {
		be := nexustest.NewBackend(t, nexustest.Models("m"))
		bcs = append(bcs, backendConfig(fmt.Sprintf("b%d", i), be, 50))
	}
	cfgA := testConfig(bcs...)
	cfgB := testConfig(bcs...)
	cfgB.Routing.Strategy = "round_robin"
	cfgB.Routing.AffinityUser = true
	_, a := startGateway(t, cfgA)
	_, b := startGateway(t, cfgB)
	backendOf := func(base, body string, header ...string) (string, string) {
		resp, raw := post(t, base, body, header...)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
		return resp.Header.Get(nexus.HeaderBackend), resp.Header.Get(nexus.HeaderRouteReason)
	}
	used := map[string]bool{}
	for i := range 40 {
		sid := fmt.Sprintf("sess-%d", i)
		first, reason := backendOf(a, fleetChat("x"), nexus.HeaderSessionID, sid)
		assert.Equal(t, "affinity", reason)
		used[first] = true
		again, _ := backendOf(a, fleetChat("y"), "X-Claude-Code-Session-Id", sid)
		other, _ := backendOf(b, fleetChat("z"), nexus.HeaderSessionID, sid)
		byKey, _ := backendOf(b, `{"model":"m","prompt_cache_key":"`+sid+`","messages":[{"role":"user","content":"k"}]}`)
		byUser, _ := backendOf(b, `{"model":"m","user":"`+sid+`","messages":[{"role":"user","content":"k"}]}`)
		assert.Equal(t, []string{first, first, first, first}, []string{again, other, byKey, byUser}, sid)
	}
	assert.Greater(t, len(used), 1, "sessions spread over the backends")
	_, reason := backendOf(a, `{"model":"m","user":"u1","messages":[{"role":"user","content":"k"}]}`)
	assert.Equal(t, "highest_score", reason, "user is no session key unless affinity_user")
}

// TestFleetSaturatedSkipped: a backend whose fresh reading says it is
// saturated is passed over while another has room, and /v1/backends shows
// the reading.
func TestFleetSaturatedSkipped(t *testing.T) {
	t.Parallel()
	be1 := nexustest.NewBackend(t, nexustest.Models("m"))
	be2 := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("first", be1, 1), backendConfig("second", be2, 90))
	cfg.Signals.Enabled = true
	cfg.Signals.IntervalSeconds = 60 // readings stay fresh for 3 minutes
	gw, base := startGateway(t, cfg)
	b, _ := gw.Registry().Get("first")
	l := registry.NewLoad(time.Now())
	l.Running, l.Waiting, l.KVCacheUsage = 8, 30, 0.5
	b.SetLoad(l)

	resp, body := post(t, base, fleetChat("x"))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "second", resp.Header.Get(nexus.HeaderBackend))

	list := fleetBackends(t, base)
	require.NotNil(t, list["first"].Load)
	assert.Equal(t, 30, *list["first"].Load.Waiting)
	assert.InDelta(t, 0.5, *list["first"].Load.KVCacheUsage, 1e-9)
	assert.Nil(t, list["first"].Load.SlotsTotal)
	assert.False(t, list["first"].Load.Stale)
	assert.Nil(t, list["second"].Load)

	// /v1/stats shows the same reading; /metrics has it as gauges.
	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	var first, second metrics.BackendStats
	for _, b := range st.Backends {
		switch b.ID {
		case "first":
			first = b
		case "second":
			second = b
		}
	}
	require.NotNil(t, first.ReportedWaiting)
	assert.EqualValues(t, 30, *first.ReportedWaiting)
	assert.EqualValues(t, 8, *first.ReportedRunning)
	assert.InDelta(t, 0.5, *first.KVCacheUsage, 1e-9)
	assert.Nil(t, second.ReportedWaiting, "a backend that reported nothing shows nothing")
	_, f := promtest.Scrape(t, http.DefaultClient, base+"/metrics")
	assert.EqualValues(t, 30, f.Gauge("nexus_backend_reported_waiting", promtest.L("backend", "first")))
}

func fleetBackends(t *testing.T, base string) map[string]api.Backend {
	t.Helper()
	resp, err := http.Get(base + "/v1/backends")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list api.BackendList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	out := map[string]api.Backend{}
	for _, b := range list.Backends {
		out[b.Name] = b
	}
	return out
}

// waitForLoads yields until every named backend has a load reading, and
// fails the test after 10 s (a bound against hangs, not a speed check).
func waitForLoads(t *testing.T, gw *nexus.Gateway, names ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range names {
		b, _ := gw.Registry().Get(n)
		for b.Load() == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no load reading for backend %s within 10 s", n)
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	}
}

// TestFleetWarmFirst: with Ollama engines, the one that has the model
// loaded (its /api/ps, polled by the gateway) serves, with reason warm,
// although the other has the better priority; llama.cpp's slots become
// its capacity.
func TestFleetWarmFirst(t *testing.T) {
	t.Parallel()
	cold := nexustest.NewEngine(t, nexustest.EngineConfig{Type: nexustest.EngineOllama, Models: []string{"m"}, LoadTime: time.Millisecond, DecodeTime: -1})
	warm := nexustest.NewEngine(t, nexustest.EngineConfig{Type: nexustest.EngineOllama, Models: []string{"m"}, LoadTime: time.Millisecond, DecodeTime: -1})
	llama := nexustest.NewEngine(t, nexustest.EngineConfig{Type: nexustest.EngineLlamaCpp, Models: []string{"other"}, Slots: 3})
	resp, body := postPath(t, warm.URL(), "/v1/chat/completions", fleetChat("load it"))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	models := func(id string) []nexus.ModelConfig { return []nexus.ModelConfig{{ID: id}} }
	cfg := testConfig(
		nexus.BackendConfig{Name: "cold", URL: cold.URL(), Type: "ollama", Priority: 1, Models: models("m")},
		nexus.BackendConfig{Name: "warm", URL: warm.URL(), Type: "ollama", Priority: 90, Models: models("m")},
		nexus.BackendConfig{Name: "llama", URL: llama.URL(), Type: "llamacpp", Models: models("other")},
	)
	cfg.Routing.Affinity = false
	cfg.Signals.Enabled = true // reads every second (the default interval)
	gw, base := startGateway(t, cfg)
	waitForLoads(t, gw, "cold", "warm", "llama")

	for range 3 {
		resp, body := post(t, base, fleetChat("hi"))
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, "warm", resp.Header.Get(nexus.HeaderBackend))
		assert.Equal(t, "warm", resp.Header.Get(nexus.HeaderRouteReason))
	}
	assert.Zero(t, cold.Stats().ColdLoads, "the cold engine never had to load")

	list := fleetBackends(t, base)
	require.NotNil(t, list["warm"].Load)
	require.Len(t, list["warm"].Load.LoadedModels, 1)
	assert.Equal(t, "m", list["warm"].Load.LoadedModels[0].Name)
	assert.NotNil(t, list["cold"].Load.LoadedModels)
	assert.Empty(t, list["cold"].Load.LoadedModels)
	assert.Equal(t, 3, *list["llama"].Load.SlotsTotal)
	assert.Equal(t, 3, list["llama"].MaxConcurrency)
}

// TestFleetConfigValidate checks the [signals], [queue] and
// max_concurrency rules.
func TestFleetConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*nexus.Config)
		want   string // "" means valid
	}{
		{"defaults", func(*nexus.Config) {}, ""},
		{"zero interval means 1", func(c *nexus.Config) { c.Signals.IntervalSeconds = 0 }, ""},
		{"negative interval", func(c *nexus.Config) { c.Signals.IntervalSeconds = -1 }, "signals.interval_seconds: must be >= 0"},
		{"queue size", func(c *nexus.Config) { c.Queue.MaxSize = 0 }, "queue.max_size: must be >= 1"},
		{"queue wait", func(c *nexus.Config) { c.Queue.MaxWaitSeconds = 0 }, "queue.max_wait_seconds: must be > 0"},
		{"queue off ignores zeros", func(c *nexus.Config) { c.Queue = nexus.QueueConfig{} }, ""},
		{"max concurrency", func(c *nexus.Config) { c.Backends[0].MaxConcurrency = -2 }, "backends[0].max_concurrency: must be >= 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(nexus.BackendConfig{Name: "b", URL: "http://127.0.0.1:1", MaxConcurrency: 2})
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
		})
	}
}
