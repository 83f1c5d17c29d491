package nexus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// fileBackend is one [[backends]] entry of a test configuration file.
type fileBackend struct {
	name     string
	priority int
	listed   bool   // models listed in the file (else the gateway probes them)
	typ      string // default openai
}

// fileConfig is a test configuration file: the backends, the alias "fast"
// and anything else as raw TOML.
type fileConfig struct {
	backends []fileBackend
	fast     string // target of the alias "fast"
	extra    string // more [routing] keys
	invalid  bool   // an unknown strategy: must change nothing
}

// toml renders c with the backends' URLs from urls.
func (c fileConfig) toml(urls map[string]string) string {
	var b strings.Builder
	b.WriteString("[server]\nhost = \"127.0.0.1\"\nport = 8000\nfirst_byte_timeout = \"5s\"\n")
	b.WriteString("[discovery]\nenabled = false\n[health_check]\nenabled = false\n")
	b.WriteString("[routing]\n")
	if c.invalid {
		b.WriteString("strategy = \"warp\"\n")
	}
	b.WriteString(c.extra)
	fmt.Fprintf(&b, "[routing.aliases]\nfast = %q\n", c.fast)
	for _, be := range c.backends {
		typ := cmpOr(be.typ, "openai")
		fmt.Fprintf(&b, "[[backends]]\nname = %q\nurl = %q\ntype = %q\npriority = %d\n", be.name, urls[be.name], typ, be.priority)
		if be.listed {
			b.WriteString("models = [{ id = \"m1\" }, { id = \"m2\" }]\n")
		}
	}
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fileLoader reads path as `nexus serve` does: the file, then the
// environment (empty here).
func fileLoader(path string) func() (nexus.Config, []string, error) {
	return func() (nexus.Config, []string, error) {
		cfg, warnings, err := config.Load(path)
		if err != nil {
			return cfg, warnings, err
		}
		more, err := config.ApplyEnv(&cfg, func(string) (string, bool) { return "", false })
		return cfg, append(warnings, more...), err
	}
}

// writeFile replaces path's content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

// TestReloadUnderLoad changes the configuration file 20 times
// (backends added, removed, reprioritised, retyped, aliases, strategy and
// fallbacks changed, one invalid edit) while 50 clients stream and send
// plain requests through a real listener, reloading alternately through
// POST /v1/admin/reload and ReloadFromSource. No client sees an error,
// removed backends receive no request after their removal, the invalid
// edit changes nothing, and goroutines and connections are back at their
// baseline afterwards. It counts goroutines, so it does not run in
// parallel.
func TestReloadUnderLoad(t *testing.T) {
	names := []string{"A", "B", "C", "D", "E", "F"}
	fakes := map[string]*nexustest.Backend{}
	urls := map[string]string{}
	for _, n := range names {
		be := nexustest.NewBackend(t, nexustest.Name(n), nexustest.Models("m1", "m2"), nexustest.NoRecord(),
			nexustest.Stream("one ", "two ", "three"), nexustest.ChunkDelay(5*time.Millisecond))
		fakes[n], urls[n] = be, be.URL()
	}
	base := goleak.IgnoreCurrent()

	all := func(bs ...fileBackend) []fileBackend { return bs }
	A, B, C, D, E, F := fileBackend{name: "A", priority: 1, listed: true}, fileBackend{name: "B", priority: 2},
		fileBackend{name: "C", priority: 3, listed: true}, fileBackend{name: "D", priority: 4}, fileBackend{name: "E", priority: 5},
		fileBackend{name: "F", priority: 2}
	with := func(b fileBackend, prio int) fileBackend { b.priority = prio; return b }
	edits := []fileConfig{
		{backends: all(A, B, C, D, E), fast: "m1"}, // initial
		{backends: all(with(A, 5), with(B, 1), C, D, E), fast: "m1"},
		{backends: all(with(A, 5), with(B, 1), C, D, E), fast: "m2"},
		{backends: all(with(A, 5), with(B, 1), C, D, E, F), fast: "m2"},
		{backends: all(with(A, 5), with(B, 1), C, E, F), fast: "m2"}, // D removed for good
		{backends: all(with(A, 5), with(B, 1), with(C, 9), E, F), fast: "m1"},
		{backends: all(with(A, 5), with(B, 1), E, F), fast: "m1"},
		{backends: all(with(A, 5), with(B, 1), C, E, F), fast: "m1"},
		{backends: all(A), fast: "nothing", invalid: true}, // changes nothing
		{backends: all(with(A, 5), fileBackend{name: "B", priority: 1, typ: "vllm"}, C, E, F), fast: "m1"},
		{backends: all(with(A, 5), fileBackend{name: "B", priority: 1, typ: "vllm"}, C, F), fast: "m1"}, // E removed for good
		{backends: all(A, B, C, F), fast: "m2", extra: "strategy = \"round_robin\"\n"},
		{backends: all(A, B, C, F), fast: "m2", extra: "strategy = \"priority_only\"\n"},
		{backends: all(A, B, C), fast: "m2"},
		{backends: all(A, B, C, with(F, 1)), fast: "m2"},
		{backends: all(A, B, C, with(F, 1)), fast: "m1", extra: "max_retries = 3\n"},
		{backends: all(B, C, with(F, 1)), fast: "m1"},
		{backends: all(A, B, C, with(F, 1)), fast: "m1"},
		{backends: all(A, with(B, 7), C, with(F, 1)), fast: "m1"},
		{backends: all(A, with(B, 7), C, with(F, 1)), fast: "m2", extra: "[routing.fallbacks]\nm3 = [\"m1\"]\n"},
		{backends: all(A, B, C, F), fast: "m1"},
	}
	require.Len(t, edits, 21, "the initial file and 20 changes")

	path := filepath.Join(t.TempDir(), "nexus.toml")
	writeFile(t, path, edits[0].toml(urls))
	load := fileLoader(path)
	cfg, _, err := load()
	require.NoError(t, err)

	var inbound, outbound atomic.Int64
	dialer := &net.Dialer{}
	upstream := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			outbound.Add(1)
			return &countedConn{Conn: c, n: &outbound}, nil
		}}
	gw, err := nexus.New(cfg, nexus.WithHTTPClient(&http.Client{Transport: upstream}), nexus.WithConfigLoader(load))
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	srv := httptest.NewUnstartedServer(gw.Handler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			inbound.Add(1)
		case http.StateClosed, http.StateHijacked:
			inbound.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(func() { srv.Close(); _ = gw.Close() })

	// 50 clients, half streaming, asking for the alias and both models.
	const clients = 50
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	// Each request notes the epoch (the number of reloads done) when it
	// started and which backend answered it; for the backends removed for
	// good the test keeps how many requests they answered and the latest
	// epoch at which such a request started.
	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		epoch    atomic.Int64
		requests atomic.Int64
		mu       sync.Mutex
		problems []string
		served   = map[string]int64{} // by D and E
		latest   = map[string]int64{} // start epoch of their last request
	)
	for i := range clients {
		wg.Go(func() {
			model := []string{"fast", "m1", "m2"}[i%3]
			stream := i%2 == 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				ep := epoch.Load()
				by, err := chatOnce(client, srv.URL, model, stream)
				mu.Lock()
				if err != nil {
					problems = append(problems, err.Error())
				}
				if by == "D" || by == "E" {
					served[by]++
					latest[by] = max(latest[by], ep)
				}
				mu.Unlock()
				requests.Add(1)
			}
		})
	}
	removedAt := map[string]int64{} // epoch from which D and E are gone
	for i, edit := range edits[1:] {
		before := gw.Registry().Backends()
		router := gw.Router()
		writeFile(t, path, edit.toml(urls))
		var res nexus.ReloadResult
		if i%2 == 0 {
			resp, body := postPath(t, srv.URL, "/v1/admin/reload", "")
			if edit.invalid {
				require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
				assert.Contains(t, string(body), "routing.strategy")
			} else {
				require.Equal(t, http.StatusOK, resp.StatusCode, "edit %d: %s", i+1, body)
				require.NoError(t, json.Unmarshal(body, &res))
			}
		} else {
			res, err = gw.ReloadFromSource("test")
			if edit.invalid {
				require.ErrorContains(t, err, "routing.strategy")
			} else {
				require.NoError(t, err, "edit %d", i+1)
			}
		}
		if edit.invalid {
			assert.Equal(t, before, gw.Registry().Backends(), "an invalid file changes no backend")
			assert.Same(t, router, gw.Router(), "an invalid file keeps the router")
			last, ok := gw.LastReload()
			require.True(t, ok)
			assert.False(t, last.Success)
			assert.Contains(t, last.Error, "routing.strategy")
			continue
		}
		assert.True(t, res.Success)
		assert.Empty(t, res.RestartRequired)
		var want []string
		for _, b := range edit.backends {
			want = append(want, b.name)
		}
		slices.Sort(want)
		assert.Equal(t, want, backendNames(gw), "edit %d", i+1)
		assert.Equal(t, edit.fast, gw.Router().Resolve("fast"), "edit %d", i+1)
		e := epoch.Add(1)
		for _, gone := range res.Removed {
			if gone == "D" || gone == "E" {
				removedAt[gone] = e
			}
		}
		time.Sleep(25 * time.Millisecond) // let the clients run on this configuration
	}
	close(stop)
	wg.Wait()

	mu.Lock()
	assert.Empty(t, problems, "no client sees an error caused by a reload")
	mu.Unlock()
	assert.Greater(t, requests.Load(), int64(clients), "the clients ran")
	t.Logf("%d requests during 20 reloads; D answered %d, E %d", requests.Load(), served["D"], served["E"])
	require.Len(t, removedAt, 2)
	mu.Lock()
	for name, at := range removedAt {
		assert.Positive(t, served[name], "backend %s served before its removal", name)
		assert.Equal(t, served[name], fakes[name].ChatHits(), "every request backend %s received was one a client got its answer from", name)
		assert.Less(t, latest[name], at, "backend %s answered a request that started after its removal", name)
	}
	mu.Unlock()
	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 19, st.Reloads.Success)
	assert.EqualValues(t, 1, st.Reloads.Failure)

	// Back at the baseline: nothing pending, no connection, no goroutine.
	for _, b := range gw.Registry().Backends() {
		require.Eventually(t, func() bool { return b.Pending() == 0 }, 10*time.Second, 5*time.Millisecond)
	}
	client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	require.Eventually(t, func() bool { return inbound.Load() == 0 }, 10*time.Second, 5*time.Millisecond,
		"%d client connections still open", inbound.Load())
	srv.Close()
	require.NoError(t, gw.Close())
	require.Eventually(t, func() bool { upstream.CloseIdleConnections(); return outbound.Load() == 0 },
		10*time.Second, 5*time.Millisecond, "%d backend connections still open", outbound.Load())
	goleak.VerifyNone(t, base)
}

// chatOnce sends one chat request and checks its answer: a complete JSON
// reply, or a stream that ends with [DONE] and carries no error event. It
// returns the backend that answered.
func chatOnce(c *http.Client, base, model string, stream bool) (string, error) {
	body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	by := resp.Header.Get(nexus.HeaderBackend)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return by, fmt.Errorf("%s stream=%t: %d %s", model, stream, resp.StatusCode, b)
	}
	if !stream {
		var v struct {
			Choices []json.RawMessage `json:"choices"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Choices) == 0 {
			return by, fmt.Errorf("%s: bad reply (%v)", model, err)
		}
		return by, nil
	}
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: {\"error\"") {
			return by, fmt.Errorf("%s: error event %s", model, line)
		}
		done = done || line == "data: [DONE]"
	}
	if err := sc.Err(); err != nil || !done {
		return by, fmt.Errorf("%s: stream ended early (%v)", model, err)
	}
	return by, nil
}

// backendNames lists the gateway's backends, sorted.
func backendNames(gw *nexus.Gateway) []string {
	var out []string
	for _, b := range gw.Registry().Backends() {
		out = append(out, b.Name)
	}
	slices.Sort(out)
	return out
}

// TestReloadKeepsRuntimeBackends: backends added through the admin API and
// discovered ones survive a reload, unless the file names the same
// backend; the file's then wins.
func TestReloadKeepsRuntimeBackends(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("m"))
	manual := nexustest.NewBackend(t, nexustest.Models("manual-model"))
	gw, _ := startGateway(t, testConfig(backendConfig("a", a, 1)))
	for _, c := range []registry.Config{
		{Name: "kept", URL: manual.URL(), Source: registry.SourceManual},
		{Name: "taken", URL: manual.URL() + "/x", Source: registry.SourceManual},
		{Name: "mdns-box", URL: "http://192.0.2.1:11434", Source: registry.SourceMDNS},
	} {
		_, err := gw.Registry().Add(c)
		require.NoError(t, err)
	}

	cfg := testConfig(backendConfig("a", a, 1), backendConfig("taken", a, 3), backendConfig("b", a, 2))
	cfg.Backends[2].URL = "http://192.0.2.1:11434" // the discovered backend's URL: the file's wins
	cfg.Backends[2].Models = []nexus.ModelConfig{{ID: "m"}}
	res, err := gw.Reload(cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "taken"}, res.Added)
	assert.Empty(t, res.Removed)
	assert.Equal(t, []string{"a", "b", "kept", "taken"}, backendNames(gw))
	taken, _ := gw.Registry().Get("taken")
	assert.Equal(t, registry.SourceStatic, taken.Source)
	assert.Equal(t, a.URL(), taken.URL)
	kept, _ := gw.Registry().Get("kept")
	assert.Equal(t, registry.SourceManual, kept.Source)
}

// TestReloadChanges: what each kind of edit does, one reload at a time.
func TestReloadChanges(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("m"))
	b := nexustest.NewBackend(t, nexustest.Models("m", "other"))
	cfg := testConfig(backendConfig("a", a, 1))
	gw, url := startGateway(t, cfg)
	oldA, _ := gw.Registry().Get("a")

	t.Run("reprioritised backend keeps its models and status", func(t *testing.T) {
		next := cfg
		next.Backends = []nexus.BackendConfig{backendConfig("a", a, 9)}
		res, err := gw.Reload(next)
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, res.Changed)
		newA, _ := gw.Registry().Get("a")
		assert.NotSame(t, oldA, newA)
		assert.Equal(t, 9, newA.Priority)
		assert.True(t, newA.Healthy())
		assert.True(t, newA.Serves("m"))
		cfg = next
	})
	t.Run("added backend is probed before it appears", func(t *testing.T) {
		next := cfg
		next.Backends = append(slices.Clone(cfg.Backends), backendConfig("b", b, 1))
		res, err := gw.Reload(next)
		require.NoError(t, err)
		assert.Equal(t, []string{"b"}, res.Added)
		nb, ok := gw.Registry().Get("b")
		require.True(t, ok)
		assert.True(t, nb.Healthy())
		assert.True(t, nb.Serves("other"))
		cfg = next
	})
	t.Run("keys swapped", func(t *testing.T) {
		next := cfg
		next.Keys = []nexus.KeyConfig{{Name: "ops", Key: "sk-ops-123456", Role: "admin"}}
		res, err := gw.Reload(next)
		require.NoError(t, err)
		assert.True(t, res.KeysChanged)
		resp, _ := post(t, url, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		resp, body := post(t, url, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-ops-123456")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		cfg = next
	})
	t.Run("settings read at start are named", func(t *testing.T) {
		next := cfg
		next.Server.Port = 9999
		next.Server.RequestTimeoutSeconds = 10
		next.Logging.Level = "debug"
		res, err := gw.Reload(next)
		require.NoError(t, err)
		assert.Equal(t, []string{"logging.level", "server.port", "server.request_timeout_seconds"}, res.RestartRequired)
		cfg = next
	})
	t.Run("invalid configuration changes nothing", func(t *testing.T) {
		next := cfg
		next.Backends = nil
		next.Routing.Aliases = map[string]string{"x": "y", "y": "x"}
		before := gw.Registry().Backends()
		_, err := gw.Reload(next)
		require.ErrorContains(t, err, "routing.aliases")
		assert.Equal(t, before, gw.Registry().Backends())
		last, ok := gw.LastReload()
		require.True(t, ok)
		assert.False(t, last.Success)
	})
	t.Run("removed backend", func(t *testing.T) {
		next := cfg
		next.Backends = cfg.Backends[1:]
		res, err := gw.Reload(next)
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, res.Removed)
		assert.Equal(t, []string{"b"}, backendNames(gw))
	})
}

// TestReloadEndpoint: POST /v1/admin/reload needs an admin (a loopback
// client when no keys are set), answers 501 without a loader, and GET
// shows the last result.
func TestReloadEndpoint(t *testing.T) {
	t.Parallel()
	_, url := startGateway(t, testConfig())
	resp, body := postPath(t, url, "/v1/admin/reload", "")
	assert.Equal(t, http.StatusNotImplemented, resp.StatusCode, "%s", body)
	r, err := http.Get(url + "/v1/admin/reload")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode, "no reload yet")

	be := nexustest.NewBackend(t, nexustest.Models("m"))
	path := filepath.Join(t.TempDir(), "nexus.toml")
	writeFile(t, path, fileConfig{backends: []fileBackend{{name: "A", priority: 1}}, fast: "m"}.toml(map[string]string{"A": be.URL()}))
	cfg, _, err := fileLoader(path)()
	require.NoError(t, err)
	cfg.Keys = []nexus.KeyConfig{{Name: "user", Key: "sk-user-123456"}, {Name: "ops", Key: "sk-ops-123456", Role: "admin"}}
	gw, url := startGateway(t, cfg, nexus.WithConfigLoader(func() (nexus.Config, []string, error) {
		c, w, err := fileLoader(path)()
		c.Keys = cfg.Keys
		return c, w, err
	}))
	resp, _ = postPath(t, url, "/v1/admin/reload", "", "Authorization", "Bearer sk-user-123456")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a user key may not reload")
	resp, body = postPath(t, url, "/v1/admin/reload", "", "Authorization", "Bearer sk-ops-123456")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var res nexus.ReloadResult
	require.NoError(t, json.Unmarshal(body, &res))
	assert.True(t, res.Success)
	assert.Equal(t, "api", res.Trigger)

	req, _ := http.NewRequest(http.MethodGet, url+"/v1/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer sk-user-123456")
	r, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
	var shown nexus.ReloadResult
	require.NoError(t, json.NewDecoder(r.Body).Decode(&shown))
	last, _ := gw.LastReload()
	assert.Equal(t, last.Time.UnixNano(), shown.Time.UnixNano())
}
