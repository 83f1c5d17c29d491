package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// NewResource returns the resource both signals export with: service.name
// (OTEL_SERVICE_NAME, else c.ServiceName, else DefaultServiceName), the
// attributes of OTEL_RESOURCE_ATTRIBUTES and the SDK's name and version.
// A malformed OTEL_RESOURCE_ATTRIBUTES is logged to c.Logger and skipped.
func NewResource(ctx context.Context, c Config) *resource.Resource {
	name := c.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	// Later options win: the environment over the configuration.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(name)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		logger(c).Warn("telemetry: resource attributes from the environment are partly invalid", "error", err.Error())
	}
	if res == nil {
		res = resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(name))
	}
	return res
}

// NewMetricExporter returns the OTLP/HTTP metric exporter s asks for, nil
// when metrics are not exported. It starts nothing; pass it to
// metrics.WithPush, whose reader shuts it down.
func NewMetricExporter(ctx context.Context, s Settings) (sdkmetric.Exporter, error) {
	if !s.Metrics {
		return nil, nil
	}
	var opts []otlpmetrichttp.Option
	if s.MetricsURL != "" {
		opts = append(opts, otlpmetrichttp.WithEndpointURL(s.MetricsURL))
	}
	return otlpmetrichttp.New(ctx, opts...)
}

// NewSpanExporter returns the OTLP/HTTP span exporter s asks for (whatever
// s.Traces says). It starts nothing; the Tracer given it shuts it down.
func NewSpanExporter(ctx context.Context, s Settings) (sdktrace.SpanExporter, error) {
	var opts []otlptracehttp.Option
	if s.TracesURL != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(s.TracesURL))
	}
	return otlptracehttp.New(ctx, opts...)
}

func logger(c Config) *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
