package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/routing"
)

// ApplyEnv overlays NEXUS_* environment variables on c and resolves each
// backend's APIKey from the variable its APIKeyEnv names. lookup is usually
// os.LookupEnv; nothing here reads the environment itself.
//
// Variables: NEXUS_HOST, NEXUS_PORT, NEXUS_LOG_LEVEL, NEXUS_LOG_FORMAT,
// NEXUS_DISCOVERY, NEXUS_HEALTH_CHECK (strconv.ParseBool), NEXUS_ROUTING_STRATEGY,
// NEXUS_ROUTING_MAX_RETRIES, NEXUS_REQUEST_TIMEOUT (seconds, or a duration
// such as "5m") and NEXUS_API_KEYS (comma-separated). A variable set to an
// empty string counts as unset. NEXUS_CONFIG is the caller's business.
// Values obey the rules Validate applies and are stored canonicalised
// (NEXUS_LOG_LEVEL=TRACE gives "debug").
//
// An invalid value is an error naming the variable; the valid ones are still
// applied. A backend whose key variable is unset or empty yields a warning.
func ApplyEnv(c *nexus.Config, lookup func(string) (string, bool)) ([]string, error) {
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
		if validHost(v) {
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
		if l, valid := levelName(v); valid {
			c.Logging.Level = l
		} else {
			bad("NEXUS_LOG_LEVEL", v, strings.Join(logging.Levels(), ", "))
		}
	}
	if v, ok := get("NEXUS_LOG_FORMAT"); ok {
		if f, err := logging.ParseFormat(v); err == nil {
			c.Logging.Format = f
		} else {
			bad("NEXUS_LOG_FORMAT", v, strings.Join(logging.Formats(), ", "))
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
		if s, valid := strategyName(v); valid {
			c.Routing.Strategy = s
		} else {
			bad("NEXUS_ROUTING_STRATEGY", v, strings.Join(routing.StrategyNames(), ", "))
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
	return append(resolveBackendKeys(c, lookup), resolveInboundKeys(c, lookup)...), errors.Join(errs...)
}

// validHost reports whether h passes Validate's server.host rule, so that
// NEXUS_HOST and the file obey the same one.
func validHost(h string) bool {
	c := nexus.DefaultConfig()
	c.Server.Host = h
	return c.Validate() == nil
}

// resolveBackendKeys fills each backend's APIKey from its APIKeyEnv and
// warns about variables that are unset or empty.
func resolveBackendKeys(c *nexus.Config, lookup func(string) (string, bool)) []string {
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

// resolveInboundKeys fills each [[keys]] entry's Key from its KeyEnv. An
// unset variable leaves the key without a secret, which Validate refuses:
// a key that cannot be used must not silently turn authentication off.
func resolveInboundKeys(c *nexus.Config, lookup func(string) (string, bool)) []string {
	var warnings []string
	for i := range c.Keys {
		k := &c.Keys[i]
		if k.KeyEnv == "" {
			continue
		}
		v, ok := lookup(k.KeyEnv)
		if v = strings.TrimSpace(v); !ok || v == "" {
			warnings = append(warnings, fmt.Sprintf("keys[%d] %q: key_env %q is not set", i, k.Name, k.KeyEnv))
			continue
		}
		k.Key = v
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
