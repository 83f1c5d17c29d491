package nexus_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/internal/replicatest"
	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/nexustest"
)

func TestLimitsConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limits nexus.LimitsConfig
		want   string // "" = valid
	}{
		{"default", nexus.LimitsConfig{}, ""},
		{"memory", nexus.LimitsConfig{Store: "memory"}, ""},
		{"redis", nexus.LimitsConfig{Store: "redis", RedisURL: "redis://127.0.0.1:6379/0", RedisTimeout: 50 * time.Millisecond}, ""},
		{"unknown store", nexus.LimitsConfig{Store: "sql"}, `limits.store: unknown "sql" (want memory or redis)`},
		{"redis without URL", nexus.LimitsConfig{Store: "redis"}, "limits.redis_url: a Redis URL is required"},
		{"bad scheme", nexus.LimitsConfig{Store: "redis", RedisURL: "http://:s3cret@cache:6379"}, "limits.redis_url: redis: invalid URL scheme: http"},
		{"bad URL", nexus.LimitsConfig{Store: "redis", RedisURL: "redis://:s3cret@[::1"}, "limits.redis_url: not a valid URL"},
		{"negative timeout", nexus.LimitsConfig{RedisTimeout: -time.Second}, "limits.redis_timeout: must be a duration up to 1m"},
		{"long probe interval", nexus.LimitsConfig{RedisProbeInterval: time.Hour}, "limits.redis_probe_interval: must be a duration up to 1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := nexus.DefaultConfig()
			cfg.Limits = tc.limits
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
	cfg := nexus.DefaultConfig()
	cfg.Limits = nexus.LimitsConfig{Store: "redis", RedisURL: "redis://:s3cret@cache:6379/0"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		assert.NotContains(t, out, "s3cret", verb)
	}
	assert.Contains(t, fmt.Sprintf("%+v", cfg.Limits), "redis://:xxxxx@cache:6379/0")
}

// sharedConfig is a gateway with one key limited to rpm requests per minute
// whose budget lives in srv under prefix.
func sharedConfig(be *nexustest.Backend, srv *replicatest.Redis, prefix string, rpm int64) nexus.Config {
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{{Name: "team", Key: "sk-shared-team", RequestsPerMinute: rpm}}
	cfg.Limits = nexus.LimitsConfig{
		Store: nexus.LimitStoreRedis, RedisURL: srv.URL(), RedisKeyPrefix: prefix,
		RedisTimeout: time.Second, RedisProbeInterval: 10 * time.Millisecond,
	}
	return cfg
}

// TestSharedLimitsAcrossGateways: two gateways configured with the same
// Redis share a key's requests per minute; with Redis down they keep
// serving, each on its own limits, stay ready and say so in /metrics; when
// Redis returns they share again.
func TestSharedLimitsAcrossGateways(t *testing.T) {
	t.Parallel()
	srv := replicatest.StartRedis(t)
	be := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.NoRecord())
	const key = "sk-shared-team"
	var urls []string
	for range 2 {
		_, url := startGateway(t, sharedConfig(be, srv, t.Name()+":", 4))
		urls = append(urls, url)
	}
	body := `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`
	send := func(n int) (allowed int) {
		for i := range n {
			resp, b := post(t, urls[i%2], body, "Authorization", "Bearer "+key)
			switch resp.StatusCode {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
				assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			default:
				t.Errorf("HTTP %d: %s", resp.StatusCode, b)
			}
		}
		return allowed
	}
	assert.Equal(t, 4, send(10), "4 per minute across both gateways")
	for _, url := range urls {
		assert.Equal(t, "1", scrapeValue(t, url, key, "nexus_limits_store_up"))
	}

	srv.Stop()
	assert.Equal(t, 4, send(10), "in memory: each gateway has used 2 of its own 4")
	for _, url := range urls {
		resp, err := http.Get(url + "/ready")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "a Redis outage is not an outage of inference")
		assert.Equal(t, "0", scrapeValue(t, url, key, "nexus_limits_store_up"))
		assert.Equal(t, "1", scrapeValue(t, url, key, "nexus_limits_store_outages_total"))
		assert.NotEqual(t, "0", scrapeValue(t, url, key, "nexus_limits_local_decisions_total"))
	}

	srv.Start() // empty: full buckets
	for _, url := range urls {
		deadline := time.Now().Add(10 * time.Second)
		for scrapeValue(t, url, key, "nexus_limits_store_up") != "1" {
			require.True(t, time.Now().Before(deadline), "shared again within 10 s")
			time.Sleep(10 * time.Millisecond)
		}
	}
	assert.Equal(t, 4, send(10), "shared again")
}

// refusingStore refuses every request, for WithLimitStore.
type refusingStore struct{}

func (refusingStore) Take(int, time.Time) limits.Decision {
	return limits.Decision{Reason: limits.ReasonRequests, RetryAfter: 7 * time.Second,
		Requests: limits.Window{Limit: 1, Reset: 7 * time.Second}}
}
func (refusingStore) Charge(int, int64, time.Time) {}

func TestWithLimitStore(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.NoRecord())
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{{Name: "team", Key: "sk-team-1", RequestsPerMinute: 100}}
	var got []limits.Limit
	_, url := startGateway(t, cfg, nexus.WithLimitStore(func(l []limits.Limit) (limits.Store, error) {
		got = l
		return refusingStore{}, nil
	}))
	assert.Equal(t, []limits.Limit{{Name: "team", RequestsPerMinute: 100}}, got)
	resp, _ := post(t, url, `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-team-1")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
}

// scrapeValue returns the value of an unlabelled metric on base's /metrics.
func scrapeValue(t *testing.T, base, key, name string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return ""
}
