package main

import (
	"github.com/nexusllm/nexus/api"

	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleet starts a gateway with a healthy Ollama backend "alpha" (two
// models) and an unreachable OpenAI backend "zeta".
func fleet(t *testing.T, edit func(*nexus.Config)) (gw *nexus.Gateway, base string, alpha *nexustest.Backend) {
	t.Helper()
	alpha = nexustest.NewBackend(t, nexustest.Models("llama3:8b", "qwen:7b"),
		nexustest.ModelInfo("llama3:8b", 8192), nexustest.ModelInfo("qwen:7b", 32768))
	down := nexustest.NewBackend(t)
	down.Stop()
	gw, base = startGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{
			{Name: "zeta", URL: down.URL(), Type: "openai", APIKey: "sk-never-shown"},
			{Name: "alpha", URL: alpha.URL(), Type: "ollama", Priority: 10},
		}
		if edit != nil {
			edit(c)
		}
	})
	return gw, base, alpha
}

func TestBackendsList(t *testing.T) {
	t.Parallel()
	_, base, alpha := fleet(t, nil)

	out := mustCLI(t, "backends", "list", "--url", base)
	rows := lines(out)
	require.Len(t, rows, 3, out)
	assert.Equal(t, []string{"NAME", "URL", "TYPE", "STATUS", "MODELS", "LATENCY"}, strings.Fields(rows[0]))
	a, z := strings.Fields(rows[1]), strings.Fields(rows[2])
	require.Len(t, a, 6)
	assert.Equal(t, []string{"alpha", alpha.URL(), "ollama", "healthy", "2"}, a[:5])
	assert.Regexp(t, `^\d+(\.\d)?ms$`, a[5])
	require.Len(t, z, 6)
	assert.Equal(t, "zeta", z[0])
	assert.Equal(t, []string{"openai", "unhealthy", "0", "-"}, z[2:])
	assertAligned(t, rows, "URL", "TYPE", "STATUS", "MODELS", "LATENCY")
	assert.NotContains(t, out, "sk-never-shown")

	assert.Equal(t, out, mustCLI(t, "backends", "--url", base), "backends alone lists")
	assert.Equal(t, out, mustCLI(t, "backends", "ls", "--url", base))

	colored := mustCLI(t, "backends", "list", "--url", base, "--color")
	assert.Contains(t, colored, "\x1b[32mhealthy\x1b[0m")
	assert.Contains(t, colored, "\x1b[31munhealthy\x1b[0m")
	assert.Equal(t, out, stripANSI(colored), "colours must not shift the columns")
}

func TestBackendsListJSON(t *testing.T) {
	t.Parallel()
	_, base, _ := fleet(t, nil)
	raw := getBody(t, base+"/v1/backends")

	out := mustCLI(t, "backends", "list", "--json", "--url", base)
	assert.JSONEq(t, string(raw), out, "--json prints what the API answers")

	var list api.BackendList
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "backends", "list", "--json", "-s", "healthy", "--url", base)), &list))
	require.Len(t, list.Backends, 1)
	assert.Equal(t, "alpha", list.Backends[0].Name)

	out = mustCLI(t, "backends", "list", "--json", "--status", "draining", "--url", base)
	assert.JSONEq(t, `{"backends":[]}`, out)
	assert.Equal(t, "No draining backends.\n", mustCLI(t, "backends", "list", "-s", "draining", "--url", base))

	_, _, err := cli(t, nil, "backends", "list", "--status", "sick", "--url", base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid --status "sick"`)
}

func TestBackendsEmpty(t *testing.T) {
	t.Parallel()
	_, base := startGateway(t, nil)
	assert.Equal(t, "No backends.\n", mustCLI(t, "backends", "list", "--url", base))
	assert.JSONEq(t, `{"backends":[]}`, mustCLI(t, "backends", "list", "--json", "--url", base))
}

func TestBackendsAddRemove(t *testing.T) {
	t.Parallel()
	gw, base := startGateway(t, nil)
	box := nexustest.NewBackend(t, nexustest.Models("phi3:mini"))

	out := mustCLI(t, "backends", "add", box.URL(), "--name", "gpu", "--url", base)
	assert.Equal(t, "Added backend 'gpu' (ollama) at "+box.URL()+": healthy, 1 models\n", out, "type detected")
	b, ok := gw.Registry().Get("gpu")
	require.True(t, ok)
	assert.Equal(t, 50, b.Priority)
	assert.True(t, b.Serves("phi3:mini"), "probed at once")

	// No scheme, no name: http:// and host:port are assumed.
	out = mustCLI(t, "backends", "add", box.Addr(), "-t", "openai", "-p", "7", "--json", "--url", base)
	var info api.Backend
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, box.Addr(), info.Name)
	assert.Equal(t, box.URL(), info.URL)
	assert.Equal(t, "openai", info.Type)
	assert.Equal(t, 7, info.Priority)
	assert.Equal(t, "manual", info.Source)

	rows := lines(mustCLI(t, "backends", "--url", base))
	require.Len(t, rows, 3)
	assert.Equal(t, box.Addr(), strings.Fields(rows[1])[0], "sorted by name: digits before letters")
	assert.Equal(t, "gpu", strings.Fields(rows[2])[0])

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate", []string{"backends", "add", box.URL(), "-n", "gpu"}, "HTTP 409 Conflict: A backend named 'gpu' already exists."},
		{"bad type", []string{"backends", "add", box.URL(), "-n", "x", "-t", "tpu"}, "HTTP 400 Bad Request: Invalid 'type'"},
		{"bad URL", []string{"backends", "add", "http://"}, `invalid backend URL "http://"`},
		{"remove unknown", []string{"backends", "remove", "nope"}, "HTTP 404 Not Found: Backend 'nope' not found."},
		{"missing argument", []string{"backends", "add"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli(t, nil, append(tt.args, "--url", base)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	assert.Equal(t, "Removed backend 'gpu'\n", mustCLI(t, "backends", "remove", "gpu", "--url", base))
	_, ok = gw.Registry().Get("gpu")
	assert.False(t, ok)
	assert.JSONEq(t, `{"removed":"`+box.Addr()+`"}`, mustCLI(t, "backends", "rm", box.Addr(), "--json", "--url", base))
	assert.Empty(t, gw.Registry().Backends())
}

func TestBackendsAddUnhealthy(t *testing.T) {
	t.Parallel()
	_, base := startGateway(t, nil)
	sick := nexustest.NewBackend(t)
	sick.SetFail(http.StatusInternalServerError)
	out := mustCLI(t, "backends", "add", sick.URL(), "-n", "sick", "-t", "vllm", "--url", base)
	rows := lines(out)
	require.Len(t, rows, 2, out)
	assert.Equal(t, "Added backend 'sick' (vllm) at "+sick.URL()+": unhealthy, 0 models", rows[0])
	assert.Contains(t, rows[1], "  last error: ")
	assert.Contains(t, rows[1], "500")
}
