package config_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

func ptr[T any](v T) *T { return &v }

func TestParseEmptyIsDefault(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "# only a comment\n", "[server]\n[routing.weights]\n"} {
		parsed, warnings, err := config.Parse([]byte(doc))
		require.NoError(t, err, doc)
		assert.Empty(t, warnings, doc)
		assert.Equal(t, nexus.DefaultConfig(), parsed, doc)
	}
}

func fullConfig() nexus.Config {
	return nexus.Config{
		Server: nexus.ServerConfig{Host: "127.0.0.1", Port: 9090, RequestTimeoutSeconds: 120,
			MaxConcurrentRequests: 64, APIKeys: []string{"gw-key-one", "gw-key-two"},
			ConnectTimeout: 2 * time.Second, FirstByteTimeout: 90 * time.Second,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 30 * time.Second},
		Discovery: nexus.DiscoveryConfig{ServiceTypes: []string{"_custom._tcp.local."}, GracePeriodSeconds: 15, MaxBackends: 64},
		HealthCheck: nexus.HealthCheckConfig{IntervalSeconds: 10, TimeoutSeconds: 2,
			FailureThreshold: 5, RecoveryThreshold: 4, PassiveFailureThreshold: 3, PassiveCooldownSeconds: 30},
		Routing: nexus.RoutingConfig{
			Strategy:  "round_robin",
			Weights:   nexus.RoutingWeights{Priority: 60, Load: 25, Latency: 15},
			Aliases:   map[string]string{"gpt-4": "llama3:70b", "fast": "llama3:8b"},
			Fallbacks: map[string][]string{"llama3:70b": {"qwen2.5:72b", "llama3:8b"}},

			AffinityUser: true,
		},
		Signals: nexus.SignalsConfig{IntervalSeconds: 5},
		Queue:   nexus.QueueConfig{MaxSize: 10, MaxWaitSeconds: 5},
		Backends: []nexus.BackendConfig{
			{Name: "local", URL: "http://localhost:11434", Type: "ollama", Priority: 0},
			{Name: "gpu", URL: "https://gpu.example.internal:8443/prefix", Type: "llamacpp",
				Priority: 50, APIKeyEnv: "GPU_KEY", MaxConcurrency: 4, Models: []nexus.ModelConfig{
					{ID: "llama3:70b", ContextLength: 8192, Vision: ptr(false), Tools: ptr(true)},
					{ID: "qwen2.5:72b"},
				}},
		},
		Logging: nexus.LoggingConfig{Level: "debug", Format: "json", EnableContentLogging: true,
			ComponentLevels: map[string]string{"routing": "warn", "health": "error"}},
	}
}

func TestParseFullFile(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := config.Load(filepath.Join("testdata", "full.toml"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, fullConfig(), cfg)
	require.NoError(t, cfg.Validate())

	// Round trip: encoding the parsed config and parsing it again is lossless.
	var buf bytes.Buffer
	require.NoError(t, toml.NewEncoder(&buf).Encode(cfg))
	again, warnings, err := config.Parse(buf.Bytes())
	require.NoError(t, err, buf.String())
	assert.Empty(t, warnings)
	assert.Equal(t, cfg, again)
}

func TestParsePartialKeepsDefaults(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := config.Parse([]byte("[server]\nport = 9000\n[routing.weights]\nlatency = 70\n"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	want := nexus.DefaultConfig()
	want.Server.Port = 9000
	want.Routing.Weights.Latency = 70
	assert.Equal(t, want, cfg)
}

func TestParseNormalizes(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Parse([]byte(`
[discovery]
service_types = ["_a._tcp.local", "_b._tcp.local."]
[routing]
strategy = "Priority_Only"
[[backends]]
name = "x"
url = "http://127.0.0.1:1"
type = "Llama.CPP"
[logging]
level = "TRACE"
format = "text"
component_levels = { proxy = "Warning" }
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"_a._tcp.local.", "_b._tcp.local."}, cfg.Discovery.ServiceTypes)
	assert.Equal(t, "priority_only", cfg.Routing.Strategy)
	assert.Equal(t, "llamacpp", cfg.Backends[0].Type)
	assert.Equal(t, "debug", cfg.Logging.Level)
	assert.Equal(t, "pretty", cfg.Logging.Format)
	assert.Equal(t, map[string]string{"proxy": "warn"}, cfg.Logging.ComponentLevels)
	require.NoError(t, cfg.Validate())
}

func TestParseUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"top level", "colour = 1\n", []string{`unknown config key "colour"`}},
		{"nested", "[server]\nprot = 1\nport = 2\n", []string{`unknown config key "server.prot"`}},
		{"unknown table reported once", "[servre]\nport = 1\nhost = \"x\"\n",
			[]string{`unknown config key "servre"`}},
		{"deep", "[routing.weights]\nspeed = 3\n", []string{`unknown config key "routing.weights.speed"`}},
		{"inside second backend", `
[[backends]]
name = "a"
url = "http://127.0.0.1:1"
[[backends]]
nmae = "b"
url = "http://127.0.0.1:2"
`, []string{`unknown config key "backends[1].nmae"`}},
		{"same key in two backends", `
[[backends]]
zone = "a"
[[backends]]
name = "b"
[[backends]]
zone = "c"
`, []string{`unknown config key "backends[0].zone"`, `unknown config key "backends[2].zone"`}},
		{"inside backend models", `
[[backends]]
name = "a"
[[backends.models]]
id = "m"
[[backends.models]]
id = "n"
context = 5
`, []string{`unknown config key "backends[0].models[1].context"`}},
		{"inline backends", `backends = [{name = "a"}, {name = "b", tier = 1}]`,
			[]string{`unknown config key "backends[1].tier"`}},
		{"quoted key", "[server]\n\"my key\" = 1\n", []string{`unknown config key "server.\"my key\""`}},
		{"map keys are not unknown", "[routing.aliases]\nanything = \"x\"\n[logging.component_levels]\nwhatever = \"debug\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, warnings, err := config.Parse([]byte(tt.doc))
			require.NoError(t, err)
			assert.Equal(t, tt.want, warnings)
		})
	}
}

func TestParseBackendPriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []int
	}{
		{"absent means 50", "[[backends]]\nname = \"a\"\n", []int{50}},
		{"explicit zero kept", "[[backends]]\nname = \"a\"\npriority = 0\n", []int{0}},
		{"explicit value", "[[backends]]\nname = \"a\"\npriority = 7\n", []int{7}},
		{"mixed", "[[backends]]\npriority = 0\n[[backends]]\nname = \"b\"\n[[backends]]\npriority = 3\n",
			[]int{0, 50, 3}},
		{"inline", `backends = [{name = "a"}, {name = "b", priority = 0}]`, []int{50, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Parse([]byte(tt.doc))
			require.NoError(t, err)
			var got []int
			for _, b := range cfg.Backends {
				got = append(got, b.Priority)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		doc      string
		contains []string
		position bool
	}{
		{"unterminated string", "[server]\nport = 8000\nhost = \"0.0.0.0\n", []string{"line 3, column"}, true},
		{"duplicate key", "[server]\nport = 1\nport = 2\n", []string{"line 3"}, true},
		{"wrong type", "[server]\nport = \"eighty\"\n", []string{"server.port"}, false},
		{"wrong type in backend", "[[backends]]\npriority = \"high\"\n", []string{"priority"}, false},
		{"table where array expected", "[backends]\nname = \"a\"\n", []string{"backends"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Parse([]byte(tt.doc))
			require.Error(t, err)
			for _, s := range tt.contains {
				assert.Contains(t, err.Error(), s)
			}
			var pe toml.ParseError
			assert.Equal(t, tt.position, errors.As(err, &pe), "errors.As toml.ParseError")
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load(filepath.Join(t.TempDir(), "missing.toml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	path := filepath.Join("testdata", "syntax_error.toml")
	_, _, err = config.Load(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "line 3, column")
	assert.NotErrorIs(t, err, fs.ErrNotExist)

	cfg, _, err := config.Load(filepath.Join("testdata", "invalid.toml"))
	require.NoError(t, err, "invalid.toml parses; Validate rejects it")
	require.Error(t, cfg.Validate())
}

func TestExample(t *testing.T) {
	t.Parallel()
	data := config.Example()
	onDisk, err := os.ReadFile("nexus.example.toml")
	require.NoError(t, err)
	assert.Equal(t, onDisk, data)

	cfg, warnings, err := config.Parse(data)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	require.NoError(t, cfg.Validate())
	assert.Empty(t, cfg.Server.APIKeys)
	cfg.Server.APIKeys = nil
	assert.Equal(t, nexus.DefaultConfig().Server, cfg.Server, "example shows the server defaults")
	assert.Equal(t, nexus.DefaultConfig().HealthCheck, cfg.HealthCheck)
	assert.Equal(t, nexus.DefaultConfig().Discovery, cfg.Discovery)
	require.Len(t, cfg.Backends, 2)
	assert.Equal(t, "http://localhost:11434", cfg.Backends[0].URL)
	assert.Equal(t, "ollama", cfg.Backends[0].Type)
	assert.Equal(t, "vllm", cfg.Backends[1].Type)
	assert.NotEmpty(t, cfg.Routing.Aliases)
	assert.NotEmpty(t, cfg.Routing.Fallbacks)

	// Its comments offer the names the rules accept, all of them.
	text := string(data)
	var types []string
	for _, typ := range registry.Types() {
		types = append(types, string(typ))
	}
	assert.Contains(t, text, "#   type         "+strings.Join(types, " | ")+"\n")
	for _, s := range routing.StrategyNames() {
		assert.Contains(t, text, "\n#   "+s+" ")
	}
	assert.Contains(t, text, "\n# "+strings.Join(logging.Levels(), " | ")+". Env: NEXUS_LOG_LEVEL.")

	// The caller owns the returned slice.
	data[0] = '!'
	assert.NotEqual(t, data[0], config.Example()[0])
}

func TestValidateInvalidFile(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Load("testdata/invalid.toml")
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	for _, key := range []string{"server.port:", "routing.strategy:", "routing.aliases: circular alias",
		"backends[0].name: required", "backends[0].url:", "backends[0].type:"} {
		assert.Contains(t, err.Error(), key)
	}
}
