package config

import (
	"strings"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// normalize canonicalises spellings accepted from files and the
// environment: case, synonyms, and the trailing dot of mDNS service types.
// A value no rule accepts is left as written, for Validate to report.
func normalize(c *nexus.Config) {
	for i, st := range c.Discovery.ServiceTypes {
		if st != "" && !strings.HasSuffix(st, ".") {
			c.Discovery.ServiceTypes[i] = st + "."
		}
	}
	if s, ok := strategyName(c.Routing.Strategy); ok {
		c.Routing.Strategy = s
	}
	if l, ok := levelName(c.Logging.Level); ok {
		c.Logging.Level = l
	}
	if f, err := logging.ParseFormat(c.Logging.Format); err == nil {
		c.Logging.Format = f
	}
	for comp, lvl := range c.Logging.ComponentLevels {
		if l, ok := levelName(lvl); ok {
			c.Logging.ComponentLevels[comp] = l
		}
	}
	for i := range c.Backends {
		if t, ok := typeName(c.Backends[i].Type); ok {
			c.Backends[i].Type = t
		}
	}
}

// strategyName returns the canonical name of a strategy routing.ParseStrategy
// accepts ("Round_Robin" → "round_robin").
func strategyName(s string) (string, bool) {
	if _, err := routing.ParseStrategy(s, routing.DefaultWeights()); err != nil {
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(s)), true
}

// levelName returns the canonical name of a level logging.ParseLevel
// accepts ("TRACE" → "debug", "warning" → "warn", "" → "info").
func levelName(s string) (string, bool) {
	lv, err := logging.ParseLevel(s)
	if err != nil {
		return "", false
	}
	return strings.ToLower(lv.String()), true
}

// typeName returns the registry name of a backend type in any case
// ("Llama.CPP" → "llamacpp"); ok is false for an unknown or empty type.
func typeName(s string) (string, bool) {
	t, ok := registry.ParseType(strings.ToLower(strings.TrimSpace(s)))
	return string(t), ok
}
