package config_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
)

// validConfig is a valid configuration with two backends.
func validConfig() nexus.Config {
	cfg := nexus.DefaultConfig()
	cfg.Backends = []nexus.BackendConfig{
		{Name: "local", URL: "http://127.0.0.1:11434", Type: "ollama", Priority: 50,
			Models: []nexus.ModelConfig{{ID: "llama3:8b"}}},
		{Name: "gpu", URL: "https://gpu.example:8443", Type: "vllm", Priority: 0},
	}
	return cfg
}

// envMap is a lookup function over a fixed set of variables.
func envMap(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    func(*nexus.Config) // applied to DefaultConfig to get the expected result
		wantErr []string            // substrings of the error; nil = no error
	}{
		{"nothing set", nil, func(*nexus.Config) {}, nil},
		{"host", map[string]string{"NEXUS_HOST": "127.0.0.1"}, func(c *nexus.Config) { c.Server.Host = "127.0.0.1" }, nil},
		{"host invalid", map[string]string{"NEXUS_HOST": "localhost:80"}, func(*nexus.Config) {},
			[]string{`NEXUS_HOST: invalid value "localhost:80"`}},
		{"port", map[string]string{"NEXUS_PORT": " 9000 "}, func(c *nexus.Config) { c.Server.Port = 9000 }, nil},
		{"port not a number", map[string]string{"NEXUS_PORT": "abc"}, func(*nexus.Config) {},
			[]string{`NEXUS_PORT: invalid value "abc"`}},
		{"port out of range", map[string]string{"NEXUS_PORT": "70000"}, func(*nexus.Config) {},
			[]string{`NEXUS_PORT: invalid value "70000" (want a port number 1-65535)`}},
		{"empty means unset", map[string]string{"NEXUS_PORT": "", "NEXUS_HOST": " "}, func(*nexus.Config) {}, nil},
		{"log level", map[string]string{"NEXUS_LOG_LEVEL": "DEBUG"}, func(c *nexus.Config) { c.Logging.Level = "debug" }, nil},
		{"log level trace", map[string]string{"NEXUS_LOG_LEVEL": "trace"}, func(c *nexus.Config) { c.Logging.Level = "debug" }, nil},
		{"log level invalid", map[string]string{"NEXUS_LOG_LEVEL": "loud"}, func(*nexus.Config) {},
			[]string{`NEXUS_LOG_LEVEL: invalid value "loud" (want debug, info, warn, error)`}},
		{"log format", map[string]string{"NEXUS_LOG_FORMAT": "JSON"}, func(c *nexus.Config) { c.Logging.Format = "json" }, nil},
		{"log format text is pretty", map[string]string{"NEXUS_LOG_FORMAT": "text"}, func(c *nexus.Config) { c.Logging.Format = "pretty" }, nil},
		{"log format invalid", map[string]string{"NEXUS_LOG_FORMAT": "xml"}, func(*nexus.Config) {},
			[]string{`NEXUS_LOG_FORMAT: invalid value "xml"`}},
		{"discovery off", map[string]string{"NEXUS_DISCOVERY": "false"}, func(c *nexus.Config) { c.Discovery.Enabled = false }, nil},
		{"discovery 0", map[string]string{"NEXUS_DISCOVERY": "0"}, func(c *nexus.Config) { c.Discovery.Enabled = false }, nil},
		{"discovery invalid is an error, not false", map[string]string{"NEXUS_DISCOVERY": "yes please"}, func(*nexus.Config) {},
			[]string{`NEXUS_DISCOVERY: invalid value "yes please" (want true or false)`}},
		{"health check off", map[string]string{"NEXUS_HEALTH_CHECK": "FALSE"}, func(c *nexus.Config) { c.HealthCheck.Enabled = false }, nil},
		{"health check invalid", map[string]string{"NEXUS_HEALTH_CHECK": "nope"}, func(*nexus.Config) {},
			[]string{"NEXUS_HEALTH_CHECK: invalid value"}},
		{"strategy", map[string]string{"NEXUS_ROUTING_STRATEGY": "Round_Robin"}, func(c *nexus.Config) { c.Routing.Strategy = "round_robin" }, nil},
		{"strategy invalid", map[string]string{"NEXUS_ROUTING_STRATEGY": "fastest"}, func(*nexus.Config) {},
			[]string{`NEXUS_ROUTING_STRATEGY: invalid value "fastest" (want smart, round_robin, priority_only, random)`}},
		{"max retries", map[string]string{"NEXUS_ROUTING_MAX_RETRIES": "0"}, func(c *nexus.Config) { c.Routing.MaxRetries = 0 }, nil},
		{"max retries negative", map[string]string{"NEXUS_ROUTING_MAX_RETRIES": "-1"}, func(*nexus.Config) {},
			[]string{"NEXUS_ROUTING_MAX_RETRIES: invalid value"}},
		{"timeout seconds", map[string]string{"NEXUS_REQUEST_TIMEOUT": "45"}, func(c *nexus.Config) { c.Server.RequestTimeoutSeconds = 45 }, nil},
		{"timeout duration", map[string]string{"NEXUS_REQUEST_TIMEOUT": "5m"}, func(c *nexus.Config) { c.Server.RequestTimeoutSeconds = 300 }, nil},
		{"timeout fractional", map[string]string{"NEXUS_REQUEST_TIMEOUT": "1.5s"}, func(*nexus.Config) {},
			[]string{"NEXUS_REQUEST_TIMEOUT: invalid value"}},
		{"timeout zero", map[string]string{"NEXUS_REQUEST_TIMEOUT": "0"}, func(*nexus.Config) {},
			[]string{"NEXUS_REQUEST_TIMEOUT: invalid value"}},
		{"api keys", map[string]string{"NEXUS_API_KEYS": " k1, k2 ,,k3"},
			func(c *nexus.Config) { c.Server.APIKeys = []string{"k1", "k2", "k3"} }, nil},
		{"api keys only commas", map[string]string{"NEXUS_API_KEYS": " , ,"}, func(*nexus.Config) {},
			[]string{"NEXUS_API_KEYS:"}},
		{"valid ones applied despite an invalid one", map[string]string{"NEXUS_PORT": "x", "NEXUS_HOST": "::1", "NEXUS_DISCOVERY": "maybe"},
			func(c *nexus.Config) { c.Server.Host = "::1" }, []string{"NEXUS_PORT:", "NEXUS_DISCOVERY:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := nexus.DefaultConfig()
			warnings, err := config.ApplyEnv(&cfg, envMap(tt.env))
			assert.Empty(t, warnings)
			want := nexus.DefaultConfig()
			tt.want(&want)
			assert.Equal(t, want, cfg)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := config.Parse([]byte(`
[server]
host = "10.0.0.1"
port = 9000
[routing]
strategy = "random"
`))
	require.NoError(t, err)
	require.Empty(t, warnings)
	_, err = config.ApplyEnv(&cfg, envMap(map[string]string{"NEXUS_PORT": "9100", "NEXUS_LOG_LEVEL": "warn"}))
	require.NoError(t, err)

	assert.Equal(t, 9100, cfg.Server.Port, "env beats file")
	assert.Equal(t, "10.0.0.1", cfg.Server.Host, "file beats default")
	assert.Equal(t, "random", cfg.Routing.Strategy, "file beats default")
	assert.Equal(t, "warn", cfg.Logging.Level, "env beats default")
	assert.Equal(t, 300, cfg.Server.RequestTimeoutSeconds, "default stays")
	require.NoError(t, cfg.Validate())
}

func TestApplyEnvBackendKeys(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Parse([]byte(`
[[backends]]
name = "gpu"
url = "http://127.0.0.1:1"
api_key_env = "GPU_KEY"
[[backends]]
name = "cloud"
url = "https://127.0.0.1:2"
api_key_env = "CLOUD_KEY"
[[backends]]
name = "blank"
url = "http://127.0.0.1:3"
api_key_env = "BLANK_KEY"
[[backends]]
name = "local"
url = "http://127.0.0.1:4"
`))
	require.NoError(t, err)
	warnings, err := config.ApplyEnv(&cfg, envMap(map[string]string{"GPU_KEY": "sk-gpu-secret-123", "BLANK_KEY": ""}))
	require.NoError(t, err, "a missing key variable is a warning, not an error")
	assert.Equal(t, "sk-gpu-secret-123", cfg.Backends[0].APIKey)
	assert.Empty(t, cfg.Backends[1].APIKey)
	assert.Empty(t, cfg.Backends[2].APIKey)
	assert.Empty(t, cfg.Backends[3].APIKey)
	require.Len(t, warnings, 2)
	assert.Contains(t, warnings[0], `"cloud"`)
	assert.Contains(t, warnings[0], `"CLOUD_KEY"`)
	assert.Contains(t, warnings[1], `"blank"`)
	assert.Contains(t, warnings[1], `"BLANK_KEY"`)
}

func TestConfigSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const backendKey, gatewayKey = "sk-backend-secret-xyz", "gw-inbound-secret-abc"
	cfg := validConfig()
	cfg.Backends[1].APIKeyEnv = "GPU_KEY"
	_, err := config.ApplyEnv(&cfg, envMap(map[string]string{"GPU_KEY": backendKey, "NEXUS_API_KEYS": gatewayKey}))
	require.NoError(t, err)
	require.Equal(t, backendKey, cfg.Backends[1].APIKey)
	require.Equal(t, []string{gatewayKey}, cfg.Server.APIKeys)

	jsonOut, err := json.Marshal(cfg)
	require.NoError(t, err)
	outputs := map[string]string{
		"%v cfg":       fmt.Sprintf("%v", cfg),
		"%+v cfg":      fmt.Sprintf("%+v", cfg),
		"%#v cfg":      fmt.Sprintf("%#v", cfg),
		"%v &cfg":      fmt.Sprintf("%v", &cfg),
		"%+v backend":  fmt.Sprintf("%+v", cfg.Backends[1]),
		"%v &backend":  fmt.Sprintf("%v", &cfg.Backends[1]),
		"%q backend":   fmt.Sprintf("%q", cfg.Backends[1]),
		"%v backends":  fmt.Sprintf("%v", cfg.Backends),
		"%+v server":   fmt.Sprintf("%+v", cfg.Server),
		"%v &server":   fmt.Sprintf("%v", &cfg.Server),
		"Sprint cfg":   fmt.Sprint(cfg),
		"Sprintln cfg": fmt.Sprintln(cfg),
		"json":         string(jsonOut),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, backendKey, name)
		assert.NotContains(t, out, gatewayKey, name)
	}
	assert.Contains(t, outputs["%+v backend"], "APIKey:[REDACTED]")
	assert.Contains(t, outputs["%+v backend"], "Name:gpu", "the rest is still printed")
	assert.Contains(t, outputs["%+v server"], "APIKeys:[[REDACTED]]")
	assert.Contains(t, outputs["%+v server"], "Port:8000")
	// Redaction works on a copy: the values themselves are intact.
	assert.Equal(t, backendKey, cfg.Backends[1].APIKey)
	assert.Equal(t, gatewayKey, cfg.Server.APIKeys[0])
}
