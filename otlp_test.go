package nexus_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// otlpReceiver is an OTLP/HTTP collector on loopback that decodes the real
// protobuf payloads of /v1/metrics and /v1/traces.
type otlpReceiver struct {
	URL string

	mu      sync.Mutex
	metrics []*colmetricspb.ExportMetricsServiceRequest
	traces  []*coltracepb.ExportTraceServiceRequest
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var reply proto.Message
		rc.mu.Lock()
		switch r.URL.Path {
		case "/v1/metrics":
			m := &colmetricspb.ExportMetricsServiceRequest{}
			err = proto.Unmarshal(body, m)
			rc.metrics = append(rc.metrics, m)
			reply = &colmetricspb.ExportMetricsServiceResponse{}
		case "/v1/traces":
			m := &coltracepb.ExportTraceServiceRequest{}
			err = proto.Unmarshal(body, m)
			rc.traces = append(rc.traces, m)
			reply = &coltracepb.ExportTraceServiceResponse{}
		default:
			err = fmt.Errorf("unexpected path %s", r.URL.Path)
		}
		rc.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, _ := proto.Marshal(reply)
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// lastSum returns the value of the cumulative counter name in the last
// export that carried it, summed over its series, and the resource's
// service.name.
func (rc *otlpReceiver) lastSum(name string) (sum int64, service string, found bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, req := range rc.metrics {
		for _, rm := range req.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() != name {
						continue
					}
					sum, found = 0, true
					service = attr(rm.GetResource().GetAttributes(), "service.name").GetStringValue()
					s := m.GetSum()
					if s.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE || !s.GetIsMonotonic() {
						return -1, service, true
					}
					for _, dp := range s.GetDataPoints() {
						sum += dp.GetAsInt()
					}
				}
			}
		}
	}
	return sum, service, found
}

// spans returns every span received for the trace id (hex).
func (rc *otlpReceiver) spans(traceID string) []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*tracepb.Span
	for _, req := range rc.traces {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					if hex.EncodeToString(s.GetTraceId()) == traceID {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func attr(kv []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, a := range kv {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return nil
}

func TestOTLPMetricsPush(t *testing.T) {
	t.Parallel()
	rc := newOTLPReceiver(t)
	be := nexustest.NewBackend(t, nexustest.Models("llama3"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Telemetry.OTLPEndpoint = rc.URL
	cfg.Telemetry.ServiceName = "nexus-test"
	gw, base := startGateway(t, cfg)

	const n = 7
	for i := range n {
		resp, body := postPath(t, base, "/v1/chat/completions",
			`{"model":"llama3","messages":[{"role":"user","content":"hi"}],"stream":`+fmt.Sprint(i%2 == 0)+`}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	}
	require.NoError(t, gw.Close()) // the last push flushes

	sum, service, found := rc.lastSum("nexus_requests_total")
	require.True(t, found, "nexus_requests_total was pushed under its Prometheus name")
	assert.Equal(t, int64(n), sum, "the pushed counter equals the requests sent")
	assert.Equal(t, "nexus-test", service)
	_, _, found = rc.lastSum("nexus_request_duration_seconds")
	assert.True(t, found, "histograms are pushed too")

	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Empty(t, rc.traces, "traces are off by default")
}

func TestOTLPFailoverTrace(t *testing.T) {
	t.Parallel()
	rc := newOTLPReceiver(t)
	bad := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Fail(503))
	good := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Usage(11, 22))
	cfg := testConfig(backendConfig("first", bad, 1), backendConfig("second", good, 2))
	cfg.Telemetry.OTLPEndpoint = rc.URL
	cfg.Telemetry.Traces = true
	gw, base := startGateway(t, cfg)

	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	resp, body := postPath(t, base, "/v1/chat/completions",
		`{"model":"llama3","messages":[{"role":"user","content":"a secret prompt"}]}`,
		"Traceparent", "00-"+traceID+"-"+parentID+"-01", "Tracestate", "vendor=v1")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "second", resp.Header.Get(nexus.HeaderBackend))
	require.NoError(t, gw.Close()) // flushes the batch of spans

	spans := rc.spans(traceID)
	require.Len(t, spans, 3, "one server span and one span per attempt")
	var server *tracepb.Span
	var attempts []*tracepb.Span
	for _, s := range spans {
		switch s.GetKind() {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			attempts = append(attempts, s)
		}
	}
	require.NotNil(t, server)
	require.Len(t, attempts, 2)
	assert.Equal(t, parentID, hex.EncodeToString(server.GetParentSpanId()), "the client's traceparent is the parent")
	assert.Equal(t, "POST /v1/chat/completions", server.GetName())
	assert.Equal(t, "chat", attr(server.GetAttributes(), "gen_ai.operation.name").GetStringValue())
	assert.Equal(t, "llama3", attr(server.GetAttributes(), "gen_ai.request.model").GetStringValue())
	assert.Equal(t, "llama3", attr(server.GetAttributes(), "gen_ai.response.model").GetStringValue())
	assert.Equal(t, int64(11), attr(server.GetAttributes(), "gen_ai.usage.input_tokens").GetIntValue())
	assert.Equal(t, int64(22), attr(server.GetAttributes(), "gen_ai.usage.output_tokens").GetIntValue())
	assert.Equal(t, "second", attr(server.GetAttributes(), "nexus.backend").GetStringValue())
	assert.Equal(t, int64(2), attr(server.GetAttributes(), "nexus.attempts").GetIntValue())
	assert.Equal(t, int64(200), attr(server.GetAttributes(), "http.response.status_code").GetIntValue())
	for _, s := range spans {
		for _, a := range s.GetAttributes() {
			assert.NotContains(t, a.GetValue().GetStringValue(), "secret prompt", "no content without content logging")
		}
	}

	// Attempts in order: the failed one, then the one that served.
	if attempts[0].GetStartTimeUnixNano() > attempts[1].GetStartTimeUnixNano() {
		attempts[0], attempts[1] = attempts[1], attempts[0]
	}
	backends := []*nexustest.Backend{bad, good}
	for i, s := range attempts {
		a := s.GetAttributes()
		assert.Equal(t, server.GetSpanId(), s.GetParentSpanId())
		assert.Equal(t, "chat llama3", s.GetName())
		assert.Equal(t, "chat", attr(a, "gen_ai.operation.name").GetStringValue())
		assert.Equal(t, "llama3", attr(a, "gen_ai.request.model").GetStringValue())
		assert.Equal(t, "openai", attr(a, "gen_ai.provider.name").GetStringValue())
		assert.Equal(t, "127.0.0.1", attr(a, "server.address").GetStringValue())
		assert.Equal(t, backendPort(t, backends[i]), attr(a, "server.port").GetIntValue())
		assert.Equal(t, []string{"first", "second"}[i], attr(a, "nexus.backend").GetStringValue())
		assert.NotEmpty(t, attr(a, "nexus.route_reason").GetStringValue())
		assert.Equal(t, int64(i+1), attr(a, "nexus.attempt").GetIntValue())

		// The backend saw the attempt's span as its parent, in the same
		// trace, with the client's tracestate.
		var seen []string
		for _, r := range backends[i].Requests() {
			if r.Path == "/v1/chat/completions" {
				seen = append(seen, r.Header.Get("Traceparent"))
				assert.Equal(t, "vendor=v1", r.Header.Get("Tracestate"))
			}
		}
		assert.Equal(t, []string{"00-" + traceID + "-" + hex.EncodeToString(s.GetSpanId()) + "-01"}, seen)
	}
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, attempts[0].GetStatus().GetCode())
	assert.Equal(t, int64(503), attr(attempts[0].GetAttributes(), "http.response.status_code").GetIntValue())
	assert.Equal(t, "503", attr(attempts[0].GetAttributes(), "error.type").GetStringValue())
	assert.NotEqual(t, tracepb.Status_STATUS_CODE_ERROR, attempts[1].GetStatus().GetCode())
	assert.Equal(t, "llama3", attr(attempts[1].GetAttributes(), "gen_ai.response.model").GetStringValue())
	assert.Equal(t, int64(11), attr(attempts[1].GetAttributes(), "gen_ai.usage.input_tokens").GetIntValue())
}

// TestTracingOffForwardsClientTraceparent: with traces off the gateway
// passes the client's trace headers to the backend as they came.
func TestTracingOffForwardsClientTraceparent(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"))
	_, base := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	resp, body := postPath(t, base, "/v1/chat/completions", `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`, "Traceparent", tp)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	for _, r := range be.Requests() {
		if r.Path == "/v1/chat/completions" {
			assert.Equal(t, tp, r.Header.Get("Traceparent"))
		}
	}
}

func TestTelemetryConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		set  func(*nexus.TelemetryConfig)
		want string
	}{
		{func(c *nexus.TelemetryConfig) { c.OTLPEndpoint = "collector:4318" }, "telemetry.otlp_endpoint"},
		{func(c *nexus.TelemetryConfig) { c.OTLPEndpoint = "http://user:pw@c:4318" }, "telemetry.otlp_endpoint: must not hold credentials"},
		{func(c *nexus.TelemetryConfig) { c.SampleRatio = 1.5 }, "telemetry.sample_ratio"},
		{func(c *nexus.TelemetryConfig) { c.ExportInterval = -1 }, "telemetry.export_interval"},
		{func(c *nexus.TelemetryConfig) { c.ExportInterval = 1 }, "telemetry.export_interval"},
	} {
		cfg := testConfig()
		tt.set(&cfg.Telemetry)
		err := cfg.Validate()
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "pw")
		}
	}
	cfg := testConfig()
	cfg.Telemetry = nexus.TelemetryConfig{OTLPEndpoint: "http://collector:4318", Traces: true, SampleRatio: 0.5}
	assert.NoError(t, cfg.Validate())
}

func backendPort(t *testing.T, b *nexustest.Backend) int64 {
	t.Helper()
	_, port, ok := strings.Cut(strings.TrimPrefix(b.URL(), "http://"), ":")
	require.True(t, ok)
	var n int64
	_, err := fmt.Sscan(strings.TrimSuffix(port, "/"), &n)
	require.NoError(t, err)
	return n
}
