package telemetry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/nexusllm/nexus/telemetry"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	const file = "http://collector:4318/"
	tests := []struct {
		name string
		cfg  telemetry.Config
		env  map[string]string
		want telemetry.Settings
	}{
		{name: "nothing configured exports nothing", want: telemetry.Settings{Ratio: 1, RatioSampler: true}},
		{
			name: "file endpoint turns metrics on, traces stay off",
			cfg:  telemetry.Config{Endpoint: file, ExportInterval: 15 * time.Second},
			want: telemetry.Settings{Metrics: true, MetricsURL: "http://collector:4318/v1/metrics",
				TracesURL: "http://collector:4318/v1/traces", Interval: 15 * time.Second, Ratio: 1, RatioSampler: true},
		},
		{
			name: "file endpoint and traces with a ratio",
			cfg:  telemetry.Config{Endpoint: "https://c:4318/otlp", Traces: true, SampleRatio: 0.25},
			want: telemetry.Settings{Metrics: true, Traces: true, MetricsURL: "https://c:4318/otlp/v1/metrics",
				TracesURL: "https://c:4318/otlp/v1/traces", Ratio: 0.25, RatioSampler: true},
		},
		{
			name: "the generic env endpoint turns metrics on and is left to the SDK",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
			want: telemetry.Settings{Metrics: true, Ratio: 1, RatioSampler: true},
		},
		{
			name: "the env endpoint wins over the file's",
			cfg:  telemetry.Config{Endpoint: file, Traces: true},
			env:  map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://env:4318/m"},
			want: telemetry.Settings{Metrics: true, Traces: true, TracesURL: "http://collector:4318/v1/traces", Ratio: 1, RatioSampler: true},
		},
		{
			name: "OTEL_TRACES_EXPORTER=otlp turns traces on",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "console, OTLP"},
			want: telemetry.Settings{Traces: true, Ratio: 1, RatioSampler: true},
		},
		{
			name: "none turns a signal off",
			cfg:  telemetry.Config{Endpoint: file, Traces: true},
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
			want: telemetry.Settings{TracesURL: "http://collector:4318/v1/traces",
				MetricsURL: "http://collector:4318/v1/metrics", Ratio: 1, RatioSampler: true},
		},
		{
			name: "OTEL_SDK_DISABLED turns everything off",
			cfg:  telemetry.Config{Endpoint: file, Traces: true},
			env:  map[string]string{"OTEL_SDK_DISABLED": "true"},
			want: telemetry.Settings{},
		},
		{
			name: "env interval and sampler win",
			cfg:  telemetry.Config{Traces: true, ExportInterval: time.Second, SampleRatio: 0.5},
			env:  map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "5000", "OTEL_TRACES_SAMPLER": "always_on"},
			want: telemetry.Settings{Traces: true, Ratio: 0.5},
		},
		{
			name: "another protocol is a warning",
			cfg:  telemetry.Config{Traces: true},
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: telemetry.Settings{Traces: true, Ratio: 1, RatioSampler: true,
				Warnings: []string{`OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported; exporting with http/protobuf`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.LookupEnv = envOf(tt.env)
			assert.Equal(t, tt.want, tt.cfg.Resolve())
		})
	}
}

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"http://collector:4318", "https://otel.example.com", "http://[::1]:4318/prefix/"} {
		assert.NoError(t, telemetry.CheckEndpoint(ok), ok)
	}
	for _, bad := range []string{"collector:4318", "grpc://c:4317", "http://", "http://c:4318?x=1", "http://c#f", "http://u:secret@c:4318", "::"} {
		err := telemetry.CheckEndpoint(bad)
		if assert.Error(t, err, bad) {
			assert.NotContains(t, err.Error(), "secret")
		}
	}
}

func TestOperationAndProvider(t *testing.T) {
	t.Parallel()
	for endpoint, want := range map[string]string{
		"chat": "chat", "messages": "chat", "responses": "chat", "completions": "text_completion",
		"embeddings": "embeddings", "rerank": "rerank", "count_tokens": "count_tokens",
	} {
		assert.Equal(t, want, telemetry.Operation(endpoint), endpoint)
	}
	assert.Equal(t, "openai", telemetry.Provider("openai"))
	assert.Equal(t, "vllm", telemetry.Provider("vllm"))
	assert.Equal(t, "generic", telemetry.Provider(""))
}
