package nexus

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ApplyEnv overlays NEXUS_* environment variables on c and resolves each
// backend's APIKey from the variable its APIKeyEnv names. lookup is usually
// os.LookupEnv; the library never reads the environment itself.
//
// Variables: NEXUS_HOST, NEXUS_PORT, NEXUS_LOG_LEVEL, NEXUS_LOG_FORMAT,
// NEXUS_DISCOVERY, NEXUS_HEALTH_CHECK (strconv.ParseBool), NEXUS_ROUTING_STRATEGY,
// NEXUS_ROUTING_MAX_RETRIES, NEXUS_REQUEST_TIMEOUT (seconds, or a duration
// such as "5m") and NEXUS_API_KEYS (comma-separated). A variable set to an
// empty string counts as unset. NEXUS_CONFIG is the caller's business.
//
// An invalid value is an error naming the variable; the valid ones are still
// applied. A backend whose key variable is unset or empty yields a warning.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) ([]string, error) {
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	bad := func(name, v, want string) {
		errs = append(errs, fmt.Errorf("%s: invalid value %q (want %s)", name, v, want))
	}

	if v, ok := get("NEXUS_HOST"); ok {
		if validListenHost(v) {
			c.Server.Host = v
		} else {
			bad("NEXUS_HOST", v, "a hostname or IP address, without port or brackets")
		}
	}
	if v, ok := get("NEXUS_PORT"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 65535 {
			c.Server.Port = n
		} else {
			bad("NEXUS_PORT", v, "a port number 1-65535")
		}
	}
	if v, ok := get("NEXUS_LOG_LEVEL"); ok {
		if l, valid := configLevel(v); valid {
			c.Logging.Level = l
		} else {
			bad("NEXUS_LOG_LEVEL", v, strings.Join(configLevels, ", "))
		}
	}
	if v, ok := get("NEXUS_LOG_FORMAT"); ok {
		if f, valid := configFormat(v); valid {
			c.Logging.Format = f
		} else {
			bad("NEXUS_LOG_FORMAT", v, strings.Join(configFormats, ", "))
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"NEXUS_DISCOVERY", &c.Discovery.Enabled}, {"NEXUS_HEALTH_CHECK", &c.HealthCheck.Enabled}} {
		if v, ok := get(b.name); ok {
			if on, err := strconv.ParseBool(v); err == nil {
				*b.dst = on
			} else {
				bad(b.name, v, "true or false")
			}
		}
	}
	if v, ok := get("NEXUS_ROUTING_STRATEGY"); ok {
		if s := strings.ToLower(v); slices.Contains(configStrategies, s) {
			c.Routing.Strategy = s
		} else {
			bad("NEXUS_ROUTING_STRATEGY", v, strings.Join(configStrategies, ", "))
		}
	}
	if v, ok := get("NEXUS_ROUTING_MAX_RETRIES"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			c.Routing.MaxRetries = n
		} else {
			bad("NEXUS_ROUTING_MAX_RETRIES", v, "an integer >= 0")
		}
	}
	if v, ok := get("NEXUS_REQUEST_TIMEOUT"); ok {
		if n, valid := parseTimeoutSeconds(v); valid {
			c.Server.RequestTimeoutSeconds = n
		} else {
			bad("NEXUS_REQUEST_TIMEOUT", v, `whole seconds > 0, e.g. "300" or "5m"`)
		}
	}
	if v, ok := get("NEXUS_API_KEYS"); ok {
		var keys []string
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			c.Server.APIKeys = keys
		} else {
			errs = append(errs, errors.New("NEXUS_API_KEYS: no key in the comma-separated list"))
		}
	}
	return c.resolveBackendKeys(lookup), errors.Join(errs...)
}

// resolveBackendKeys fills each backend's APIKey from its APIKeyEnv and
// warns about variables that are unset or empty.
func (c *Config) resolveBackendKeys(lookup func(string) (string, bool)) []string {
	var warnings []string
	for i := range c.Backends {
		b := &c.Backends[i]
		if b.APIKeyEnv == "" {
			continue
		}
		v, ok := lookup(b.APIKeyEnv)
		if v = strings.TrimSpace(v); !ok || v == "" {
			warnings = append(warnings, fmt.Sprintf(
				"backends[%d] %q: api_key_env %q is not set; requests go without an API key",
				i, b.Name, b.APIKeyEnv))
			continue
		}
		b.APIKey = v
	}
	return warnings
}

// parseTimeoutSeconds reads "300" (seconds) or a Go duration with a whole
// number of seconds ("5m", "90s").
func parseTimeoutSeconds(v string) (int, bool) {
	if n, err := strconv.Atoi(v); err == nil {
		return n, n > 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d%time.Second != 0 {
		return 0, false
	}
	return int(d / time.Second), true
}

// redacted replaces secrets when configuration is printed.
const redacted = "[REDACTED]"

// Format implements fmt.Formatter so that printing a BackendConfig (or a
// Config holding it) with any verb shows APIKey as [REDACTED].
func (b BackendConfig) Format(f fmt.State, verb rune) {
	type plain BackendConfig // same fields, no methods: no recursion
	p := plain(b)
	if p.APIKey != "" {
		p.APIKey = redacted
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// Format implements fmt.Formatter so that printing a ServerConfig (or a
// Config holding it) with any verb shows each inbound API key as [REDACTED].
func (s ServerConfig) Format(f fmt.State, verb rune) {
	type plain ServerConfig
	p := plain(s)
	if p.APIKeys != nil {
		p.APIKeys = make([]string, len(s.APIKeys))
		for i := range p.APIKeys {
			p.APIKeys[i] = redacted
		}
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}
