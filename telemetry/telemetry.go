// Package telemetry exports what the gateway measures to an OpenTelemetry
// collector over OTLP/HTTP (protobuf): the metrics package's instruments,
// pushed periodically, and traces with one server span per request and one
// client span per backend attempt, carrying the OpenTelemetry GenAI
// semantic-convention attributes (semconv 1.40.0).
//
// Nothing here is global: no otel.SetTracerProvider, no propagator set on
// the otel package. The gateway owns the Tracer and the metric exporter and
// shuts them down (flushing) on Close. W3C Trace Context (traceparent,
// tracestate) is read from client requests and written into backend
// requests by the Tracer itself.
//
// Export is configured by Config (the [telemetry] section of nexus.toml)
// and by the standard OpenTelemetry environment variables, which win over
// the file (see Resolve). The OTLP exporters read OTEL_EXPORTER_OTLP_*
// (headers, timeout, compression, certificates, temporality) from the
// process environment themselves; the periodic reader reads
// OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT, the tracer
// provider OTEL_TRACES_SAMPLER(_ARG) and the batch span processor
// OTEL_BSP_*.
package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultServiceName is service.name when neither OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES nor Config.ServiceName names the service.
const DefaultServiceName = "nexus"

// Config says where and what to export. The zero Config exports nothing
// unless the environment turns export on.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g.
	// "http://collector:4318"; signals go to its /v1/metrics and /v1/traces.
	// "" leaves export to the environment (OTEL_EXPORTER_OTLP_ENDPOINT and
	// the per-signal variables, which also win over Endpoint). Any endpoint
	// turns metrics export on.
	Endpoint string
	// Traces turns trace export on (OTEL_TRACES_EXPORTER=otlp does too;
	// OTEL_TRACES_EXPORTER=none turns it off).
	Traces bool
	// SampleRatio is the fraction of new traces recorded, in [0, 1]; 0
	// means 1 (every request). A request whose traceparent carries a
	// sampling decision keeps it (parent-based). OTEL_TRACES_SAMPLER wins.
	SampleRatio float64
	// ServiceName is service.name; "" means DefaultServiceName.
	// OTEL_SERVICE_NAME wins.
	ServiceName string
	// ExportInterval is the metric push interval; 0 means
	// OTEL_METRIC_EXPORT_INTERVAL or, without it, 60s. The variable wins.
	ExportInterval time.Duration
	// ContentInSpans allows prompt content in spans (the gateway sets it
	// from logging.enable_content_logging). False keeps spans free of
	// message content.
	ContentInSpans bool
	// Logger receives configuration warnings; nil discards them.
	Logger *slog.Logger
	// LookupEnv reads the environment for the decisions made here (what is
	// on, which endpoint wins); nil means os.LookupEnv. The SDK's exporters
	// read their own variables from the process environment regardless.
	LookupEnv func(string) (string, bool)
}

// Settings is Config resolved against the environment: what to export and
// where. Resolve computes it.
type Settings struct {
	// Metrics and Traces say which signals are exported.
	Metrics, Traces bool
	// MetricsURL and TracesURL are the full URLs the exporters are given;
	// "" means the exporter takes its endpoint from the environment (or
	// its default, http://localhost:4318).
	MetricsURL, TracesURL string
	// Interval is the push interval to set; 0 means the reader's own
	// (OTEL_METRIC_EXPORT_INTERVAL or 60s).
	Interval time.Duration
	// Ratio is the sampling ratio; RatioSampler is false when
	// OTEL_TRACES_SAMPLER chooses the sampler instead.
	Ratio        float64
	RatioSampler bool
	// Warnings are configuration problems that did not stop export.
	Warnings []string
}

// Resolve decides what is exported, with environment variables winning
// over c (defaults < file < environment):
//
//   - OTEL_SDK_DISABLED=true turns everything off.
//   - Metrics are pushed when c.Endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, unless
//     OTEL_METRICS_EXPORTER=none.
//   - Traces are exported when c.Traces or OTEL_TRACES_EXPORTER=otlp,
//     unless OTEL_TRACES_EXPORTER=none.
//   - Only OTLP over HTTP with protobuf is spoken: another
//     OTEL_EXPORTER_OTLP_(METRICS_|TRACES_)PROTOCOL yields a warning.
func (c Config) Resolve() Settings {
	env := c.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	get := func(name string) string {
		v, _ := env(name)
		return strings.TrimSpace(v)
	}
	var s Settings
	if on, err := strconv.ParseBool(get("OTEL_SDK_DISABLED")); err == nil && on {
		return s
	}
	generic := get("OTEL_EXPORTER_OTLP_ENDPOINT")
	metricsEnv := get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
	tracesEnv := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

	s.Metrics = c.Endpoint != "" || generic != "" || metricsEnv != ""
	if exporterNone(get("OTEL_METRICS_EXPORTER")) {
		s.Metrics = false
	}
	s.Traces = c.Traces || exporterList(get("OTEL_TRACES_EXPORTER"), "otlp")
	if exporterNone(get("OTEL_TRACES_EXPORTER")) {
		s.Traces = false
	}
	if generic == "" && metricsEnv == "" && c.Endpoint != "" {
		s.MetricsURL = signalURL(c.Endpoint, "/v1/metrics")
	}
	if generic == "" && tracesEnv == "" && c.Endpoint != "" {
		s.TracesURL = signalURL(c.Endpoint, "/v1/traces")
	}
	if get("OTEL_METRIC_EXPORT_INTERVAL") == "" {
		s.Interval = c.ExportInterval
	}
	s.RatioSampler = get("OTEL_TRACES_SAMPLER") == ""
	s.Ratio = c.SampleRatio
	if s.Ratio <= 0 || s.Ratio > 1 {
		s.Ratio = 1
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := get(name); v != "" && v != "http/protobuf" {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s=%q is not supported; exporting with http/protobuf", name, v))
		}
	}
	return s
}

// signalURL joins a base URL and a signal path as the OTLP specification
// does for OTEL_EXPORTER_OTLP_ENDPOINT.
func signalURL(base, signal string) string {
	return strings.TrimRight(base, "/") + signal
}

// exporterNone reports whether an OTEL_*_EXPORTER value is "none".
func exporterNone(v string) bool {
	return strings.EqualFold(v, "none")
}

// exporterList reports whether the comma-separated OTEL_*_EXPORTER value
// names want.
func exporterList(v, want string) bool {
	for name := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(name), want) {
			return true
		}
	}
	return false
}

// CheckEndpoint reports what is wrong with an OTLP/HTTP base URL, nil when
// it is usable: an http or https URL with a host and no query, fragment or
// credentials (headers carry credentials: OTEL_EXPORTER_OTLP_HEADERS). The
// message quotes the URL only when it holds no credentials.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return errors.New("not a URL; want e.g. http://collector:4318")
	case u.User != nil:
		return errors.New("must not hold credentials; set OTEL_EXPORTER_OTLP_HEADERS instead")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("want an http:// or https:// URL such as http://collector:4318 (got %q)", endpoint)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("want a URL with a host (got %q)", endpoint)
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("want a base URL without query or fragment (got %q)", endpoint)
	}
	return nil
}
