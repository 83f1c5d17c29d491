package main

import (
	"github.com/nexusllm/nexus/api"

	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModels(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("llama3:8b", "qwen:7b"),
		nexustest.ModelInfo("llama3:8b", 8192), nexustest.ModelInfo("qwen:7b", 32768))
	b := nexustest.NewBackend(t, nexustest.Models("gpt-4o-mini", "llama3:8b"))
	down := nexustest.NewBackend(t, nexustest.Models("ghost"))
	down.Stop()
	_, base := startGateway(t, func(c *nexus.Config) {
		c.HealthCheck.FailureThreshold = 1 // the first probe takes "dead" out
		c.Backends = []nexus.BackendConfig{
			{Name: "local", URL: a.URL(), Type: "ollama"},
			{Name: "cloud", URL: b.URL(), Type: "openai"},
			{Name: "dead", URL: down.URL(), Type: "ollama",
				Models: []nexus.ModelConfig{{ID: "ghost"}}},
		}
	})

	want := "" +
		"MODEL        BACKENDS      CONTEXT LENGTH\n" +
		"gpt-4o-mini  cloud         -\n" +
		"llama3:8b    cloud, local  8192\n" +
		"qwen:7b      local         32768\n"
	assert.Equal(t, want, mustCLI(t, "models", "--url", base), "grouped by model, only healthy backends")

	var list modelList
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "models", "--json", "--url", base)), &list))
	assert.Equal(t, []modelSummary{
		{ID: "gpt-4o-mini", Backends: []string{"cloud"}},
		{ID: "llama3:8b", Backends: []string{"cloud", "local"}, ContextLength: 8192},
		{ID: "qwen:7b", Backends: []string{"local"}, ContextLength: 32768},
	}, list.Models)

	out := mustCLI(t, "models", "-b", "local", "--url", base)
	assert.Equal(t, []string{"MODEL", "BACKENDS", "CONTEXT", "LENGTH"}, strings.Fields(lines(out)[0]))
	assert.Len(t, lines(out), 3)
	assert.NotContains(t, out, "gpt-4o-mini")
	assert.Equal(t, "No models available on backend 'dead'.\n", mustCLI(t, "models", "--backend", "dead", "--url", base))
	assert.JSONEq(t, `{"models":[]}`, mustCLI(t, "models", "--backend", "dead", "--json", "--url", base))
}

func TestModelsEmpty(t *testing.T) {
	t.Parallel()
	_, base := startGateway(t, nil)
	assert.Equal(t, "No models available.\n", mustCLI(t, "models", "--url", base))
}

func TestHealth(t *testing.T) {
	t.Parallel()
	gw, base, _ := fleet(t, nil)

	out := mustCLI(t, "health", "--url", base)
	rows := lines(out)
	require.Len(t, rows, 7, out)
	assert.Equal(t, "Status:   degraded", rows[0])
	assert.Regexp(t, `^Uptime:   \d+s$`, rows[1])
	assert.Equal(t, "Backends: 1/2 healthy", rows[2])
	assert.Equal(t, "Models:   2 available", rows[3])
	assert.Empty(t, rows[4])
	assert.Equal(t, "  ✓ alpha (ollama) - 2 models", rows[5])
	assert.True(t, strings.HasPrefix(rows[6], "  ✗ zeta (openai) - 0 models: "), rows[6])
	assert.NotContains(t, out, "sk-never-shown")

	colored := mustCLI(t, "health", "--url", base, "--color")
	assert.Contains(t, colored, "\x1b[33mdegraded\x1b[0m")
	assert.Contains(t, colored, "\x1b[32m✓\x1b[0m alpha")
	assert.Equal(t, out, stripANSI(colored))

	var h api.Health
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "health", "--json", "--url", base)), &h))
	want := gw.Health()
	want.UptimeSeconds = h.UptimeSeconds
	assert.Equal(t, want, h, "--json prints the server's /health")
}

func TestHealthWithoutBackendDetails(t *testing.T) {
	t.Parallel()
	// /health stays readable; /v1/backends needs the key the CLI lacks.
	_, base, _ := fleet(t, func(c *nexus.Config) { c.Server.APIKeys = []string{"k"} })
	out, stderr, err := cli(t, nil, "health", "--url", base)
	require.NoError(t, err)
	assert.Len(t, lines(out), 4)
	assert.Contains(t, stderr, "backend details unavailable")
	assert.Contains(t, stderr, "401")
}

func TestFormatUptime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{59 * time.Second, "59s"},
		{2*time.Minute + 3*time.Second, "2m 3s"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h 2m 3s"},
		{50 * time.Hour, "50h 0m 0s"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, formatUptime(tt.d))
	}
}

func TestServerNotRunning(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, args := range [][]string{
		{"backends", "list"}, {"backends", "add", "http://127.0.0.1:1"}, {"backends", "remove", "x"},
		{"models"}, {"health"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			_, _, err := cli(t, nil, append(args, "--url", url)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "cannot reach the Nexus server at "+url)
			assert.Contains(t, err.Error(), "nexus serve")
		})
	}
}

func TestClientFlags(t *testing.T) {
	t.Parallel()
	_, base, _ := fleet(t, func(c *nexus.Config) { c.Server.APIKeys = []string{"secret-key"} })
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{"no key", nil, []string{"--url", base}, "HTTP 401 Unauthorized: Missing or invalid API key"},
		{"wrong key", nil, []string{"--url", base, "--api-key", "nope"}, "--api-key or set NEXUS_API_KEY"},
		{"key flag", nil, []string{"--url", base, "--api-key", "secret-key"}, ""},
		{"key from env", []string{"NEXUS_API_KEY", "secret-key"}, []string{"--url", base}, ""},
		{"flag beats env", []string{"NEXUS_API_KEY", "secret-key"}, []string{"--url", base, "--api-key", "x"}, "401"},
		{"URL from env", []string{"NEXUS_URL", base + "/", "NEXUS_API_KEY", "secret-key"}, nil, ""},
		{"bad URL", nil, []string{"--url", "localhost:8000"}, `invalid --url "localhost:8000"`},
		{"bad timeout", nil, []string{"--url", base, "--timeout", "0s"}, "invalid --timeout"},
		{"not a Nexus server", nil, []string{"--url", nexustest.NewBackend(t).URL()}, "HTTP 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := cli(t, tt.env, append([]string{"backends", "list"}, tt.args...)...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "secret-key")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out, "alpha")
		})
	}
}
