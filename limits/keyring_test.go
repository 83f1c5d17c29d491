package limits

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	ok := Key{Name: "team-a", Secret: "sk-a"}
	tests := []struct {
		name    string
		keys    []Key
		wantErr []string // each must appear; empty = valid
	}{
		{"none", nil, nil},
		{"one", []Key{ok}, nil},
		{"all fields", []Key{{Name: "a", Secret: "sk-zz9", Role: RoleAdmin, Models: []string{"llama3*", "qwen2.5:7b"},
			RequestsPerMinute: 120, TokensPerMinute: 200000, MaxConcurrent: 8}}, nil},
		{"missing name", []Key{ok, {Secret: "sk-zz9"}}, []string{"key 2: name is required"}},
		{"control char in name", []Key{{Name: "a\nb", Secret: "sk-zz9"}}, []string{`key 1 ("a\nb"): name contains a control character`}},
		{"name is secret", []Key{{Name: "same", Secret: "same"}}, []string{`key 1 ("same"): name must not be the secret`}},
		{"empty secret", []Key{{Name: "a"}}, []string{`key 1 ("a"): secret is empty`}},
		{"padded secret", []Key{{Name: "a", Secret: "sk-a-padded\n"}}, []string{`key 1 ("a"): secret has leading or trailing whitespace`}},
		{"bad role", []Key{{Name: "a", Secret: "sk-zz9", Role: 9}}, []string{`key 1 ("a"): invalid role 9`}},
		{"empty model", []Key{{Name: "a", Secret: "sk-zz9", Models: []string{"x", ""}}}, []string{`key 1 ("a"): models[1]: empty model pattern`}},
		{"negative rpm", []Key{{Name: "a", Secret: "sk-zz9", RequestsPerMinute: -1}}, []string{`key 1 ("a"): requests_per_minute must not be negative, got -1`}},
		{"negative tpm", []Key{{Name: "a", Secret: "sk-zz9", TokensPerMinute: -5}}, []string{"tokens_per_minute must not be negative"}},
		{"negative concurrency", []Key{{Name: "a", Secret: "sk-zz9", MaxConcurrent: -1}}, []string{"max_concurrent_requests must not be negative"}},
		{"huge tpm", []Key{{Name: "a", Secret: "sk-zz9", TokensPerMinute: MaxPerMinute + 1}}, []string{"tokens_per_minute must be at most 10000000000"}},
		{"duplicate name", []Key{ok, {Name: "team-a", Secret: "sk-b"}}, []string{`key 2 ("team-a"): name already used by key 1`}},
		{"duplicate secret", []Key{ok, {Name: "team-b", Secret: "sk-a"}}, []string{`key 2 ("team-b"): same secret as key 1 ("team-a")`}},
		{"several problems at once", []Key{{Secret: "sk-zz9"}, {Name: "b", RequestsPerMinute: -1}},
			[]string{"key 1: name is required", `key 2 ("b"): secret is empty`, `key 2 ("b"): requests_per_minute`}},
	}
	for _, tc := range tests {
		ring, err := New(tc.keys)
		if len(tc.wantErr) == 0 {
			require.NoError(t, err, tc.name)
			assert.Equal(t, len(tc.keys), ring.Len(), tc.name)
			continue
		}
		require.Error(t, err, tc.name)
		for _, want := range tc.wantErr {
			assert.Contains(t, err.Error(), want, tc.name)
		}
		for _, k := range tc.keys {
			if k.Secret != "" && k.Secret != k.Name {
				assert.NotContains(t, err.Error(), strings.TrimSpace(k.Secret), "%s: an error must not reveal a secret", tc.name)
			}
		}
	}
}

func TestNewStore(t *testing.T) {
	t.Parallel()
	var got []Limit
	keys := []Key{{Name: "a", Secret: "sa", RequestsPerMinute: 1}, {Name: "b", Secret: "sb", TokensPerMinute: 2}}
	_, err := New(keys, WithStore(func(l []Limit) (Store, error) {
		got = l
		return NewMemoryStore(l, time.Time{}), nil
	}))
	require.NoError(t, err)
	assert.Equal(t, []Limit{{Name: "a", RequestsPerMinute: 1}, {Name: "b", TokensPerMinute: 2}}, got)

	_, err = New(keys, WithStore(func([]Limit) (Store, error) { return nil, errors.New("redis down") }))
	assert.EqualError(t, err, "limits store: redis down")
	_, err = New(keys, WithStore(func([]Limit) (Store, error) { return nil, nil }))
	assert.EqualError(t, err, "limits store: nil Store")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	long := "sk-" + strings.Repeat("x", 300) // longer than the stack buffer
	ring, err := New([]Key{
		{Name: "a", Secret: "sk-a"},
		{Name: "b", Secret: "sk-b", Role: RoleAdmin},
		{Name: "long", Secret: long},
	})
	require.NoError(t, err)
	for _, tc := range []struct{ secret, name string }{
		{"sk-a", "a"}, {"sk-b", "b"}, {long, "long"},
		{"", ""}, {"sk-", ""}, {"sk-a ", ""}, {"SK-A", ""}, {long + "x", ""},
	} {
		p, ok := ring.Lookup(tc.secret)
		if tc.name == "" {
			assert.False(t, ok, "%q", tc.secret)
			assert.Nil(t, p)
			continue
		}
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.name, p.Name())
	}
	p := principal(t, ring, "sk-b")
	assert.Equal(t, RoleAdmin, p.Role())
	assert.Same(t, p, principal(t, ring, "sk-b"), "one principal per key")
	assert.Equal(t, []string{"a", "b", "long"}, ring.Names())
}

func TestEmptyKeyring(t *testing.T) {
	t.Parallel()
	empty, err := New(nil)
	require.NoError(t, err)
	var null *Keyring
	for _, ring := range []*Keyring{empty, null} {
		assert.Equal(t, 0, ring.Len())
		assert.Empty(t, ring.Names())
		p, ok := ring.Lookup("anything")
		assert.False(t, ok)
		assert.Nil(t, p)
	}
}

// TestLookupComparesEveryKey shows that Lookup's work does not depend on
// which key matches, or whether any does: it compares the digest with every
// key, each in constant time, and does not stop at a match.
func TestLookupComparesEveryKey(t *testing.T) {
	t.Parallel()
	keys := LegacyKeys([]string{"s1", "s2", "s3", "s4", "s5", "s6", "s7"})
	ring, err := New(keys)
	require.NoError(t, err)
	for _, tc := range []struct {
		secret string
		want   int
	}{{"s1", 0}, {"s4", 3}, {"s7", 6}, {"nope", -1}, {"", -1}, {strings.Repeat("s", 1000), -1}} {
		found, compared := match(ring.digests, digest(tc.secret))
		assert.Equal(t, tc.want, found, tc.secret)
		assert.Equal(t, len(keys), compared, "secret %q", tc.secret)
	}
}

func TestLegacyKeys(t *testing.T) {
	t.Parallel()
	keys := LegacyKeys([]string{"sk-one", "sk-two"})
	assert.Equal(t, []Key{{Name: "key-1", Secret: "sk-one"}, {Name: "key-2", Secret: "sk-two"}}, keys)
	ring, err := New(keys)
	require.NoError(t, err)
	p := principal(t, ring, "sk-two")
	assert.Equal(t, "key-2", p.Name())
	assert.Equal(t, RoleUser, p.Role())
	assert.True(t, p.AllowsModel("anything"))
	for range 100 {
		tk, d := p.Acquire(time.Now())
		require.True(t, d.Allowed)
		assert.Equal(t, Decision{Allowed: true}, d, "no limits, no windows")
		tk.Done(1_000_000)
	}
}

func TestAllowsModel(t *testing.T) {
	t.Parallel()
	ring, err := New([]Key{
		{Name: "all", Secret: "s1"},
		{Name: "some", Secret: "s2", Models: []string{"llama3*", "qwen2.5:7b", "*-embed"}},
	})
	require.NoError(t, err)
	all, some := principal(t, ring, "s1"), principal(t, ring, "s2")
	for _, tc := range []struct {
		model string
		some  bool
	}{
		{"llama3", true}, {"llama3.1:70b", true}, {"qwen2.5:7b", true}, {"nomic-embed", true},
		{"qwen2.5:14b", false}, {"llama2", false}, {"", false},
	} {
		assert.True(t, all.AllowsModel(tc.model), tc.model)
		assert.Equal(t, tc.some, some.AllowsModel(tc.model), tc.model)
	}
}

func TestDigestEqual(t *testing.T) {
	t.Parallel()
	a, b := digest("sk-a"), digest("sk-a")
	assert.Equal(t, 1, a.equal(&b))
	for i := range b {
		for _, bit := range []uint64{1, 1 << 31, 1 << 32, 1 << 63} {
			c := a
			c[i] ^= bit
			assert.Equal(t, 0, a.equal(&c), "word %d bit %x", i, bit)
		}
	}
}
