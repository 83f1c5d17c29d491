package nexus

import (
	_ "embed" // for the example configuration
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole gateway configuration. Its TOML form is compatible
// with the Rust original's nexus.toml; build one with DefaultConfig or
// ParseConfig, layer ApplyEnv on top, then call Validate.
type Config struct {
	Server      ServerConfig      `toml:"server"`
	Discovery   DiscoveryConfig   `toml:"discovery"`
	HealthCheck HealthCheckConfig `toml:"health_check"`
	Routing     RoutingConfig     `toml:"routing"`
	Backends    []BackendConfig   `toml:"backends"`
	Logging     LoggingConfig     `toml:"logging"`
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
	// default 60s.
	StreamIdleTimeout time.Duration `toml:"stream_idle_timeout"`

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
	// ServiceTypes are the mDNS service types browsed for; ParseConfig adds a
	// missing trailing dot.
	ServiceTypes       []string `toml:"service_types"`
	GracePeriodSeconds int      `toml:"grace_period_seconds"` // default 60
}

// HealthCheckConfig is the [health_check] section (active probes).
type HealthCheckConfig struct {
	Enabled           bool `toml:"enabled"`            // default true
	IntervalSeconds   int  `toml:"interval_seconds"`   // default 30
	TimeoutSeconds    int  `toml:"timeout_seconds"`    // default 5
	FailureThreshold  int  `toml:"failure_threshold"`  // healthy → unhealthy, default 3
	RecoveryThreshold int  `toml:"recovery_threshold"` // unhealthy → healthy, default 2
}

// RoutingConfig is the [routing] section: strategy, retries, scoring
// weights, model aliases and fallback chains.
type RoutingConfig struct {
	Strategy   string              `toml:"strategy"`    // smart | round_robin | priority_only | random
	MaxRetries int                 `toml:"max_retries"` // extra attempts after the first, default 2
	Weights    RoutingWeights      `toml:"weights"`     // used by the smart strategy
	Aliases    map[string]string   `toml:"aliases"`     // alias → target model
	Fallbacks  map[string][]string `toml:"fallbacks"`   // model → models tried in order
}

// RoutingWeights are the smart strategy's scoring weights (default 50/30/20).
// A key missing from [routing.weights] keeps its default.
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
	// Type is ollama, vllm, llamacpp, exo, openai, lmstudio or generic
	// ("llama.cpp" is accepted); empty means generic.
	Type string `toml:"type"`
	// Priority orders backends, lower is preferred; 50 when the file omits it.
	Priority int `toml:"priority"`
	// APIKeyEnv names the environment variable holding the backend's key.
	APIKeyEnv string `toml:"api_key_env"`
	// APIKey is resolved from APIKeyEnv by ApplyEnv; it is never printed.
	APIKey string `toml:"-" json:"-"`
	// Models lists models statically (a Nexus extension to the upstream schema).
	Models []ModelConfig `toml:"models"`
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
	Level  string `toml:"level"`  // debug | info | warn | error ("trace" = debug)
	Format string `toml:"format"` // pretty | json ("text" = pretty)
	// ComponentLevels overrides Level per component, e.g. {routing = "debug"}.
	ComponentLevels      map[string]string `toml:"component_levels"`
	EnableContentLogging bool              `toml:"enable_content_logging"`
}

// defaultBackendPriority is the priority of a backend whose entry omits it.
const defaultBackendPriority = 50

//go:embed nexus.example.toml
var exampleTOML string

// DefaultConfig returns the configuration used when no file, environment
// variable or flag says otherwise. It has no backends.
func DefaultConfig() Config {
	return Config{
		Server: ServerConfig{
			Host:                  "0.0.0.0",
			Port:                  8000,
			RequestTimeoutSeconds: 300,
			MaxConcurrentRequests: 1000,
			ConnectTimeout:        5 * time.Second,
			StreamIdleTimeout:     60 * time.Second,
			ReadHeaderTimeout:     10 * time.Second,
			ReadTimeout:           60 * time.Second,
			IdleTimeout:           120 * time.Second,
			ShutdownTimeout:       30 * time.Second,
		},
		Discovery: DiscoveryConfig{
			Enabled:            true,
			ServiceTypes:       []string{"_ollama._tcp.local.", "_llm._tcp.local."},
			GracePeriodSeconds: 60,
		},
		HealthCheck: HealthCheckConfig{
			Enabled:           true,
			IntervalSeconds:   30,
			TimeoutSeconds:    5,
			FailureThreshold:  3,
			RecoveryThreshold: 2,
		},
		Routing: RoutingConfig{
			Strategy:   "smart",
			MaxRetries: 2,
			Weights:    RoutingWeights{Priority: 50, Load: 30, Latency: 20},
		},
		Logging: LoggingConfig{Level: "info", Format: "pretty"},
	}
}

// ExampleConfig returns the annotated example configuration written by
// `nexus config init`. The caller owns the returned slice.
func ExampleConfig() []byte { return []byte(exampleTOML) }

// LoadConfig reads and parses the TOML file at path (see ParseConfig). A
// missing file yields an error wrapping fs.ErrNotExist.
func LoadConfig(path string) (Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("read config: %w", err)
	}
	cfg, warnings, err := ParseConfig(data)
	if err != nil {
		return Config{}, warnings, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, warnings, nil
}

// ParseConfig decodes TOML data over DefaultConfig. It returns warnings for
// keys it does not know, each naming the full key (`unknown config key
// "backends[0].nmae"`). A syntax error reports its line and column and
// wraps the toml.ParseError. The result is not validated; call Validate.
func ParseConfig(data []byte) (Config, []string, error) {
	cfg := DefaultConfig()
	doc := string(data)
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		return Config{}, nil, wrapTOMLError(err)
	}
	// A generic view of the same document tells which array-of-tables
	// element holds a key; the typed MetaData only knows key names.
	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
		return Config{}, nil, wrapTOMLError(err)
	}
	for i := range cfg.Backends {
		if t := tomlTableAt(raw["backends"], i); t == nil || t["priority"] == nil {
			cfg.Backends[i].Priority = defaultBackendPriority
		}
	}
	cfg.normalize()
	return cfg, unknownKeyWarnings(md.Undecoded(), raw), nil
}

// configSyntaxError is a TOML parse error rewritten as "line L, column C: msg".
type configSyntaxError struct{ pe toml.ParseError }

func (e *configSyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.pe.Position.Line, e.pe.Position.Col, e.pe.Message)
}

func (e *configSyntaxError) Unwrap() error { return e.pe }

func wrapTOMLError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &configSyntaxError{pe: pe}
	}
	return err
}

// tomlTableAt returns element i of an array of tables in its generic decoded
// form (regular or inline array), or nil.
func tomlTableAt(v any, i int) map[string]any {
	switch a := v.(type) {
	case []map[string]any:
		if i < len(a) {
			return a[i]
		}
	case []any:
		if i < len(a) {
			t, _ := a[i].(map[string]any)
			return t
		}
	}
	return nil
}

// unknownKeyWarnings turns undecoded keys into warnings with array indices
// filled in from raw. Keys under an already reported key are skipped.
func unknownKeyWarnings(undecoded []toml.Key, raw map[string]any) []string {
	var warnings []string
	seen := make(map[string]bool)
	for _, k := range undecoded {
		if seen[k.String()] || tomlHasSeenPrefix(k, seen) {
			continue
		}
		seen[k.String()] = true
		paths := tomlExpandKey(raw, k, "")
		if len(paths) == 0 {
			paths = []string{k.String()}
		}
		for _, p := range paths {
			warnings = append(warnings, fmt.Sprintf("unknown config key %q", p))
		}
	}
	return warnings
}

func tomlHasSeenPrefix(k toml.Key, seen map[string]bool) bool {
	for n := 1; n < len(k); n++ {
		if seen[k[:n].String()] {
			return true
		}
	}
	return false
}

// tomlExpandKey lists every path in node matching key, with "[i]" after each
// array of tables it passes through.
func tomlExpandKey(node any, key toml.Key, prefix string) []string {
	if len(key) == 0 {
		return []string{prefix}
	}
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[key[0]]
		if !ok {
			return nil
		}
		p := tomlQuoteKey(key[0])
		if prefix != "" {
			p = prefix + "." + p
		}
		return tomlExpandKey(child, key[1:], p)
	case []map[string]any:
		var out []string
		for i, el := range n {
			out = append(out, tomlExpandKey(el, key, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case []any:
		var out []string
		for i, el := range n {
			out = append(out, tomlExpandKey(el, key, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}

// tomlQuoteKey writes a TOML key bare when it can be, quoted otherwise.
func tomlQuoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(k)
		}
	}
	return k
}

// normalize canonicalises spellings accepted from files and the
// environment: case, synonyms, and the trailing dot of mDNS service types.
func (c *Config) normalize() {
	for i, st := range c.Discovery.ServiceTypes {
		if st != "" && !strings.HasSuffix(st, ".") {
			c.Discovery.ServiceTypes[i] = st + "."
		}
	}
	c.Routing.Strategy = strings.ToLower(strings.TrimSpace(c.Routing.Strategy))
	if l, ok := configLevel(c.Logging.Level); ok {
		c.Logging.Level = l
	}
	if f, ok := configFormat(c.Logging.Format); ok {
		c.Logging.Format = f
	}
	for comp, lvl := range c.Logging.ComponentLevels {
		if l, ok := configLevel(lvl); ok {
			c.Logging.ComponentLevels[comp] = l
		}
	}
	for i := range c.Backends {
		if t, ok := configBackendType(c.Backends[i].Type); ok {
			c.Backends[i].Type = t
		}
	}
}

// Accepted values, in the order error messages list them.
var (
	configStrategies   = []string{"smart", "round_robin", "priority_only", "random"}
	configLevels       = []string{"debug", "info", "warn", "error"}
	configFormats      = []string{"pretty", "json"}
	configBackendTypes = []string{"ollama", "vllm", "llamacpp", "exo", "openai", "lmstudio", "generic"}
)

// configLevel maps a log level, in any case, to debug|info|warn|error
// ("trace" → debug, "warning" → warn).
func configLevel(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "trace":
		return "debug", true
	case "warning":
		return "warn", true
	}
	return s, slices.Contains(configLevels, s)
}

// configFormat maps a log format, in any case, to pretty|json ("text" → pretty).
func configFormat(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "text" {
		return "pretty", true
	}
	return s, slices.Contains(configFormats, s)
}

// configBackendType maps a backend type, in any case, to its registry name
// ("llama.cpp" → llamacpp). Empty stays empty (generic).
func configBackendType(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "llama.cpp" {
		return "llamacpp", true
	}
	return s, s == "" || slices.Contains(configBackendTypes, s)
}
