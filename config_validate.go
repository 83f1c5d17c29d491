package nexus

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Validate checks the whole configuration and returns every problem found,
// joined with errors.Join. Each message starts with the key it concerns,
// e.g. `server.port: must be 1-65535 (got 0)`. Secrets are never quoted.
func (c Config) Validate() error {
	var p configProblems
	c.Server.validate(&p)
	c.Discovery.validate(&p)
	c.HealthCheck.validate(&p)
	c.Routing.validate(&p)
	validateBackendConfigs(c.Backends, &p)
	c.Logging.validate(&p)
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
		{"server.stream_idle_timeout", s.StreamIdleTimeout, false, ""},
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
}

func (r RoutingConfig) validate(p *configProblems) {
	if !slices.Contains(configStrategies, r.Strategy) {
		p.add("routing.strategy", "unknown %q (want %s)", r.Strategy, strings.Join(configStrategies, ", "))
	}
	if r.MaxRetries < 0 {
		p.add("routing.max_retries", "must be >= 0 (got %d)", r.MaxRetries)
	}
	for _, w := range []struct {
		key string
		v   int
	}{{"priority", r.Weights.Priority}, {"load", r.Weights.Load}, {"latency", r.Weights.Latency}} {
		if w.v < 0 {
			p.add("routing.weights."+w.key, "must be >= 0 (got %d)", w.v)
		}
	}
	for _, alias := range slices.Sorted(maps.Keys(r.Aliases)) {
		if alias == "" {
			p.add("routing.aliases", "empty alias name")
		} else if r.Aliases[alias] == "" {
			p.add("routing.aliases."+tomlQuoteKey(alias), "empty target")
		}
	}
	for _, cycle := range aliasCycles(r.Aliases) {
		p.add("routing.aliases", "circular alias %s", cycle)
	}
	for _, model := range slices.Sorted(maps.Keys(r.Fallbacks)) {
		key := "routing.fallbacks." + tomlQuoteKey(model)
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
		if _, ok := configBackendType(b.Type); !ok {
			p.add(key+".type", "unknown type %q (want %s)", b.Type, strings.Join(configBackendTypes, ", "))
		}
		if b.Priority < 0 {
			p.add(key+".priority", "must be >= 0 (got %d)", b.Priority)
		}
		if b.APIKeyEnv != "" && !validEnvName(b.APIKeyEnv) {
			p.add(key+".api_key_env", "invalid environment variable name %q", b.APIKeyEnv)
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
	if raw == "" {
		p.add(key, "required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		p.add(key, "invalid URL %q (want http:// or https://)", raw)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		p.add(key, "invalid URL %q (a base URL has no query or fragment)", raw)
	}
	if u.User != nil {
		// Credentials in a URL would show in /v1/backends, the dashboard
		// and logs; the message must not echo them either.
		u.User = nil
		p.add(key, "credentials in the URL are not allowed (%s); put the key in the environment variable named by api_key_env", u.Redacted())
	}
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

func (l LoggingConfig) validate(p *configProblems) {
	if _, ok := configLevel(l.Level); !ok {
		p.add("logging.level", "unknown %q (want %s)", l.Level, strings.Join(configLevels, ", "))
	}
	if _, ok := configFormat(l.Format); !ok {
		p.add("logging.format", "unknown %q (want %s)", l.Format, strings.Join(configFormats, ", "))
	}
	for _, comp := range slices.Sorted(maps.Keys(l.ComponentLevels)) {
		if comp == "" {
			p.add("logging.component_levels", "empty component name")
			continue
		}
		if _, ok := configLevel(l.ComponentLevels[comp]); !ok {
			p.add("logging.component_levels."+tomlQuoteKey(comp), "unknown level %q (want %s)",
				l.ComponentLevels[comp], strings.Join(configLevels, ", "))
		}
	}
}
