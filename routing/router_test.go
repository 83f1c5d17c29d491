package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	tests := []struct {
		name    string
		reg     *registry.Registry
		cfg     Config
		wantErr string
	}{
		{"zero config", reg, Config{}, ""},
		{"nil registry", nil, Config{}, "nil registry"},
		{"negative retries", reg, Config{MaxRetries: -1}, "routing.max_retries"},
		{"empty fallback key", reg, Config{Fallbacks: map[string][]string{"": {"a"}}}, "routing.fallbacks: empty model name"},
		{"empty fallback entry", reg, Config{Fallbacks: map[string][]string{"m": {"a", ""}}}, "routing.fallbacks.m: empty fallback model"},
		{"alias self cycle", reg, Config{Aliases: map[string]string{"x": "x"}}, `circular alias "x" -> "x"`},
	}
	for _, tc := range tests {
		r, err := New(tc.reg, tc.cfg)
		if tc.wantErr == "" {
			require.NoError(t, err, tc.name)
			require.NotNil(t, r, tc.name)
			continue
		}
		assert.ErrorContains(t, err, tc.wantErr, tc.name)
	}
}

func TestNewCopiesConfig(t *testing.T) {
	t.Parallel()
	reg, _ := newReg(t, spec{name: "x", models: models("m", "fb")})
	aliases := map[string]string{"a": "m"}
	chain := []string{"fb"}
	fallbacks := map[string][]string{"m": chain}
	r, err := New(reg, Config{Aliases: aliases, Fallbacks: fallbacks})
	require.NoError(t, err)
	aliases["a"] = "other"
	aliases["b"] = "m"
	chain[0] = "changed"
	fallbacks["m"] = nil
	assert.Equal(t, "m", r.Resolve("a"))
	assert.Equal(t, "b", r.Resolve("b"))
	assert.Equal(t, []string{"fb"}, r.Fallbacks("m"))
}

func TestFallbacksNormalised(t *testing.T) {
	t.Parallel()
	r, err := New(registry.New(), Config{Fallbacks: map[string][]string{
		"m":     {"a", "m", "b", "a"},
		"empty": {},
		"self":  {"self"},
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, r.Fallbacks("m"))
	assert.Nil(t, r.Fallbacks("empty"))
	assert.Nil(t, r.Fallbacks("self"))
	assert.Nil(t, r.Fallbacks("unknown"))
}

func TestKnownModels(t *testing.T) {
	t.Parallel()
	r, err := New(registry.New(), Config{
		Aliases:   map[string]string{"gpt-4": "llama3", "gpt-4o": "llama3", "fast": "phi"},
		Fallbacks: map[string][]string{"llama3": {"mistral", "phi"}, "none": {}},
	})
	require.NoError(t, err)
	got := r.KnownModels()
	assert.Equal(t, []string{"fast", "gpt-4", "gpt-4o", "llama3", "mistral", "phi"}, got)
	got[0] = "mutated"
	assert.Equal(t, "fast", r.KnownModels()[0], "KnownModels returns a copy")
}

func TestDefaultsAndAccessors(t *testing.T) {
	t.Parallel()
	reg, _ := newReg(t,
		spec{name: "slow", priority: 80, models: models("m")},
		spec{name: "fast", priority: 10, models: models("m")},
	)
	r, err := New(reg, Config{MaxRetries: 3})
	require.NoError(t, err)
	assert.Equal(t, 3, r.MaxRetries())
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	a, ok := rt.Next()
	require.True(t, ok)
	assert.Equal(t, "fast", a.Backend.Name, "nil Strategy means smart, which honours priority")
	assert.Equal(t, ReasonHighestScore, a.Reason)
}
