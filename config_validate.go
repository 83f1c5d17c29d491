package nexus

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
	"github.com/nexusllm/nexus/telemetry"
)

// Validate checks the whole configuration and returns every problem found,
// joined with errors.Join. Each message starts with the key it concerns,
// e.g. `server.port: must be 1-65535 (got 0)`. Secrets are never quoted.
//
// Names are checked by the rule of the package that uses them, so Validate
// accepts exactly what New can build: backend types by registry.ParseType,
// strategies by routing.ParseStrategy, weights by routing.Weights.Validate,
// backend URLs by registry.CheckURL, log levels and formats by
// logging.ParseLevel and logging.ParseFormat.
func (c Config) Validate() error {
	var p configProblems
	c.Server.validate(&p)
	c.Discovery.validate(&p)
	c.HealthCheck.validate(&p)
	c.Routing.validate(&p)
	validateBackendConfigs(c.Backends, &p)
	c.Logging.validate(&p)
	c.Limits.validate(&p)
	c.Signals.validate(&p)
	c.Queue.validate(&p)
	c.Telemetry.validate(&p)
	// server.api_keys were checked above: the keyring checks [[keys]]
	// and the keys' names and secrets against each other.
	kc := c
	kc.Server.APIKeys = slices.DeleteFunc(slices.Clone(c.Server.APIKeys), func(k string) bool {
		return k == "" || strings.IndexFunc(k, unicode.IsSpace) >= 0
	})
	if _, err := kc.keyring(); err != nil {
		p = append(p, err)
	}
	return errors.Join(p...)
}

// configProblems collects validation errors.
type configProblems []error

func (p *configProblems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// maxConfigSeconds bounds every duration in seconds (one year), so that
// converting it to a time.Duration can never overflow.
const maxConfigSeconds = 365 * 24 * 3600

// seconds checks a duration in seconds against [minimum, maxConfigSeconds].
func (p *configProblems) seconds(key string, v, minimum int) {
	switch {
	case v < minimum && minimum == 1:
		p.add(key, "must be > 0 (got %d)", v)
	case v < minimum:
		p.add(key, "must be >= %d (got %d)", minimum, v)
	case v > maxConfigSeconds:
		p.add(key, "must be at most %d, one year (got %d)", maxConfigSeconds, v)
	}
}

func (s ServerConfig) validate(p *configProblems) {
	if !validListenHost(s.Host) {
		p.add("server.host", "invalid host %q (want a hostname or IP address, without port or brackets)", s.Host)
	}
	if s.Port < 1 || s.Port > 65535 {
		p.add("server.port", "must be 1-65535 (got %d)", s.Port)
	}
	p.seconds("server.request_timeout_seconds", s.RequestTimeoutSeconds, 1)
	for _, d := range []struct {
		key     string
		v       time.Duration
		zeroOK  bool
		meaning string
	}{
		{"server.connect_timeout", s.ConnectTimeout, false, ""},
		{"server.first_byte_timeout", s.FirstByteTimeout, true, ", 0 = request_timeout_seconds"},
		{"server.stream_idle_timeout", s.StreamIdleTimeout, true, ", 0 = the smaller of 60s and request_timeout_seconds"},
		{"server.read_header_timeout", s.ReadHeaderTimeout, false, ""},
		{"server.read_timeout", s.ReadTimeout, false, ""},
		{"server.idle_timeout", s.IdleTimeout, false, ""},
		{"server.shutdown_timeout", s.ShutdownTimeout, false, ""},
	} {
		if d.v < 0 || (d.v == 0 && !d.zeroOK) {
			p.add(d.key, "must be a positive duration such as \"5s\"%s (got %s)", d.meaning, d.v)
		}
	}
	if s.MaxConcurrentRequests < 0 {
		p.add("server.max_concurrent_requests", "must be >= 0, 0 = no limit (got %d)", s.MaxConcurrentRequests)
	}
	for i, k := range s.APIKeys {
		if k == "" || strings.IndexFunc(k, unicode.IsSpace) >= 0 {
			p.add(fmt.Sprintf("server.api_keys[%d]", i), "must be non-empty and contain no whitespace")
		}
	}
}

// validListenHost accepts an IP address or a DNS-style host name.
func validListenHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func (d DiscoveryConfig) validate(p *configProblems) {
	for i, st := range d.ServiceTypes {
		if strings.TrimSpace(st) == "" {
			p.add(fmt.Sprintf("discovery.service_types[%d]", i), "empty service type")
		}
	}
	p.seconds("discovery.grace_period_seconds", d.GracePeriodSeconds, 0)
	if d.MaxBackends < 0 {
		p.add("discovery.max_backends", "must be >= 0 (got %d; 0 means 64)", d.MaxBackends)
	}
}

func (h HealthCheckConfig) validate(p *configProblems) {
	if h.Enabled {
		p.seconds("health_check.interval_seconds", h.IntervalSeconds, 1)
		p.seconds("health_check.timeout_seconds", h.TimeoutSeconds, 1)
	}
	if h.FailureThreshold < 1 {
		p.add("health_check.failure_threshold", "must be >= 1 (got %d)", h.FailureThreshold)
	}
	if h.RecoveryThreshold < 1 {
		p.add("health_check.recovery_threshold", "must be >= 1 (got %d)", h.RecoveryThreshold)
	}
	if h.PassiveFailureThreshold < 0 {
		p.add("health_check.passive_failure_threshold", "must be >= 0 (got %d; 0 means 3)", h.PassiveFailureThreshold)
	}
	if h.PassiveCooldownSeconds < 0 {
		p.add("health_check.passive_cooldown_seconds", "must be >= 0 (got %d; 0 means 30)", h.PassiveCooldownSeconds)
	}
}

func (r RoutingConfig) validate(p *configProblems) {
	if _, err := routing.ParseStrategy(r.Strategy, routing.DefaultWeights()); errors.Is(err, routing.ErrUnknownStrategy) {
		p.add("routing.strategy", "unknown %q (want %s)", r.Strategy, strings.Join(routing.StrategyNames(), ", "))
	}
	if r.MaxRetries < 0 {
		p.add("routing.max_retries", "must be >= 0 (got %d)", r.MaxRetries)
	}
	// Its messages start with the key (routing.weights.load: ...).
	w := routing.Weights{Priority: r.Weights.Priority, Load: r.Weights.Load, Latency: r.Weights.Latency}
	if err := w.Validate(); err != nil {
		*p = append(*p, err)
	}
	for _, alias := range slices.Sorted(maps.Keys(r.Aliases)) {
		if alias == "" {
			p.add("routing.aliases", "empty alias name")
		} else if r.Aliases[alias] == "" {
			p.add("routing.aliases."+quoteKey(alias), "empty target")
		}
	}
	for _, cycle := range aliasCycles(r.Aliases) {
		p.add("routing.aliases", "circular alias %s", cycle)
	}
	for _, model := range slices.Sorted(maps.Keys(r.Fallbacks)) {
		key := "routing.fallbacks." + quoteKey(model)
		chain := r.Fallbacks[model]
		if model == "" {
			p.add("routing.fallbacks", "empty model name")
		}
		if len(chain) == 0 {
			p.add(key, "empty chain")
		}
		for i, fb := range chain {
			switch fb {
			case "":
				p.add(fmt.Sprintf("%s[%d]", key, i), "empty model name")
			case model:
				p.add(fmt.Sprintf("%s[%d]", key, i), "%q falls back to itself", fb)
			}
		}
	}
}

func (s SignalsConfig) validate(p *configProblems) {
	p.seconds("signals.interval_seconds", s.IntervalSeconds, 0)
}

func (q QueueConfig) validate(p *configProblems) {
	if q.MaxSize < 0 || q.Enabled && q.MaxSize == 0 {
		p.add("queue.max_size", "must be >= 1 (got %d)", q.MaxSize)
	}
	if q.Enabled {
		p.seconds("queue.max_wait_seconds", q.MaxWaitSeconds, 1)
	} else {
		p.seconds("queue.max_wait_seconds", q.MaxWaitSeconds, 0)
	}
}

// aliasCycles returns each alias cycle once, rendered `"a" -> "b" -> "a"`,
// in a deterministic order.
func aliasCycles(aliases map[string]string) []string {
	var cycles []string
	done := make(map[string]bool, len(aliases))
	for _, start := range slices.Sorted(maps.Keys(aliases)) {
		if done[start] {
			continue
		}
		path := []string{start}
		at := map[string]int{start: 0}
		for cur := start; ; {
			next, ok := aliases[cur]
			if !ok || done[next] {
				break
			}
			if i, onPath := at[next]; onPath {
				loop := append(slices.Clone(path[i:]), next)
				quoted := make([]string, len(loop))
				for j, m := range loop {
					quoted[j] = strconv.Quote(m)
				}
				cycles = append(cycles, strings.Join(quoted, " -> "))
				break
			}
			at[next] = len(path)
			path = append(path, next)
			cur = next
		}
		for _, m := range path {
			done[m] = true
		}
	}
	return cycles
}

func validateBackendConfigs(backends []BackendConfig, p *configProblems) {
	names := make(map[string]bool, len(backends))
	for i, b := range backends {
		key := fmt.Sprintf("backends[%d]", i)
		switch {
		case strings.TrimSpace(b.Name) == "":
			p.add(key+".name", "required")
		case strings.IndexFunc(b.Name, unicode.IsControl) >= 0:
			p.add(key+".name", "must not contain control characters")
		case names[b.Name]:
			p.add(key+".name", "duplicate %q", b.Name)
		}
		names[b.Name] = true
		validateBackendConfigURL(key+".url", b.URL, p)
		if _, ok := registry.ParseType(b.Type); !ok && b.Type != "" {
			p.add(key+".type", "unknown type %q (want %s)", b.Type, backendTypeNames())
		}
		if b.Priority < 0 {
			p.add(key+".priority", "must be >= 0 (got %d)", b.Priority)
		}
		if b.APIKeyEnv != "" && !validEnvName(b.APIKeyEnv) {
			p.add(key+".api_key_env", "invalid environment variable name %q", b.APIKeyEnv)
		}
		if b.MaxConcurrency < 0 {
			p.add(key+".max_concurrency", "must be >= 0 (got %d; 0 means what the backend reports)", b.MaxConcurrency)
		}
		if _, unknown := registry.ParseEndpoints(b.Endpoints); unknown != "" {
			p.add(key+".endpoints", "unknown endpoint %q (want some of %s)", unknown, strings.Join(registry.EndpointNames(), ", "))
		}
		ids := make(map[string]bool, len(b.Models))
		for j, m := range b.Models {
			mkey := fmt.Sprintf("%s.models[%d]", key, j)
			switch {
			case strings.TrimSpace(m.ID) == "":
				p.add(mkey+".id", "required")
			case ids[m.ID]:
				p.add(mkey+".id", "duplicate %q", m.ID)
			}
			ids[m.ID] = true
			if m.ContextLength < 0 {
				p.add(mkey+".context_length", "must be >= 0 (got %d)", m.ContextLength)
			}
		}
	}
}

func validateBackendConfigURL(key, raw string, p *configProblems) {
	_, err := registry.CheckURL(raw)
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrURLMissing):
		p.add(key, "required")
	case errors.Is(err, registry.ErrURLCredentials):
		// Credentials in a URL would show in /v1/backends, the dashboard
		// and logs; the message does not echo them either.
		p.add(key, "%v; put the key in the environment variable named by api_key_env", err)
	default:
		p.add(key, "%v", err)
	}
}

// backendTypeNames lists registry.Types() for messages: "ollama, vllm, ...".
func backendTypeNames() string {
	types := registry.Types()
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func (l LimitsConfig) validate(p *configProblems) {
	switch l.Store {
	case "", LimitStoreMemory:
	case LimitStoreRedis:
		if _, err := limits.RedisOptions(l.RedisURL, l.RedisTimeout); err != nil {
			p.add("limits.redis_url", "%v", err)
		}
	default:
		p.add("limits.store", "unknown %q (want %s or %s)", l.Store, LimitStoreMemory, LimitStoreRedis)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"limits.redis_timeout", l.RedisTimeout}, {"limits.redis_probe_interval", l.RedisProbeInterval}} {
		if d.v < 0 || d.v > time.Minute {
			p.add(d.key, "must be a duration up to 1m such as \"50ms\", 0 = the default (got %s)", d.v)
		}
	}
}

func (l LoggingConfig) validate(p *configProblems) {
	levels := strings.Join(logging.Levels(), ", ")
	if _, err := logging.ParseLevel(l.Level); err != nil {
		p.add("logging.level", "unknown %q (want %s)", l.Level, levels)
	}
	if _, err := logging.ParseFormat(l.Format); err != nil {
		p.add("logging.format", "unknown %q (want %s)", l.Format, strings.Join(logging.Formats(), ", "))
	}
	for _, comp := range slices.Sorted(maps.Keys(l.ComponentLevels)) {
		if comp == "" {
			p.add("logging.component_levels", "empty component name")
			continue
		}
		if _, err := logging.ParseLevel(l.ComponentLevels[comp]); err != nil {
			p.add("logging.component_levels."+quoteKey(comp), "unknown level %q (want %s)",
				l.ComponentLevels[comp], levels)
		}
	}
}

// quoteKey writes a TOML key bare when it can be, quoted otherwise, so a
// message names a map entry as the file would (routing.aliases."gpt-4.1").
func quoteKey(k string) string {
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

func (t TelemetryConfig) validate(p *configProblems) {
	if t.OTLPEndpoint != "" {
		if err := telemetry.CheckEndpoint(t.OTLPEndpoint); err != nil {
			p.add("telemetry.otlp_endpoint", "%v", err)
		}
	}
	if !(t.SampleRatio >= 0 && t.SampleRatio <= 1) { // also rejects NaN
		p.add("telemetry.sample_ratio", "must be between 0 and 1 (got %v)", t.SampleRatio)
	}
	switch {
	case t.ExportInterval < 0:
		p.add("telemetry.export_interval", "must be >= 0 (got %s)", t.ExportInterval)
	case t.ExportInterval > 0 && t.ExportInterval < 100*time.Millisecond:
		p.add("telemetry.export_interval", "must be at least 100ms (got %s)", t.ExportInterval)
	case t.ExportInterval > maxConfigSeconds*time.Second:
		p.add("telemetry.export_interval", "must be at most one year (got %s)", t.ExportInterval)
	}
}
