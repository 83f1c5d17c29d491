package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestValidateAliases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		aliases map[string]string
		wantErr []string // substrings; nil means valid
	}{
		{"nil", nil, nil},
		{"chain", map[string]string{"a": "b", "b": "c", "c": "d", "d": "e"}, nil},
		{"shared target", map[string]string{"gpt-4": "llama3", "gpt-4o": "llama3"}, nil},
		{"self", map[string]string{"a": "a"}, []string{`routing.aliases: circular alias "a" -> "a"`}},
		{"two-cycle", map[string]string{"a": "b", "b": "a"}, []string{`routing.aliases: circular alias "a" -> "b" -> "a"`}},
		{"three-cycle named from smallest", map[string]string{"c": "a", "a": "b", "b": "c"},
			[]string{`circular alias "a" -> "b" -> "c" -> "a"`}},
		{"chain into cycle reports the cycle only", map[string]string{"x": "m", "m": "n", "n": "m"},
			[]string{`circular alias "m" -> "n" -> "m"`}},
		{"two cycles", map[string]string{"a": "b", "b": "a", "p": "p", "ok": "fine"},
			[]string{`"a" -> "b" -> "a"`, `"p" -> "p"`}},
		{"empty target", map[string]string{"a": ""}, []string{`alias "a" has an empty target`}},
		{"empty name", map[string]string{"": "m"}, []string{"empty alias name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateAliases(tc.aliases)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestValidateAliasesReportsEachCycleOnce(t *testing.T) {
	t.Parallel()
	err := ValidateAliases(map[string]string{"a": "b", "b": "c", "c": "a"})
	require.Error(t, err)
	assert.Equal(t, `routing.aliases: circular alias "a" -> "b" -> "c" -> "a"`, err.Error())
}

func TestResolveDepth(t *testing.T) {
	t.Parallel()
	aliases := map[string]string{"a": "b", "b": "c", "c": "d", "d": "e"}
	r, err := New(registry.New(), Config{Aliases: aliases})
	require.NoError(t, err)
	tests := []struct{ in, want string }{
		{"e", "e"}, // not an alias
		{"d", "e"}, // 1 hop
		{"c", "e"}, // 2 hops
		{"b", "e"}, // 3 hops
		{"a", "d"}, // 4 hops needed, stops after 3
		{"unknown", "unknown"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, r.Resolve(tc.in), tc.in)
	}
}

func TestNewRejectsAliasCycle(t *testing.T) {
	t.Parallel()
	_, err := New(registry.New(), Config{Aliases: map[string]string{"a": "b", "b": "a"}})
	assert.EqualError(t, err, `routing.aliases: circular alias "a" -> "b" -> "a"`)
}
