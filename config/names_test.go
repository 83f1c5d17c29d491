package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// TestOneListPerRule checks that the file, the environment and Validate
// accept every name of the lists owned by registry, routing and logging,
// in any case, and store it as the list spells it.
func TestOneListPerRule(t *testing.T) {
	t.Parallel()
	var doc strings.Builder
	for i, typ := range registry.Types() {
		fmt.Fprintf(&doc, "[[backends]]\nname = \"b%d\"\nurl = \"http://127.0.0.1:%d\"\ntype = %q\n", i, i+1, strings.ToUpper(string(typ)))
	}
	cfg, warnings, err := config.Parse([]byte(doc.String()))
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.NoError(t, cfg.Validate())
	for i, typ := range registry.Types() {
		assert.Equal(t, string(typ), cfg.Backends[i].Type)
	}

	for _, s := range routing.StrategyNames() {
		cfg, _, err := config.Parse(fmt.Appendf(nil, "[routing]\nstrategy = %q\n", strings.ToUpper(s)))
		require.NoError(t, err)
		assert.Equal(t, s, cfg.Routing.Strategy)
		require.NoError(t, cfg.Validate(), s)

		_, err = config.ApplyEnv(&cfg, envMap(map[string]string{"NEXUS_ROUTING_STRATEGY": " " + strings.ToUpper(s)}))
		require.NoError(t, err)
		assert.Equal(t, s, cfg.Routing.Strategy)
	}
	for _, l := range logging.Levels() {
		cfg, _, err := config.Parse(fmt.Appendf(nil, "[logging]\nlevel = %q\ncomponent_levels = { proxy = %q }\n", strings.ToUpper(l), l))
		require.NoError(t, err)
		assert.Equal(t, l, cfg.Logging.Level)
		assert.Equal(t, l, cfg.Logging.ComponentLevels["proxy"])
		require.NoError(t, cfg.Validate(), l)

		_, err = config.ApplyEnv(&cfg, envMap(map[string]string{"NEXUS_LOG_LEVEL": strings.ToUpper(l)}))
		require.NoError(t, err)
		assert.Equal(t, l, cfg.Logging.Level)
	}
	for _, f := range logging.Formats() {
		cfg, _, err := config.Parse(fmt.Appendf(nil, "[logging]\nformat = %q\n", strings.ToUpper(f)))
		require.NoError(t, err)
		assert.Equal(t, f, cfg.Logging.Format)
		require.NoError(t, cfg.Validate(), f)

		_, err = config.ApplyEnv(&cfg, envMap(map[string]string{"NEXUS_LOG_FORMAT": strings.ToUpper(f)}))
		require.NoError(t, err)
		assert.Equal(t, f, cfg.Logging.Format)
	}
}

// TestParseKeepsUnknownNames checks that a value no rule accepts is kept as
// written, so Validate's message quotes what the user wrote.
func TestParseKeepsUnknownNames(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Parse([]byte(`
[routing]
strategy = "Fastest"
[[backends]]
name = "x"
url = "http://127.0.0.1:1"
type = "Triton"
[logging]
level = "Loud"
format = "XML"
`))
	require.NoError(t, err)
	assert.Equal(t, "Fastest", cfg.Routing.Strategy)
	assert.Equal(t, "Triton", cfg.Backends[0].Type)
	assert.Equal(t, "Loud", cfg.Logging.Level)
	assert.Equal(t, "XML", cfg.Logging.Format)
	err = cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{`routing.strategy: unknown "Fastest"`, `backends[0].type: unknown type "Triton"`,
		`logging.level: unknown "Loud"`, `logging.format: unknown "XML"`} {
		assert.Contains(t, err.Error(), want)
	}
}
