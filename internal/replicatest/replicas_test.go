package replicatest_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/internal/replicatest"
	"github.com/nexusllm/nexus/nexustest"
)

// perMinute is the requests per minute of the limited keys: with three
// replicas, a per-replica limit would let 3×perMinute through.
const perMinute = 10

// Secrets of the keys, passed to the gateways through the environment.
var keyEnv = map[string]string{
	"TEAM_A_KEY": "sk-replicas-team-a", // limited: shared limit with Redis up
	"TEAM_B_KEY": "sk-replicas-team-b", // limited: used while Redis is down
	"TEAM_C_KEY": "sk-replicas-team-c", // limited: used once Redis is back
	"LOAD_KEY":   "sk-replicas-load",   // unlimited: affinity and load
}

// gatewayConfig is one replica's nexus.toml: every replica has the same
// backends, keys and Redis, and only its port differs.
func gatewayConfig(port int, redisURL string, backends []*nexustest.Backend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[server]
host = "127.0.0.1"
port = %d
shutdown_timeout = "1s"

[discovery]
enabled = false

[health_check]
interval_seconds = 1
timeout_seconds = 1

[routing]
affinity = true

[limits]
store = "redis"
redis_url = %q
redis_timeout = "500ms"
redis_probe_interval = "100ms"
redis_key_prefix = "replicas:"

[logging]
level = "warn"
format = "json"
`, port, redisURL)
	for _, k := range []struct{ name, env string }{{"team-a", "TEAM_A_KEY"}, {"team-b", "TEAM_B_KEY"}, {"team-c", "TEAM_C_KEY"}} {
		fmt.Fprintf(&b, "\n[[keys]]\nname = %q\nkey_env = %q\nrequests_per_minute = %d\n", k.name, k.env, perMinute)
	}
	b.WriteString("\n[[keys]]\nname = \"load\"\nkey_env = \"LOAD_KEY\"\n")
	for _, be := range backends {
		fmt.Fprintf(&b, "\n[[backends]]\nname = %q\nurl = %q\n[[backends.models]]\nid = \"m\"\n", be.Name(), be.URL())
	}
	return b.String()
}

// TestReplicasBehindHAProxy runs three `nexus serve` processes behind
// HAProxy (round-robin, health check GET /ready), all with the same three
// backends and the same redis-server, and shows what must hold for a fleet:
// a per-key limit holds for the fleet; one session's requests reach one
// backend whichever replica serves them; a Redis outage leaves inference
// working on local limits, and shared limits resume when Redis returns;
// killing a replica loses only the requests in flight on it, and the
// balancer stops sending to it.
func TestReplicasBehindHAProxy(t *testing.T) {
	replicatest.RequireTool(t, "haproxy", "haproxy")
	redis := replicatest.StartRedis(t)
	built := time.Now()
	bin := replicatest.BuildNexus(t)
	t.Logf("./cmd/nexus built in %v", time.Since(built).Round(time.Millisecond))
	began := time.Now()
	defer func() { t.Logf("fleet test took %v after the build", time.Since(began).Round(time.Millisecond)) }()

	var backends []*nexustest.Backend
	for i := range 3 {
		backends = append(backends, nexustest.NewBackend(t, nexustest.Name(fmt.Sprintf("b%d", i+1)), nexustest.Models("m"), nexustest.NoRecord()))
	}
	var env []string
	for k, v := range keyEnv {
		env = append(env, k+"="+v)
	}
	names := []string{"r1", "r2", "r3"}
	gateways := map[string]*replicatest.Gateway{}
	servers := map[string]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, name := range names {
		port := replicatest.FreePort(t)
		wg.Go(func() { // start the three at once
			g := replicatest.StartGateway(t, bin, name, port, gatewayConfig(port, redis.URL(), backends), env...)
			mu.Lock()
			gateways[name], servers[name] = g, g.Addr()
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	lb := replicatest.StartHAProxy(t, "/ready", names, servers)
	c := newClient(t, lb.URL())

	t.Run("session affinity across replicas", func(t *testing.T) {
		used := map[string]bool{}
		for s := range 8 {
			session := fmt.Sprintf("session-%d", s)
			backend, replicas := "", map[string]bool{}
			for range 6 {
				r := c.chat(keyEnv["LOAD_KEY"], session)
				require.Equal(t, http.StatusOK, r.status, r.body)
				if backend == "" {
					backend = r.backend
				}
				assert.Equal(t, backend, r.backend, "%s moved from %s (replica %s)", session, backend, r.replica)
				replicas[r.replica] = true
			}
			assert.Len(t, replicas, 3, "%s was served by every replica (round-robin)", session)
			used[backend] = true
		}
		assert.GreaterOrEqual(t, len(used), 2, "sessions spread over the backends: %v", used)
	})

	// limited sends n requests of key and returns how many were allowed;
	// the others must be 429 with Retry-After, and none anything else.
	limited := func(t *testing.T, key string, n int) (allowed int) {
		replicas := map[string]int{}
		for range n {
			r := c.chat(keyEnv[key], "")
			switch r.status {
			case http.StatusOK:
				allowed++
				replicas[r.replica]++
			case http.StatusTooManyRequests:
				assert.NotEmpty(t, r.retryAfter, "a 429 says when to retry")
			default:
				t.Errorf("%s: HTTP %d from %s: %s", key, r.status, r.replica, r.body)
			}
		}
		t.Logf("%s: %d of %d allowed, by replica %v", key, allowed, n, replicas)
		return allowed
	}

	t.Run("per-key limit holds for the fleet", func(t *testing.T) {
		allowed := limited(t, "TEAM_A_KEY", 3*perMinute)
		// ±1: the bucket refills one request per 6 s while the test runs.
		assert.InDelta(t, perMinute, allowed, 1, "%d requests/minute across three replicas, not %d", perMinute, 3*perMinute)
	})

	t.Run("Redis down: local limits, inference goes on", func(t *testing.T) {
		redis.Stop()
		allowed := limited(t, "TEAM_B_KEY", 3*perMinute)
		assert.Greater(t, allowed, perMinute+1, "each replica decides on its own while Redis is down")
		for _, name := range names {
			g := gateways[name]
			assert.Equal(t, http.StatusOK, get(t, g.URL()+"/ready", ""), "%s stays ready", name)
			assert.Equal(t, "0", metric(t, g, "nexus_limits_store_up"), name)
			assert.Equal(t, "1", metric(t, g, "nexus_limits_store_outages_total"), name)
		}
		assert.Equal(t, http.StatusOK, c.chat(keyEnv["LOAD_KEY"], "").status)
	})

	t.Run("Redis back: shared limits resume", func(t *testing.T) {
		redis.Start()
		for _, name := range names {
			g := gateways[name]
			waitFor(t, name+" shares limits again", func() bool { return metric(t, g, "nexus_limits_store_up") == "1" })
		}
		allowed := limited(t, "TEAM_C_KEY", 3*perMinute)
		assert.InDelta(t, perMinute, allowed, 1, "shared again")
	})

	t.Run("a killed replica loses only its requests in flight", func(t *testing.T) {
		for _, b := range backends {
			b.SetDelay(50 * time.Millisecond) // so that requests are in flight
		}
		const workers = 6
		var (
			killed    atomic.Bool
			completed atomic.Int64
			stop      = make(chan struct{})
			mu        sync.Mutex
			lost      []string // requests that failed, and whether they started before the kill
			after     = map[string]int{}
		)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					before := !killed.Load()
					r := c.chat(keyEnv["LOAD_KEY"], fmt.Sprintf("w%d-%d", w, i))
					completed.Add(1)
					mu.Lock()
					if r.status != http.StatusOK {
						lost = append(lost, fmt.Sprintf("started before the kill: %v, HTTP %d %s", before, r.status, r.err))
						if !before {
							t.Errorf("a request started after the kill failed: HTTP %d %s %s", r.status, r.err, r.body)
						}
					} else if !before {
						after[r.replica]++
					}
					mu.Unlock()
				}
			})
		}
		waitFor(t, "load running", func() bool { return completed.Load() >= 3*workers })
		gateways["r2"].Kill()
		killed.Store(true)
		lb.WaitStatus(t, "r2", "DOWN")
		n := completed.Load()
		waitFor(t, "load after r2 is down", func() bool { return completed.Load() >= n+5*workers })
		close(stop)
		wg.Wait()

		mu.Lock()
		defer mu.Unlock()
		t.Logf("lost %d: %v; served after the kill, by replica: %v", len(lost), lost, after)
		assert.LessOrEqual(t, len(lost), workers, "at most the requests in flight on r2")
		assert.Zero(t, after["r2"], "nothing is served by a dead replica")
		assert.Positive(t, after["r1"])
		assert.Positive(t, after["r3"])
	})
}

// client sends chat requests through the balancer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: base, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// reply is what the test needs of a response.
type reply struct {
	status                             int
	backend, replica, retryAfter, body string
	err                                string // transport error, for a lost request
}

// chat sends one chat request with key and, when not empty, a session id.
// A transport error is reported as status 0.
func (c *client) chat(key, session string) reply {
	req, err := http.NewRequest(http.MethodPost, c.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("X-Nexus-Session-Id", session)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{err: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{
		status:     resp.StatusCode,
		backend:    resp.Header.Get("X-Nexus-Backend"),
		replica:    resp.Header.Get(replicatest.HeaderReplica),
		retryAfter: resp.Header.Get("Retry-After"),
		body:       string(body),
	}
}

// get returns the status of GET url, 0 on a transport error.
func get(t *testing.T, url, key string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the value of an unlabelled metric on g's /metrics, "" if
// absent.
func metric(t *testing.T, g *replicatest.Gateway, name string) string {
	req, err := http.NewRequest(http.MethodGet, g.URL()+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+keyEnv["LOAD_KEY"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return ""
}

// waitFor polls ok every 20 ms until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
