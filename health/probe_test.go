package health

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestProbeClassification(t *testing.T) {
	t.Parallel()
	type want struct {
		ok      bool
		parsed  bool
		models  []registry.Model
		status  int
		err     string // exact message; "" for none
		errKind error
	}
	cases := []struct {
		name    string
		flavor  string
		typ     registry.Type
		models  []string
		setup   func(f *fake)
		url     func(t *testing.T, f *fake) string // default: the fake's URL
		timeout time.Duration
		want    want
	}{
		{
			name: "ollama tags and show", flavor: flavorOllama, typ: registry.TypeOllama,
			models: []string{"llava:7b", "llama3.1:8b", "gemma:2b", "old:1b"},
			want: want{ok: true, parsed: true, status: 200, models: []registry.Model{
				{ID: "llava:7b", ContextLength: 4096, Vision: registry.CapYes, Tools: registry.CapNo, Completion: registry.CapYes, Embedding: registry.CapNo, Insert: registry.CapNo},
				{ID: "llama3.1:8b", ContextLength: 131072, Vision: registry.CapNo, Tools: registry.CapYes, Completion: registry.CapYes, Embedding: registry.CapNo, Insert: registry.CapNo},
				{ID: "gemma:2b", ContextLength: 2048, Vision: registry.CapNo, Tools: registry.CapNo, Completion: registry.CapYes, Embedding: registry.CapNo, Insert: registry.CapNo},
				{ID: "old:1b", ContextLength: 32768},
			}},
		},
		{
			name: "ollama show fails: name heuristics", flavor: flavorOllama, typ: registry.TypeOllama,
			models: []string{"llava:7b", "llama3.1:8b", "gemma:2b"},
			setup:  func(f *fake) { f.showFail.Store(true) },
			want: want{ok: true, parsed: true, status: 200, models: []registry.Model{
				{ID: "llava:7b", Vision: registry.CapYes},
				{ID: "llama3.1:8b", Tools: registry.CapYes},
				{ID: "gemma:2b"},
			}},
		},
		{
			name: "ollama empty list", flavor: flavorOllama, typ: registry.TypeOllama,
			want: want{ok: true, parsed: true, status: 200, models: []registry.Model{}},
		},
		{
			name: "llamacpp ok lists its model", flavor: flavorLlama, typ: registry.TypeLlamaCpp,
			models: []string{"qwen2.5-7b-instruct"},
			want: want{ok: true, parsed: true, status: 200, models: []registry.Model{
				{ID: "qwen2.5-7b-instruct", ContextLength: 8192, Tools: registry.CapYes},
			}},
		},
		{
			name: "llamacpp ok without model list", flavor: flavorOpenAI, typ: registry.TypeLlamaCpp,
			url:  func(t *testing.T, f *fake) string { return newLlamaOnly(t).URL },
			want: want{ok: true, parsed: false, status: 200},
		},
		{
			name: "llamacpp not ok", flavor: flavorLlama, typ: registry.TypeLlamaCpp,
			setup: func(f *fake) { f.setLlamaStatus("loading model") },
			want:  want{status: 200, err: `backend status "loading model"`, errKind: ErrNotReady},
		},
		{
			name: "llamacpp 503", flavor: flavorLlama, typ: registry.TypeLlamaCpp,
			setup: func(f *fake) { f.fail.Store(503) },
			want:  want{status: 503, err: "HTTP 503", errKind: ErrHTTPStatus},
		},
		{
			name: "vllm models", flavor: flavorOpenAI, typ: registry.TypeVLLM,
			models: []string{"meta-llama/Llama-3.2-11B-Vision-Instruct", "mistralai/Mistral-7B"},
			want: want{ok: true, parsed: true, status: 200, models: []registry.Model{
				{ID: "meta-llama/Llama-3.2-11B-Vision-Instruct", ContextLength: 8192, Vision: registry.CapYes, Tools: registry.CapYes},
				{ID: "mistralai/Mistral-7B", ContextLength: 8192, Tools: registry.CapYes},
			}},
		},
		{
			name: "generic openai models", flavor: flavorOpenAI, typ: registry.TypeGeneric,
			models: []string{"some-model"},
			want:   want{ok: true, parsed: true, status: 200, models: []registry.Model{{ID: "some-model", ContextLength: 8192}}},
		},
		{
			name: "non-2xx", flavor: flavorOpenAI, typ: registry.TypeOpenAI,
			setup: func(f *fake) { f.fail.Store(503) },
			want:  want{status: 503, err: "HTTP 503", errKind: ErrHTTPStatus},
		},
		{
			name: "404 on ollama", flavor: flavorOllama, typ: registry.TypeOllama,
			setup: func(f *fake) { f.fail.Store(404) },
			want:  want{status: 404, err: "HTTP 404", errKind: ErrHTTPStatus},
		},
		{
			name: "invalid json openai", flavor: flavorOpenAI, typ: registry.TypeLMStudio,
			setup: func(f *fake) { f.invalid.Store(true) },
			want:  want{ok: true, parsed: false, status: 200},
		},
		{
			name: "invalid json ollama", flavor: flavorOllama, typ: registry.TypeOllama,
			setup: func(f *fake) { f.invalid.Store(true) },
			want:  want{ok: true, parsed: false, status: 200},
		},
		{
			name: "timeout", flavor: flavorOpenAI, typ: registry.TypeVLLM, timeout: 100 * time.Millisecond,
			setup: func(f *fake) { f.delay.Store(int64(5 * time.Second)) },
			want:  want{err: "timeout after 100ms", errKind: ErrTimeout},
		},
		{
			name: "connection refused", flavor: flavorOpenAI, typ: registry.TypeGeneric,
			url:  func(t *testing.T, _ *fake) string { return closedURL(t) },
			want: want{errKind: ErrConnection},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.flavor, tc.models...)
			if tc.setup != nil {
				tc.setup(f)
			}
			url := f.URL()
			if tc.url != nil {
				url = tc.url(t, f)
			}
			reg := registry.New()
			b := addBackend(t, reg, "b", url, tc.typ, "")
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			client := newClient()
			t.Cleanup(client.CloseIdleConnections)
			res, _ := prober{client: client, timeout: timeout}.probe(t.Context(), b, nil)

			assert.Equal(t, tc.want.ok, res.OK, "OK (err %v)", res.Err)
			assert.Equal(t, tc.want.parsed, res.ModelsParsed, "ModelsParsed")
			assert.Equal(t, tc.want.status, res.StatusCode, "StatusCode")
			if tc.want.parsed {
				assert.Equal(t, tc.want.models, res.Models)
			}
			if tc.want.errKind == nil {
				require.NoError(t, res.Err)
				return
			}
			require.Error(t, res.Err)
			assert.ErrorIs(t, res.Err, tc.want.errKind)
			if tc.want.err != "" {
				assert.Equal(t, tc.want.err, res.Err.Error())
			}
			if errors.Is(tc.want.errKind, ErrTimeout) {
				assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
			}
			if errors.Is(tc.want.errKind, ErrConnection) {
				assert.Contains(t, res.Err.Error(), "connection failed: ")
				assert.Contains(t, res.Err.Error(), "refused")
			}
		})
	}
}

// newLlamaOnly is a llama.cpp server that predates /v1/models.
func newLlamaOnly(t *testing.T) *fakeHTTP {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"status": "ok"})
	})
	return startHTTP(t, mux)
}

func TestProbePublic(t *testing.T) {
	t.Parallel()
	f := newFake(t, flavorOpenAI, "m1", "m2")
	reg := registry.New()
	b := addBackend(t, reg, "b", f.URL(), registry.TypeGeneric, "")

	res := Probe(t.Context(), nil, b)
	require.NoError(t, res.Err)
	assert.True(t, res.OK)
	assert.Equal(t, []string{"m1", "m2"}, modelIDs(res.Models))
	assert.Positive(t, res.Latency)
	// A raw probe changes nothing.
	assert.Equal(t, registry.StatusUnknown, b.Status())
	assert.Empty(t, b.Models())
	assert.Zero(t, b.Latency())

	// The caller's deadline bounds it too.
	f.delay.Store(int64(5 * time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res = Probe(ctx, nil, b)
	require.ErrorIs(t, res.Err, ErrTimeout)
	assert.False(t, res.OK)
}

func TestProbeSendsAPIKeyAndNeverLeaksIt(t *testing.T) {
	t.Parallel()
	const key = "sk-very-secret-key-4711"
	cases := []struct {
		name    string
		flavor  string
		typ     registry.Type
		setup   func(f *fake)
		timeout time.Duration
		url     func(t *testing.T) string
	}{
		{name: "503", flavor: flavorOpenAI, typ: registry.TypeOpenAI, setup: func(f *fake) { f.fail.Store(503) }},
		{name: "not ready", flavor: flavorLlama, typ: registry.TypeLlamaCpp, setup: func(f *fake) { f.setLlamaStatus("error") }},
		{name: "timeout", flavor: flavorOllama, typ: registry.TypeOllama, timeout: 50 * time.Millisecond,
			setup: func(f *fake) { f.delay.Store(int64(5 * time.Second)) }},
		{name: "refused", flavor: flavorOpenAI, typ: registry.TypeOpenAI, url: func(t *testing.T) string { return closedURL(t) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.flavor, "m")
			if tc.setup != nil {
				tc.setup(f)
			}
			url := f.URL()
			if tc.url != nil {
				url = tc.url(t)
			}
			reg := registry.New()
			b := addBackend(t, reg, "b", url, tc.typ, key)
			c := New(reg, Config{Timeout: tc.timeout})
			t.Cleanup(c.Close)
			res := c.Check(t.Context(), b)
			require.Error(t, res.Err)
			assert.NotContains(t, res.Err.Error(), key)
			assert.NotContains(t, b.LastError(), key)
			assert.NotEmpty(t, b.LastError())
			if tc.url == nil {
				assert.Equal(t, "Bearer "+key, f.auth())
			}
		})
	}

	t.Run("success sends the key to tags and show", func(t *testing.T) {
		t.Parallel()
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+key {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			writeJSON(w, map[string]any{"models": []map[string]string{{"name": "m"}}})
		})
		showCh := make(chan string, 1)
		mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
			showCh <- r.Header.Get("Authorization")
			writeJSON(w, showBody("m"))
		})
		srv := startHTTP(t, mux)
		reg := registry.New()
		b := addBackend(t, reg, "b", srv.URL, registry.TypeOllama, key)
		res := Probe(t.Context(), nil, b)
		require.NoError(t, res.Err)
		assert.Equal(t, "Bearer "+key, <-showCh)
	})

	t.Run("no header without a key", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, flavorOpenAI, "m")
		reg := registry.New()
		b := addBackend(t, reg, "b", f.URL(), registry.TypeOpenAI, "")
		require.NoError(t, Probe(t.Context(), nil, b).Err)
		assert.Empty(t, f.auth())
	})
}

func TestClassifyScrubsKey(t *testing.T) {
	t.Parallel()
	err := classify(errors.New("proxy said: bad token sk-abc"), time.Second, "sk-abc")
	assert.Equal(t, "connection failed: proxy said: bad token [redacted]", err.Error())
	assert.ErrorIs(t, err, ErrConnection)
}
