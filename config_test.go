package nexus

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	assert.Equal(t, "0.0.0.0", cfg.Server.Host)
	assert.Equal(t, 8000, cfg.Server.Port)
	assert.Equal(t, 300, cfg.Server.RequestTimeoutSeconds)
	assert.Equal(t, 1000, cfg.Server.MaxConcurrentRequests)
	assert.Empty(t, cfg.Server.APIKeys)
	assert.True(t, cfg.Discovery.Enabled)
	assert.Equal(t, []string{"_ollama._tcp.local.", "_llm._tcp.local."}, cfg.Discovery.ServiceTypes)
	assert.Equal(t, 60, cfg.Discovery.GracePeriodSeconds)
	assert.Equal(t, HealthCheckConfig{Enabled: true, IntervalSeconds: 30, TimeoutSeconds: 5,
		FailureThreshold: 3, RecoveryThreshold: 2}, cfg.HealthCheck)
	assert.Equal(t, "smart", cfg.Routing.Strategy)
	assert.Equal(t, 2, cfg.Routing.MaxRetries)
	assert.Equal(t, RoutingWeights{Priority: 50, Load: 30, Latency: 20}, cfg.Routing.Weights)
	assert.Empty(t, cfg.Routing.Aliases)
	assert.Empty(t, cfg.Routing.Fallbacks)
	assert.Empty(t, cfg.Backends)
	assert.Equal(t, "info", cfg.Logging.Level)
	assert.Equal(t, "pretty", cfg.Logging.Format)
	assert.False(t, cfg.Logging.EnableContentLogging)
	require.NoError(t, cfg.Validate())

	// Each call returns an independent value.
	cfg.Discovery.ServiceTypes[0] = "changed"
	assert.Equal(t, "_ollama._tcp.local.", DefaultConfig().Discovery.ServiceTypes[0])

	for _, doc := range []string{"", "# only a comment\n", "[server]\n[routing.weights]\n"} {
		parsed, warnings, err := ParseConfig([]byte(doc))
		require.NoError(t, err, doc)
		assert.Empty(t, warnings, doc)
		assert.Equal(t, DefaultConfig(), parsed, doc)
	}
}

func fullConfig() Config {
	return Config{
		Server: ServerConfig{Host: "127.0.0.1", Port: 9090, RequestTimeoutSeconds: 120,
			MaxConcurrentRequests: 64, APIKeys: []string{"gw-key-one", "gw-key-two"},
			ConnectTimeout: 2 * time.Second, FirstByteTimeout: 90 * time.Second, StreamIdleTimeout: 60 * time.Second,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 30 * time.Second},
		Discovery: DiscoveryConfig{ServiceTypes: []string{"_custom._tcp.local."}, GracePeriodSeconds: 15},
		HealthCheck: HealthCheckConfig{IntervalSeconds: 10, TimeoutSeconds: 2,
			FailureThreshold: 5, RecoveryThreshold: 4},
		Routing: RoutingConfig{
			Strategy:  "round_robin",
			Weights:   RoutingWeights{Priority: 60, Load: 25, Latency: 15},
			Aliases:   map[string]string{"gpt-4": "llama3:70b", "fast": "llama3:8b"},
			Fallbacks: map[string][]string{"llama3:70b": {"qwen2.5:72b", "llama3:8b"}},
		},
		Backends: []BackendConfig{
			{Name: "local", URL: "http://localhost:11434", Type: "ollama", Priority: 0},
			{Name: "gpu", URL: "https://gpu.example.internal:8443/prefix", Type: "llamacpp",
				Priority: 50, APIKeyEnv: "GPU_KEY", Models: []ModelConfig{
					{ID: "llama3:70b", ContextLength: 8192, Vision: ptr(false), Tools: ptr(true)},
					{ID: "qwen2.5:72b"},
				}},
		},
		Logging: LoggingConfig{Level: "debug", Format: "json", EnableContentLogging: true,
			ComponentLevels: map[string]string{"routing": "warn", "health": "error"}},
	}
}

func TestParseConfigFullFile(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := LoadConfig(filepath.Join("testdata", "config", "full.toml"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, fullConfig(), cfg)
	require.NoError(t, cfg.Validate())

	// Round trip: encoding the parsed config and parsing it again is lossless.
	var buf bytes.Buffer
	require.NoError(t, toml.NewEncoder(&buf).Encode(cfg))
	again, warnings, err := ParseConfig(buf.Bytes())
	require.NoError(t, err, buf.String())
	assert.Empty(t, warnings)
	assert.Equal(t, cfg, again)
}

func TestParseConfigPartialKeepsDefaults(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := ParseConfig([]byte("[server]\nport = 9000\n[routing.weights]\nlatency = 70\n"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	want := DefaultConfig()
	want.Server.Port = 9000
	want.Routing.Weights.Latency = 70
	assert.Equal(t, want, cfg)
}

func TestParseConfigNormalizes(t *testing.T) {
	t.Parallel()
	cfg, _, err := ParseConfig([]byte(`
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

func TestParseConfigUnknownKeys(t *testing.T) {
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
			_, warnings, err := ParseConfig([]byte(tt.doc))
			require.NoError(t, err)
			assert.Equal(t, tt.want, warnings)
		})
	}
}

func TestParseConfigBackendPriority(t *testing.T) {
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
			cfg, _, err := ParseConfig([]byte(tt.doc))
			require.NoError(t, err)
			var got []int
			for _, b := range cfg.Backends {
				got = append(got, b.Priority)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
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
			_, _, err := ParseConfig([]byte(tt.doc))
			require.Error(t, err)
			for _, s := range tt.contains {
				assert.Contains(t, err.Error(), s)
			}
			var pe toml.ParseError
			assert.Equal(t, tt.position, errors.As(err, &pe), "errors.As toml.ParseError")
		})
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	_, _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.toml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	path := filepath.Join("testdata", "config", "syntax_error.toml")
	_, _, err = LoadConfig(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "line 3, column")
	assert.NotErrorIs(t, err, fs.ErrNotExist)

	cfg, _, err := LoadConfig(filepath.Join("testdata", "config", "invalid.toml"))
	require.NoError(t, err, "invalid.toml parses; Validate rejects it")
	require.Error(t, cfg.Validate())
}

func TestExampleConfig(t *testing.T) {
	t.Parallel()
	data := ExampleConfig()
	onDisk, err := os.ReadFile("nexus.example.toml")
	require.NoError(t, err)
	assert.Equal(t, onDisk, data)

	cfg, warnings, err := ParseConfig(data)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	require.NoError(t, cfg.Validate())
	assert.Empty(t, cfg.Server.APIKeys)
	cfg.Server.APIKeys = nil
	assert.Equal(t, DefaultConfig().Server, cfg.Server, "example shows the server defaults")
	assert.Equal(t, DefaultConfig().HealthCheck, cfg.HealthCheck)
	assert.Equal(t, DefaultConfig().Discovery, cfg.Discovery)
	require.Len(t, cfg.Backends, 2)
	assert.Equal(t, "http://localhost:11434", cfg.Backends[0].URL)
	assert.Equal(t, "ollama", cfg.Backends[0].Type)
	assert.Equal(t, "vllm", cfg.Backends[1].Type)
	assert.NotEmpty(t, cfg.Routing.Aliases)
	assert.NotEmpty(t, cfg.Routing.Fallbacks)

	// The caller owns the returned slice.
	data[0] = '!'
	assert.NotEqual(t, data[0], ExampleConfig()[0])
}
