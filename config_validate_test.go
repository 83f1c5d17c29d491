package nexus

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// validConfig is a valid configuration with two backends.
func validConfig() Config {
	cfg := DefaultConfig()
	cfg.Backends = []BackendConfig{
		{Name: "local", URL: "http://127.0.0.1:11434", Type: "ollama", Priority: 50,
			Models: []ModelConfig{{ID: "llama3:8b"}}},
		{Name: "gpu", URL: "https://gpu.example:8443", Type: "vllm", Priority: 0},
	}
	cfg.Routing.Aliases = map[string]string{"fast": "llama3:8b"}
	cfg.Routing.Fallbacks = map[string][]string{"llama3:70b": {"llama3:8b"}}
	cfg.Logging.ComponentLevels = map[string]string{"routing": "debug"}
	return cfg
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // each must be one line of the error
	}{
		{"port zero", func(c *Config) { c.Server.Port = 0 }, []string{"server.port: must be 1-65535 (got 0)"}},
		{"port too big", func(c *Config) { c.Server.Port = 70000 }, []string{"server.port: must be 1-65535 (got 70000)"}},
		{"empty host", func(c *Config) { c.Server.Host = "" }, []string{`server.host: invalid host ""`}},
		{"host with port", func(c *Config) { c.Server.Host = "localhost:80" }, []string{`server.host: invalid host "localhost:80"`}},
		{"host with scheme", func(c *Config) { c.Server.Host = "http://x" }, []string{`server.host: invalid host "http://x"`}},
		{"bracketed ipv6", func(c *Config) { c.Server.Host = "[::1]" }, []string{`server.host: invalid host "[::1]"`}},
		{"request timeout", func(c *Config) { c.Server.RequestTimeoutSeconds = 0 },
			[]string{"server.request_timeout_seconds: must be > 0 (got 0)"}},
		{"request timeout huge", func(c *Config) { c.Server.RequestTimeoutSeconds = 1 << 40 },
			[]string{"server.request_timeout_seconds: must be at most"}},
		{"max concurrent", func(c *Config) { c.Server.MaxConcurrentRequests = -1 },
			[]string{"server.max_concurrent_requests: must be >= 0"}},
		{"empty api key", func(c *Config) { c.Server.APIKeys = []string{"ok", ""} },
			[]string{"server.api_keys[1]: must be non-empty"}},
		{"api key with space", func(c *Config) { c.Server.APIKeys = []string{"sec ret"} },
			[]string{"server.api_keys[0]: must be non-empty and contain no whitespace"}},
		{"empty service type", func(c *Config) { c.Discovery.ServiceTypes = []string{" "} },
			[]string{"discovery.service_types[0]: empty service type"}},
		{"grace period", func(c *Config) { c.Discovery.GracePeriodSeconds = -1 },
			[]string{"discovery.grace_period_seconds: must be >= 0 (got -1)"}},
		{"interval", func(c *Config) { c.HealthCheck.IntervalSeconds = 0 },
			[]string{"health_check.interval_seconds: must be > 0 (got 0)"}},
		{"probe timeout", func(c *Config) { c.HealthCheck.TimeoutSeconds = -5 },
			[]string{"health_check.timeout_seconds: must be > 0 (got -5)"}},
		{"thresholds", func(c *Config) { c.HealthCheck.FailureThreshold, c.HealthCheck.RecoveryThreshold = 0, 0 },
			[]string{"health_check.failure_threshold: must be >= 1 (got 0)", "health_check.recovery_threshold: must be >= 1 (got 0)"}},
		{"strategy", func(c *Config) { c.Routing.Strategy = "fastest" },
			[]string{`routing.strategy: unknown "fastest" (want smart, round_robin, priority_only, random)`}},
		{"max retries", func(c *Config) { c.Routing.MaxRetries = -1 }, []string{"routing.max_retries: must be >= 0 (got -1)"}},
		{"weights", func(c *Config) { c.Routing.Weights = RoutingWeights{Priority: -1, Load: 1, Latency: -2} },
			[]string{"routing.weights.priority: must be >= 0 (got -1)", "routing.weights.latency: must be >= 0 (got -2)"}},
		// New would fail on these (routing.ParseStrategy), so Validate does.
		{"zero weights", func(c *Config) { c.Routing.Weights = RoutingWeights{} },
			[]string{"routing.weights: at least one weight must be positive"}},
		{"alias cycle", func(c *Config) { c.Routing.Aliases = map[string]string{"a": "b", "b": "a"} },
			[]string{`routing.aliases: circular alias "a" -> "b" -> "a"`}},
		{"self alias", func(c *Config) { c.Routing.Aliases = map[string]string{"x": "x"} },
			[]string{`routing.aliases: circular alias "x" -> "x"`}},
		{"empty alias target", func(c *Config) { c.Routing.Aliases = map[string]string{"gpt-4.1": ""} },
			[]string{`routing.aliases."gpt-4.1": empty target`}},
		{"empty alias name", func(c *Config) { c.Routing.Aliases = map[string]string{"": "m"} },
			[]string{"routing.aliases: empty alias name"}},
		{"empty fallback chain", func(c *Config) { c.Routing.Fallbacks = map[string][]string{"m": {}} },
			[]string{"routing.fallbacks.m: empty chain"}},
		{"fallback entries", func(c *Config) { c.Routing.Fallbacks = map[string][]string{"m": {"n", "", "m"}} },
			[]string{"routing.fallbacks.m[1]: empty model name", `routing.fallbacks.m[2]: "m" falls back to itself`}},
		{"backend name required", func(c *Config) { c.Backends[0].Name = "" }, []string{"backends[0].name: required"}},
		{"backend name control char", func(c *Config) { c.Backends[0].Name = "a\nb" },
			[]string{"backends[0].name: must not contain control characters"}},
		{"backend name duplicate", func(c *Config) {
			c.Backends = append(c.Backends, BackendConfig{Name: "gpu", URL: "http://127.0.0.1:1"})
		}, []string{`backends[2].name: duplicate "gpu"`}},
		{"backend url required", func(c *Config) { c.Backends[1].URL = "" }, []string{"backends[1].url: required"}},
		{"backend url scheme", func(c *Config) { c.Backends[1].URL = "ftp://x" },
			[]string{`backends[1].url: invalid URL "ftp://x" (want http:// or https://)`}},
		{"backend url no host", func(c *Config) { c.Backends[1].URL = "http://" },
			[]string{`backends[1].url: invalid URL "http://" (want http:// or https://)`}},
		{"backend url bare host", func(c *Config) { c.Backends[1].URL = "localhost:8000" },
			[]string{`backends[1].url: invalid URL "localhost:8000" (want http:// or https://)`}},
		{"backend url unparsable", func(c *Config) { c.Backends[1].URL = "http://[::1" },
			[]string{`backends[1].url: invalid URL "http://[::1" (want http:// or https://)`}},
		{"backend url query", func(c *Config) { c.Backends[1].URL = "http://x/?a=1" },
			[]string{`backends[1].url: invalid URL "http://x/?a=1" (a base URL has no query or fragment)`}},
		{"backend url credentials", func(c *Config) { c.Backends[1].URL = "http://me:s3cret@x:8000" },
			[]string{`backends[1].url: credentials in the URL are not allowed (http://x:8000); put the key in the environment variable named by api_key_env`}},
		{"backend type", func(c *Config) { c.Backends[0].Type = "foo" },
			[]string{`backends[0].type: unknown type "foo" (want ollama, vllm, llamacpp, sglang, exo, openai, lmstudio, anthropic, generic)`}},
		{"backend priority", func(c *Config) { c.Backends[0].Priority = -1 }, []string{"backends[0].priority: must be >= 0 (got -1)"}},
		{"backend key env", func(c *Config) { c.Backends[0].APIKeyEnv = "1BAD NAME" },
			[]string{`backends[0].api_key_env: invalid environment variable name "1BAD NAME"`}},
		{"model id required", func(c *Config) { c.Backends[0].Models = append(c.Backends[0].Models, ModelConfig{}) },
			[]string{"backends[0].models[1].id: required"}},
		{"model id duplicate", func(c *Config) {
			c.Backends[0].Models = append(c.Backends[0].Models, ModelConfig{ID: "llama3:8b"})
		}, []string{`backends[0].models[1].id: duplicate "llama3:8b"`}},
		{"model context length", func(c *Config) { c.Backends[0].Models[0].ContextLength = -1 },
			[]string{"backends[0].models[0].context_length: must be >= 0 (got -1)"}},
		{"log level", func(c *Config) { c.Logging.Level = "loud" },
			[]string{`logging.level: unknown "loud" (want debug, info, warn, error)`}},
		{"log format", func(c *Config) { c.Logging.Format = "xml" }, []string{`logging.format: unknown "xml" (want pretty, json)`}},
		{"component level", func(c *Config) { c.Logging.ComponentLevels["proxy"] = "verbose" },
			[]string{`logging.component_levels.proxy: unknown level "verbose"`}},
		{"several at once", func(c *Config) { c.Server.Port = -1; c.Backends[0].Name = "" },
			[]string{"server.port: must be 1-65535 (got -1)", "backends[0].name: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), err.Error())
			for i, w := range tt.want {
				assert.True(t, strings.HasPrefix(lines[i], w), "line %q does not start with %q", lines[i], w)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"defaults with backends", func(*Config) {}},
		{"no backends", func(c *Config) { c.Backends = nil }},
		{"health check disabled ignores interval", func(c *Config) {
			c.HealthCheck.Enabled, c.HealthCheck.IntervalSeconds, c.HealthCheck.TimeoutSeconds = false, 0, 0
		}},
		{"ipv6 host", func(c *Config) { c.Server.Host = "::" }},
		{"hostname", func(c *Config) { c.Server.Host = "gateway.local" }},
		{"port bounds", func(c *Config) { c.Server.Port = 65535 }},
		{"empty type means generic", func(c *Config) { c.Backends[0].Type = "" }},
		{"llama.cpp spelling", func(c *Config) { c.Backends[0].Type = "llama.cpp" }},
		{"trace and text", func(c *Config) { c.Logging.Level, c.Logging.Format = "trace", "text" }},
		{"url with path", func(c *Config) { c.Backends[0].URL = "http://127.0.0.1:8080/prefix/" }},
		{"alias chain without cycle", func(c *Config) {
			c.Routing.Aliases = map[string]string{"a": "b", "b": "c", "c": "d", "d": "e"}
		}},
		{"one weight", func(c *Config) { c.Routing.Weights = RoutingWeights{Load: 1} }},
		{"strategy in any case, as routing.ParseStrategy reads it", func(c *Config) { c.Routing.Strategy = " Round_Robin" }},
		{"log level and format in any case", func(c *Config) { c.Logging.Level, c.Logging.Format = "WARNING", "JSON" }},
		{"empty log level and format mean info and pretty", func(c *Config) { c.Logging.Level, c.Logging.Format = "", "" }},
		{"every registry type", func(c *Config) {
			for _, typ := range registry.Types() {
				c.Backends = append(c.Backends, BackendConfig{Name: string(typ), URL: "http://127.0.0.1:1", Type: string(typ)})
			}
		}},
		{"zero retries", func(c *Config) { c.Routing.MaxRetries = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tt.mutate(&cfg)
			assert.NoError(t, cfg.Validate())
		})
	}
}

func TestAliasCycles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		aliases map[string]string
		want    []string
	}{
		{"none", map[string]string{"a": "b", "b": "c"}, nil},
		{"empty", nil, nil},
		{"self", map[string]string{"a": "a"}, []string{`"a" -> "a"`}},
		{"two", map[string]string{"b": "a", "a": "b"}, []string{`"a" -> "b" -> "a"`}},
		{"tail into cycle reported once", map[string]string{"a": "x", "x": "y", "y": "x", "z": "a"},
			[]string{`"x" -> "y" -> "x"`}},
		{"two separate cycles", map[string]string{"a": "b", "b": "a", "c": "d", "d": "e", "e": "c"},
			[]string{`"a" -> "b" -> "a"`, `"c" -> "d" -> "e" -> "c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, aliasCycles(tt.aliases))
		})
	}
}
