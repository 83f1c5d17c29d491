package health

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		server func(t *testing.T) string
		want   registry.Type
	}{
		{"ollama", func(t *testing.T) string { return newFake(t, flavorOllama, "m").URL() }, registry.TypeOllama},
		{"ollama with no models", func(t *testing.T) string { return newFake(t, flavorOllama).URL() }, registry.TypeOllama},
		{"llama.cpp", func(t *testing.T) string { return newFake(t, flavorLlama, "m").URL() }, registry.TypeLlamaCpp},
		{"openai-compatible (vLLM's empty /health is no llama.cpp)", func(t *testing.T) string { return newFake(t, flavorOpenAI, "m").URL() }, registry.TypeGeneric},
		{"trailing /v1 in the URL", func(t *testing.T) string { return newFake(t, flavorOpenAI, "m").URL() + "/v1/" }, registry.TypeGeneric},
		{"/api/tags without models is no ollama", func(t *testing.T) string {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, map[string]any{"tags": 1}) })
			mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, map[string]any{"data": []any{}}) })
			return startHTTP(t, mux).URL
		}, registry.TypeGeneric},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Detect(t.Context(), nil, tc.server(t))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	failures := []struct {
		name   string
		server func(t *testing.T) string
		msg    string
	}{
		{"nothing answers", func(t *testing.T) string { return newFake(t, flavorNone).URL() }, "HTTP 404"},
		{"llama.cpp still loading", func(t *testing.T) string {
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
			return startHTTP(t, mux).URL
		}, "HTTP 503"},
		{"connection refused", func(t *testing.T) string { return closedURL(t) }, "connection failed"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := newClient()
			t.Cleanup(client.CloseIdleConnections)
			got, err := Detect(t.Context(), client, tc.server(t))
			require.ErrorIs(t, err, ErrUndetected)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Empty(t, got)
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Detect(ctx, nil, newFake(t, flavorOllama, "m").URL())
		require.ErrorIs(t, err, context.Canceled)
	})
}
