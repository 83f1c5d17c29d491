package nexus

import (
	"time"

	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/routing"
)

// Config is the whole gateway configuration. Embedders fill it in, usually
// starting from DefaultConfig; New validates it. The toml tags document its
// file form, nexus.toml, compatible with the Rust original's: package
// config loads that file and NEXUS_* environment variables into a Config.
type Config struct {
	Server      ServerConfig      `toml:"server"`
	Discovery   DiscoveryConfig   `toml:"discovery"`
	HealthCheck HealthCheckConfig `toml:"health_check"`
	Routing     RoutingConfig     `toml:"routing"`
	Backends    []BackendConfig   `toml:"backends"`
	Logging     LoggingConfig     `toml:"logging"`
	Telemetry   TelemetryConfig   `toml:"telemetry"`
	// Signals is the [signals] section: reading the load backends report.
	Signals SignalsConfig `toml:"signals"`
	// Queue is the [queue] section: waiting for capacity.
	Queue QueueConfig `toml:"queue"`
	// Keys are the named inbound API keys with their roles, model access
	// and limits (see KeyConfig); server.api_keys keeps working beside
	// them. No keys at all means authentication is off.
	Keys []KeyConfig `toml:"keys"`
	// Limits says where the keys' request and token budgets are kept: in
	// this process, or in Redis, shared by every replica (see LimitsConfig).
	Limits LimitsConfig `toml:"limits"`
}

// Values of LimitsConfig.Store.
const (
	LimitStoreMemory = "memory"
	LimitStoreRedis  = "redis"
)

// LimitsConfig is the [limits] section: where the per-key requests and
// tokens per minute are counted. Concurrent requests per key are always
// counted per gateway process. Printing it with fmt redacts the password in
// RedisURL.
type LimitsConfig struct {
	// Store is "memory" (each gateway counts on its own; the default, also
	// when empty) or "redis" (every gateway using the same Redis and key
	// names shares each key's budgets, so a limit holds for the fleet).
	// While Redis does not answer, each gateway falls back to counting on
	// its own, logs it once and reports nexus_limits_store_up 0; inference
	// and /ready are unaffected.
	Store string `toml:"store"`
	// RedisURL is the Redis server for store = "redis":
	// redis://[:password@]host[:port][/db], rediss:// for TLS, or
	// unix:///path.
	RedisURL string `toml:"redis_url"`
	// RedisTimeout bounds each call to Redis, which is one per request
	// (and one more after it for a key with a token budget); 0 means 50ms.
	RedisTimeout time.Duration `toml:"redis_timeout"`
	// RedisProbeInterval is how often Redis is pinged while it does not
	// answer; 0 means 1s.
	RedisProbeInterval time.Duration `toml:"redis_probe_interval"`
	// RedisKeyPrefix is put before each key's name to form its Redis key;
	// empty means "nexus:limits:". Gateways that share budgets use the same
	// prefix; gateways that must not, different ones.
	RedisKeyPrefix string `toml:"redis_key_prefix"`
}

// KeyConfig is one [[keys]] entry: a named inbound API key. Printing it
// with fmt redacts Key.
type KeyConfig struct {
	// Name identifies the key in logs, history, metrics and /v1/stats; it
	// is never the secret.
	Name string `toml:"name"`
	// Key is the secret itself (discouraged in a file: prefer KeyEnv).
	Key string `toml:"key" json:"-"`
	// KeyEnv names the environment variable holding the secret; resolved
	// into Key by config.ApplyEnv.
	KeyEnv string `toml:"key_env"`
	// Role is "user" (inference only, the default) or "admin" (may also
	// change the fleet through the admin API).
	Role string `toml:"role"`
	// Models is a glob allow-list ("llama3*", "qwen2.5:7b"); empty allows
	// every model. A model outside it is answered as not found.
	Models []string `toml:"models"`
	// RequestsPerMinute, TokensPerMinute and MaxConcurrentRequests bound
	// the key's use; 0 means unlimited. Tokens are counted from each
	// reply's usage, after the reply.
	RequestsPerMinute     int64 `toml:"requests_per_minute"`
	TokensPerMinute       int64 `toml:"tokens_per_minute"`
	MaxConcurrentRequests int   `toml:"max_concurrent_requests"`
}

// ServerConfig is the [server] section: where the gateway listens and how
// it treats inbound requests. Printing it with fmt redacts APIKeys.
type ServerConfig struct {
	Host                  string   `toml:"host"`                    // listen address, default "0.0.0.0"
	Port                  int      `toml:"port"`                    // listen port, default 8000
	RequestTimeoutSeconds int      `toml:"request_timeout_seconds"` // upstream timeout, default 300
	MaxConcurrentRequests int      `toml:"max_concurrent_requests"` // default 1000; 0 = no limit
	APIKeys               []string `toml:"api_keys" json:"-"`       // inbound gateway keys; empty = auth off

	// ConnectTimeout bounds dialing a backend (TOML: a duration string such
	// as "5s"); default 5s.
	ConnectTimeout time.Duration `toml:"connect_timeout"`
	// FirstByteTimeout bounds the wait for a backend's response headers and,
	// for a stream, its first event; zero means request_timeout_seconds.
	FirstByteTimeout time.Duration `toml:"first_byte_timeout"`
	// StreamIdleTimeout bounds the gap between two events of a stream, so a
	// stalled backend cannot hang a client while long streams still work;
	// zero means the smaller of 60s and request_timeout_seconds, so a
	// stalled stream ends within the time the operator asked for.
	StreamIdleTimeout time.Duration `toml:"stream_idle_timeout"`
	// MaxUploadsPerClient bounds the request bodies one client address may
	// be sending at once (slow uploads hold connections, never
	// concurrency slots); 0 means 256 (clients behind one proxy share an
	// address), negative means no bound.
	MaxUploadsPerClient int `toml:"max_uploads_per_client"`

	// The next four bound the inbound side: the http.Server of `nexus serve`
	// (an embedder sets its own server's timeouts).

	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers, so a slow client cannot hold a connection; default
	// 10s.
	ReadHeaderTimeout time.Duration `toml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, headers and body; it does
	// not limit the response, so long streams are unaffected; default 60s.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// IdleTimeout is how long an idle keep-alive connection is kept open;
	// default 120s.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown;
	// connections still open after it are closed; default 30s.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
}

// DiscoveryConfig is the [discovery] section (mDNS discovery of backends).
type DiscoveryConfig struct {
	Enabled bool `toml:"enabled"` // default true
	// ServiceTypes are the mDNS service types browsed for; config.Parse adds
	// a missing trailing dot.
	ServiceTypes       []string `toml:"service_types"`
	GracePeriodSeconds int      `toml:"grace_period_seconds"` // default 60
	// MaxBackends bounds how many discovered backends are registered at
	// once, so a flood of announcements cannot grow the registry; default
	// 64, 0 means the default.
	MaxBackends int `toml:"max_backends"`
}

// HealthCheckConfig is the [health_check] section (active probes).
type HealthCheckConfig struct {
	Enabled           bool `toml:"enabled"`            // default true
	IntervalSeconds   int  `toml:"interval_seconds"`   // default 30
	TimeoutSeconds    int  `toml:"timeout_seconds"`    // default 5
	FailureThreshold  int  `toml:"failure_threshold"`  // healthy → unhealthy, default 3
	RecoveryThreshold int  `toml:"recovery_threshold"` // unhealthy → healthy, default 2
	// PassiveFailureThreshold is how many consecutive failed requests take
	// a backend out of rotation before the next probe; default 3.
	PassiveFailureThreshold int `toml:"passive_failure_threshold"`
	// PassiveCooldownSeconds is how long a backend ejected by failed
	// requests stays out before one request is let through to try it
	// (half-open); success readmits it. Default 30.
	PassiveCooldownSeconds int `toml:"passive_cooldown_seconds"`
}

// RoutingConfig is the [routing] section: strategy, retries, scoring
// weights, model aliases and fallback chains.
type RoutingConfig struct {
	Strategy   string              `toml:"strategy"`    // one of routing.StrategyNames(); default smart
	MaxRetries int                 `toml:"max_retries"` // extra attempts after the first, default 2
	Weights    RoutingWeights      `toml:"weights"`     // used by the smart strategy
	Aliases    map[string]string   `toml:"aliases"`     // alias → target model
	Fallbacks  map[string][]string `toml:"fallbacks"`   // model → models tried in order
	// Affinity sends the requests of one session (X-Nexus-Session-Id,
	// X-Claude-Code-Session-Id or the body's prompt_cache_key) to the same
	// backend while it has room, with every strategy; default true.
	Affinity bool `toml:"affinity"`
	// AffinityUser also takes the body's "user" as the session key when
	// none of those is present; default false.
	AffinityUser bool `toml:"affinity_user"`
}

// SignalsConfig is the [signals] section: the load, capacity and loaded
// models backends report (vLLM and SGLang /metrics, llama.cpp /slots,
// Ollama /api/ps), read separately from health probes. A failed read
// never marks a backend unhealthy; a reading older than three intervals
// is ignored.
type SignalsConfig struct {
	// Enabled polls the backends whose type reports load; default true.
	// Off, routing uses the gateway's own in-flight counts only.
	Enabled bool `toml:"enabled"`
	// IntervalSeconds is the time between two reads of a backend; 0
	// means 1.
	IntervalSeconds int `toml:"interval_seconds"`
}

// QueueConfig is the [queue] section (upstream's keys). When every backend
// for a request is at capacity ([[backends]] max_concurrency, or the slots
// a llama.cpp server reports), the request waits for one to free, high
// priority first (X-Nexus-Priority: high|normal|low), keys taking turns,
// in arrival order within a key. A full queue or a wait past
// max_wait_seconds is answered 429 with Retry-After.
type QueueConfig struct {
	// Enabled turns the queue on; default true. Off, a request for
	// backends at capacity is sent to the least busy of them anyway.
	Enabled bool `toml:"enabled"`
	// MaxSize is how many requests may wait at once; default 100.
	MaxSize int `toml:"max_size"`
	// MaxWaitSeconds is the longest a request waits; default 30.
	MaxWaitSeconds int `toml:"max_wait_seconds"`
}

// RoutingWeights are the smart strategy's scoring weights (default 50/30/20),
// checked by routing.Weights.Validate. A key missing from [routing.weights]
// keeps its default.
type RoutingWeights struct {
	Priority int `toml:"priority"`
	Load     int `toml:"load"`
	Latency  int `toml:"latency"`
}

// BackendConfig is one [[backends]] entry. Printing it with fmt redacts
// APIKey.
type BackendConfig struct {
	Name string `toml:"name"`
	URL  string `toml:"url"` // base URL, http:// or https://
	// Type is one of registry.Types(), as registry.ParseType reads it
	// ("llama.cpp" is accepted); empty means generic.
	Type string `toml:"type"`
	// Priority orders backends, lower is preferred; DefaultBackendPriority
	// when the file omits it.
	Priority int `toml:"priority"`
	// APIKeyEnv names the environment variable holding the backend's key.
	APIKeyEnv string `toml:"api_key_env"`
	// APIKey is resolved from APIKeyEnv by config.ApplyEnv; it is never
	// printed.
	APIKey string `toml:"-" json:"-"`
	// Models lists models statically (a Nexus extension to the upstream schema).
	Models []ModelConfig `toml:"models"`
	// Endpoints lists the inference APIs the backend serves natively, from
	// registry.EndpointNames() ("chat", "completions", "embeddings",
	// "rerank", "responses", "messages"); empty means the type's defaults
	// (registry.DefaultEndpoints).
	Endpoints []string `toml:"endpoints"`
	// MaxConcurrency is how many requests the backend serves at once; a
	// backend at it is not chosen while another has room, and requests
	// wait in the queue when all are at it. 0 means what the backend
	// reports (a llama.cpp server's slots), else unlimited.
	MaxConcurrency int `toml:"max_concurrency"`
}

// ModelConfig is a model listed statically under a backend. Nil capability
// pointers mean "unknown", which routing treats as allowed.
type ModelConfig struct {
	ID            string `toml:"id"`
	ContextLength int    `toml:"context_length"`
	Vision        *bool  `toml:"vision"`
	Tools         *bool  `toml:"tools"`
	JSONMode      *bool  `toml:"json_mode"`
}

// LoggingConfig is the [logging] section.
type LoggingConfig struct {
	// Level is one of logging.Levels() as logging.ParseLevel reads it
	// ("trace" = debug, "warning" = warn); empty means info.
	Level string `toml:"level"`
	// Format is one of logging.Formats() as logging.ParseFormat reads it
	// ("text" = pretty); empty means pretty.
	Format string `toml:"format"`
	// ComponentLevels overrides Level per component, e.g. {routing = "debug"}.
	ComponentLevels      map[string]string `toml:"component_levels"`
	EnableContentLogging bool              `toml:"enable_content_logging"`
}

// TelemetryConfig is the [telemetry] section: OpenTelemetry export over
// OTLP/HTTP (protobuf) to a collector, beside /metrics. The standard
// OTEL_* environment variables win over it (see telemetry.Config.Resolve):
// OTEL_EXPORTER_OTLP_ENDPOINT turns metrics export on like OTLPEndpoint,
// OTEL_TRACES_EXPORTER=otlp turns traces on like Traces, and the exporters
// read OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION and the
// certificate variables themselves. The zero value exports nothing.
type TelemetryConfig struct {
	// OTLPEndpoint is the collector's OTLP/HTTP base URL, e.g.
	// "http://collector:4318"; it turns the periodic push of every metric
	// (same names as /metrics: nexus_requests_total, ...) on, and is where
	// traces go when Traces is on. "" leaves it to the environment.
	OTLPEndpoint string `toml:"otlp_endpoint"`
	// Traces exports one server span per inference request and one client
	// span per backend attempt, with GenAI semantic-convention attributes.
	// Off by default. Prompt content appears in spans only with
	// logging.enable_content_logging.
	Traces bool `toml:"traces"`
	// SampleRatio is the fraction of new traces recorded, 0 to 1; 0 means 1.
	// A client's traceparent keeps its own sampling decision.
	SampleRatio float64 `toml:"sample_ratio"`
	// ServiceName is service.name; "" means "nexus". OTEL_SERVICE_NAME wins.
	ServiceName string `toml:"service_name"`
	// ExportInterval is the metric push interval (TOML: a duration string
	// such as "15s"); zero means OTEL_METRIC_EXPORT_INTERVAL, else 60s.
	ExportInterval time.Duration `toml:"export_interval"`
}

// DefaultBackendPriority is the priority of a backend whose [[backends]]
// entry omits it.
const DefaultBackendPriority = 50

// DefaultConfig returns the configuration used when no file, environment
// variable or flag says otherwise. It has no backends.
func DefaultConfig() Config {
	w := routing.DefaultWeights()
	return Config{
		Server: ServerConfig{
			Host:                  "0.0.0.0",
			Port:                  8000,
			RequestTimeoutSeconds: 300,
			MaxConcurrentRequests: 1000,
			ConnectTimeout:        5 * time.Second,
			ReadHeaderTimeout:     10 * time.Second,
			ReadTimeout:           60 * time.Second,
			IdleTimeout:           120 * time.Second,
			ShutdownTimeout:       30 * time.Second,
		},
		Discovery: DiscoveryConfig{
			Enabled:            true,
			ServiceTypes:       []string{"_ollama._tcp.local.", "_llm._tcp.local."},
			GracePeriodSeconds: 60,
			MaxBackends:        64,
		},
		HealthCheck: HealthCheckConfig{
			Enabled:           true,
			IntervalSeconds:   30,
			TimeoutSeconds:    5,
			FailureThreshold:  3,
			RecoveryThreshold: 2,

			PassiveFailureThreshold: 3,
			PassiveCooldownSeconds:  30,
		},
		Routing: RoutingConfig{
			Strategy:   routing.StrategySmart,
			MaxRetries: 2,
			Weights:    RoutingWeights{Priority: w.Priority, Load: w.Load, Latency: w.Latency},
			Affinity:   true,
		},
		Signals: SignalsConfig{Enabled: true, IntervalSeconds: 1},
		Queue:   QueueConfig{Enabled: true, MaxSize: 100, MaxWaitSeconds: 30},
		Logging: LoggingConfig{Level: "info", Format: logging.FormatPretty},
	}
}
