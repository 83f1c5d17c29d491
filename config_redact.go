package nexus

import (
	"fmt"

	"github.com/nexusllm/nexus/limits"
)

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

// Format implements fmt.Formatter so that printing a KeyConfig (or a
// Config holding it) with any verb shows its secret as [REDACTED].
func (k KeyConfig) Format(f fmt.State, verb rune) {
	type plain KeyConfig
	p := plain(k)
	if p.Key != "" {
		p.Key = redacted
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// Format implements fmt.Formatter so that printing a LimitsConfig (or a
// Config holding it) with any verb hides the password in RedisURL.
func (l LimitsConfig) Format(f fmt.State, verb rune) {
	type plain LimitsConfig
	p := plain(l)
	p.RedisURL = limits.RedactRedisURL(p.RedisURL)
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}
