package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/nexusllm/nexus/telemetry"
)

// Not parallel: it sets process environment variables, which the SDK reads.
func TestNewResourceFromEnv(t *testing.T) {
	c := telemetry.Config{ServiceName: "from-file"}
	name, _ := telemetry.NewResource(context.Background(), c).Set().Value("service.name")
	assert.Equal(t, "from-file", name.AsString())

	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod")
	set := telemetry.NewResource(context.Background(), c).Set()
	name, _ = set.Value("service.name")
	assert.Equal(t, "from-env", name.AsString(), "OTEL_SERVICE_NAME wins")
	env, _ := set.Value("deployment.environment.name")
	assert.Equal(t, "prod", env.AsString())

	name, _ = telemetry.NewResource(context.Background(), telemetry.Config{}).Set().Value("service.name")
	assert.Equal(t, "from-env", name.AsString())
}

func TestNewTracerExportsOverOTLPHTTP(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*coltracepb.ExportTraceServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/base/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	c := telemetry.Config{Endpoint: srv.URL + "/base/", Traces: true, LookupEnv: envOf(nil)}
	s := c.Resolve()
	tr, err := telemetry.NewTracer(context.Background(), c, s, telemetry.NewResource(context.Background(), c))
	require.NoError(t, err)
	require.NotNil(t, tr)
	span := tr.StartRequest(context.Background(), http.Header{}, telemetry.Request{Method: "POST", Route: "/v1/embeddings"})
	span.End(telemetry.Outcome{Status: 200})
	require.NoError(t, tr.Shutdown(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	spans := got[0].GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, "POST /v1/embeddings", spans[0].GetName())

	off, err := telemetry.NewTracer(context.Background(), c, telemetry.Settings{}, nil)
	assert.NoError(t, err)
	assert.Nil(t, off, "traces off: no tracer")
}
