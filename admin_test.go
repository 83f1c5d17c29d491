package nexus_test

import (
	"github.com/nexusllm/nexus/api"

	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminGateway starts a gateway with background health checks off (so
// anything the admin API reports was done by the API itself) behind a
// loopback server.
func adminGateway(t *testing.T, edit func(*nexus.Config)) (*nexus.Gateway, string) {
	t.Helper()
	cfg := testConfig()
	cfg.HealthCheck.TimeoutSeconds = 2
	if edit != nil {
		edit(&cfg)
	}
	return startGateway(t, cfg)
}

// call sends one request and returns the status and body.
func call(t *testing.T, method, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, b
}

func listBackends(t *testing.T, base string, header ...string) []api.Backend {
	t.Helper()
	status, _, body := call(t, http.MethodGet, base+"/v1/backends", "", header...)
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	var list api.BackendList
	require.NoError(t, json.Unmarshal(body, &list))
	return list.Backends
}

func TestAdminListBackends(t *testing.T) {
	t.Parallel()
	fast := nexustest.NewBackend(t, nexustest.Models("llama3:8b", "qwen:7b"),
		nexustest.ModelInfo("llama3:8b", 8192, "completion", "tools", "vision"))
	down := nexustest.NewBackend(t)
	down.Stop()
	_, base := adminGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{
			{Name: "zeta", URL: down.URL(), Type: "openai", Priority: 5, APIKey: "sk-very-secret"},
			{Name: "alpha", URL: fast.URL() + "/v1/", Type: "ollama", Priority: 10},
		}
	})

	status, _, raw := call(t, http.MethodGet, base+"/v1/backends", "")
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(raw), "sk-very-secret", "the API must never show a backend's key")
	var list api.BackendList
	require.NoError(t, json.Unmarshal(raw, &list))
	require.Len(t, list.Backends, 2)

	a, z := list.Backends[0], list.Backends[1]
	assert.Equal(t, "alpha", a.Name, "sorted by name")
	assert.Equal(t, "alpha", a.ID)
	assert.Equal(t, fast.URL(), a.URL, "URL normalised without /v1")
	assert.Equal(t, "ollama", a.Type)
	assert.Equal(t, "healthy", a.Status)
	assert.Equal(t, 10, a.Priority)
	assert.Equal(t, "static", a.Source)
	assert.Nil(t, a.LastError)
	assert.Positive(t, a.LatencyMS)
	_, err := time.Parse(time.RFC3339, a.LastCheck)
	assert.NoError(t, err)
	require.Len(t, a.Models, 2)
	assert.Equal(t, api.BackendModel{ID: "llama3:8b", ContextLength: 8192,
		Capabilities: api.Capabilities{Vision: true, Tools: true, Kinds: []string{"completion"}}}, a.Models[0])

	assert.Equal(t, "zeta", z.Name)
	assert.Equal(t, "unhealthy", z.Status)
	require.NotNil(t, z.LastError)
	assert.NotEmpty(t, *z.LastError)
	assert.Empty(t, z.Models)
	assert.Contains(t, string(raw), `"models":[]`, "an empty model list is [], not null")

	// Pending and request counters are live.
	status, _, _ = call(t, http.MethodPost, base+"/v1/chat/completions",
		`{"model":"qwen:7b","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 1, listBackends(t, base)[0].Requests)
}

func TestAdminAddBackend(t *testing.T) {
	t.Parallel()
	// Only the OpenAI model list: detection must fall through to generic.
	openaiOnly := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"gpt-x","object":"model"}]}`)
	}))
	t.Cleanup(openaiOnly.Close)
	ollama := nexustest.NewBackend(t, nexustest.Models("phi3:mini"))
	explicit := nexustest.NewBackend(t, nexustest.Models("m-explicit"))
	gw, base := adminGateway(t, nil)

	tests := []struct {
		name, body, wantType, wantModel string
		wantPriority                    int
	}{
		{"detects ollama", `{"name":"box","url":"` + ollama.URL() + `"}`, "ollama", "phi3:mini", 50},
		{"detects an OpenAI-compatible server", `{"name":"oai","url":"` + openaiOnly.URL + `/v1","priority":3}`, "generic", "gpt-x", 3},
		{"explicit type", `{"name":"vl","url":"` + explicit.URL() + `","type":"VLLM","priority":0}`, "vllm", "m-explicit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := call(t, http.MethodPost, base+"/v1/backends", tt.body)
			require.Equal(t, http.StatusCreated, status, "body: %s", body)
			var info api.Backend
			require.NoError(t, json.Unmarshal(body, &info))
			assert.Equal(t, tt.wantType, info.Type)
			assert.Equal(t, "manual", info.Source)
			assert.Equal(t, tt.wantPriority, info.Priority)
			assert.Equal(t, "healthy", info.Status, "probed once before answering")
			require.Len(t, info.Models, 1)
			assert.Equal(t, tt.wantModel, info.Models[0].ID)
			assert.Equal(t, "/v1/backends/"+info.Name, h.Get("Location"))
			b, ok := gw.Registry().Get(info.ID)
			require.True(t, ok)
			assert.Equal(t, info.Name, b.Name)

			// Usable at once, although background checks are off.
			status, h, body = call(t, http.MethodPost, base+"/v1/chat/completions",
				`{"model":"`+tt.wantModel+`","messages":[{"role":"user","content":"hi"}]}`)
			if tt.wantType != "generic" { // the stub server has no chat endpoint
				require.Equal(t, http.StatusOK, status, "body: %s", body)
				assert.Equal(t, info.Name, h.Get(nexus.HeaderBackend))
			}
		})
	}
}

func TestAdminAddBackendErrors(t *testing.T) {
	t.Parallel()
	live := nexustest.NewBackend(t)
	dead := nexustest.NewBackend(t)
	dead.Stop()
	_, base := adminGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{{Name: "taken", URL: live.URL(), Type: "openai"}}
	})
	u := live.URL()
	tests := []struct {
		name, body string
		status     int
		param      string
		code       string
		message    string
	}{
		{"malformed JSON", `{"name":`, 400, "", "", "JSON object"},
		{"not an object", `[1]`, 400, "", "", "got a JSON array"},
		{"empty body", ``, 400, "", "", "empty"},
		{"fractional priority", `{"name":"a","url":"` + u + `","priority":1.5}`, 400, "priority", "", "an integer"},
		{"extra data", `{"name":"a","url":"` + u + `"} {}`, 400, "", "", "extra data"},
		{"missing name", `{"url":"` + u + `"}`, 400, "name", "", "'name'"},
		{"blank name", `{"name":"  ","url":"` + u + `"}`, 400, "name", "", "'name'"},
		{"control characters in name", `{"name":"a\u0007b","url":"` + u + `"}`, 400, "name", "", "control"},
		{"long name", `{"name":"` + strings.Repeat("n", 129) + `","url":"` + u + `"}`, 400, "name", "", "at most"},
		{"missing url", `{"name":"a"}`, 400, "url", "", "'url'"},
		{"url without scheme", `{"name":"a","url":"localhost:11434"}`, 400, "url", "", "http://"},
		{"ftp url", `{"name":"a","url":"ftp://h"}`, 400, "url", "", "http://"},
		{"url with credentials", `{"name":"a","url":"http://u:p@127.0.0.1:1"}`, 400, "url", "", "credentials"},
		{"url with query", `{"name":"a","url":"http://127.0.0.1:1/?x=1"}`, 400, "url", "", "query"},
		{"unknown type", `{"name":"a","url":"` + u + `","type":"bard"}`, 400, "type", "", "ollama"},
		{"negative priority", `{"name":"a","url":"` + u + `","priority":-1}`, 400, "priority", "", ">= 0"},
		{"priority of the wrong type", `{"name":"a","url":"` + u + `","priority":"high"}`, 400, "priority", "", "an integer"},
		{"api key refused", `{"name":"a","url":"` + u + `","api_key":"sk"}`, 400, "api_key", "", "api_key_env"},
		{"api key env refused", `{"name":"a","url":"` + u + `","api_key_env":"HOME"}`, 400, "api_key_env", "", "api_key_env"},
		{"unknown field", `{"name":"a","url":"` + u + `","weight":1}`, 400, "weight", "", "only name, url, type, priority and endpoints"},
		{"duplicate name", `{"name":"taken","url":"` + u + `","type":"openai"}`, 409, "name", "backend_exists", "already exists"},
		{"undetectable backend", `{"name":"gone","url":"` + dead.URL() + `"}`, 400, "url", "backend_undetected", dead.URL()},
		{"body too large", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "", "request_too_large", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := call(t, http.MethodPost, base+"/v1/backends", tt.body)
			require.Equal(t, tt.status, status, "body: %s", body)
			e := decodeAPIError(t, body)
			assert.Equal(t, "invalid_request_error", e.Error.Type)
			assert.Contains(t, e.Error.Message, tt.message)
			if tt.param == "" {
				assert.Nil(t, e.Error.Param)
			} else if assert.NotNil(t, e.Error.Param) {
				assert.Equal(t, tt.param, *e.Error.Param)
			}
			if tt.code != "" && assert.NotNil(t, e.Error.Code) {
				assert.Equal(t, tt.code, *e.Error.Code)
			}
		})
	}
	t.Run("nothing was added", func(t *testing.T) {
		t.Parallel()
		// Runs with the table's subtests; those never add anything.
		for _, b := range listBackends(t, base) {
			assert.Equal(t, "taken", b.Name)
		}
	})
}

func TestAdminRemoveBackend(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	gw, base := adminGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{
			{Name: "keep", URL: be.URL(), Type: "openai"},
			{Name: "team/gpu 1", URL: be.URL(), Type: "openai"},
		}
	})
	status, _, body := call(t, http.MethodDelete, base+"/v1/backends/team%2Fgpu%201", "")
	require.Equal(t, http.StatusNoContent, status, "body: %s", body)
	assert.Empty(t, body)
	_, ok := gw.Registry().Get("team/gpu 1")
	assert.False(t, ok)
	list := listBackends(t, base)
	require.Len(t, list, 1)
	assert.Equal(t, "keep", list[0].Name)

	status, _, body = call(t, http.MethodDelete, base+"/v1/backends/team%2Fgpu%201", "")
	require.Equal(t, http.StatusNotFound, status)
	e := decodeAPIError(t, body)
	assert.Equal(t, "backend_not_found", *e.Error.Code)
	assert.Contains(t, e.Error.Message, "team/gpu 1")
}

func TestAdminMethods(t *testing.T) {
	t.Parallel()
	_, base := adminGateway(t, nil)
	tests := []struct{ method, path, allow string }{
		{http.MethodPut, "/v1/backends", "GET, HEAD, POST"},
		{http.MethodDelete, "/v1/backends", "GET, HEAD, POST"},
		{http.MethodGet, "/v1/backends/x", http.MethodDelete},
		{http.MethodPost, "/v1/backends/x", http.MethodDelete},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			status, h, body := call(t, tt.method, base+tt.path, "")
			require.Equal(t, http.StatusMethodNotAllowed, status)
			assert.Equal(t, tt.allow, h.Get("Allow"))
			assert.Equal(t, "method_not_allowed", *decodeAPIError(t, body).Error.Code)
		})
	}
	status, _, body := call(t, http.MethodHead, base+"/v1/backends", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t)
	_, base := adminGateway(t, func(c *nexus.Config) {
		c.Server.APIKeys = []string{"key-one", "key-two"}
	})
	add := `{"name":"b","url":"` + be.URL() + `","type":"openai"}`
	tests := []struct {
		name, method, path, body, auth string
		want                           int
	}{
		{"list without a key", http.MethodGet, "/v1/backends", "", "", 401},
		{"add without a key", http.MethodPost, "/v1/backends", add, "", 401},
		{"remove without a key", http.MethodDelete, "/v1/backends/b", "", "", 401},
		{"wrong key", http.MethodGet, "/v1/backends", "", "Bearer key-three", 401},
		{"prefix of a key", http.MethodGet, "/v1/backends", "", "Bearer key-", 401},
		{"wrong scheme", http.MethodGet, "/v1/backends", "", "Basic key-one", 401},
		{"bare key", http.MethodGet, "/v1/backends", "", "key-one", 401},
		{"empty bearer", http.MethodGet, "/v1/backends", "", "Bearer ", 401},
		{"first key", http.MethodGet, "/v1/backends", "", "Bearer key-one", 200},
		{"second key, lower-case scheme", http.MethodGet, "/v1/backends", "", "bearer key-two", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h []string
			if tt.auth != "" {
				h = []string{"Authorization", tt.auth}
			}
			status, hdr, body := call(t, tt.method, base+tt.path, tt.body, h...)
			require.Equal(t, tt.want, status, "body: %s", body)
			if tt.want == http.StatusUnauthorized {
				e := decodeAPIError(t, body)
				assert.Equal(t, "invalid_api_key", *e.Error.Code)
				assert.Equal(t, "authentication_error", e.Error.Type)
				assert.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	// With the key, the whole cycle works.
	auth := []string{"Authorization", "Bearer key-one"}
	status, _, body := call(t, http.MethodPost, base+"/v1/backends", add, auth...)
	require.Equal(t, http.StatusCreated, status, "body: %s", body)
	status, _, _ = call(t, http.MethodDelete, base+"/v1/backends/b", "", auth...)
	require.Equal(t, http.StatusNoContent, status)
}

// TestAdminChangesWhileServing adds and removes backends while chat
// requests run: every request to the stable backend's model succeeds, and
// the race detector sees the registry swaps.
func TestAdminChangesWhileServing(t *testing.T) {
	t.Parallel()
	stable := nexustest.NewBackend(t, nexustest.Models("steady"), nexustest.NoRecord())
	churn := nexustest.NewBackend(t, nexustest.Models("steady", "extra"), nexustest.NoRecord())
	_, base := adminGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{{Name: "stable", URL: stable.URL(), Type: "openai"}}
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
					strings.NewReader(`{"model":"steady","messages":[{"role":"user","content":"x"}]}`))
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					mu.Lock()
					failures = append(failures, res.Status)
					mu.Unlock()
				}
			}
		})
	}
	for range 20 {
		status, _, body := call(t, http.MethodPost, base+"/v1/backends",
			`{"name":"churn","url":"`+churn.URL()+`","type":"openai"}`)
		require.Equal(t, http.StatusCreated, status, "body: %s", body)
		listBackends(t, base)
		status, _, _ = call(t, http.MethodDelete, base+"/v1/backends/churn", "")
		require.Equal(t, http.StatusNoContent, status)
	}
	cancel()
	wg.Wait()
	assert.Empty(t, failures)
	assert.Positive(t, churn.ChatHits()+stable.ChatHits())
}
