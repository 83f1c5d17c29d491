package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestApply(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	for _, n := range []string{"a", "b", "c"} {
		_, err := reg.Add(registry.Config{Name: n, URL: "http://" + n, Models: ids("m-" + n)})
		require.NoError(t, err)
	}
	oldB, _ := reg.Get("b")
	changes := 0
	reg.OnChange(func() { changes++ })

	built, err := reg.Apply([]string{"a"}, []registry.Config{
		{Name: "b", URL: "http://b2/v1/", Priority: 7, Models: ids("m-b2")},
		{Name: "d", URL: "http://d", Models: ids("m-d")},
	})
	require.NoError(t, err)
	assert.Equal(t, 1, changes, "one snapshot for the whole batch")
	require.Len(t, built, 2)
	assert.Equal(t, []string{"b", "c", "d"}, names(reg.Backends()), "replaced in place, added at the end")
	newB, _ := reg.Get("b")
	assert.Same(t, built[0], newB)
	assert.NotSame(t, oldB, newB)
	assert.Equal(t, "http://b2", newB.URL)
	assert.Equal(t, 7, newB.Priority)
	assert.Empty(t, reg.Lookup("m-b"))
	assert.Equal(t, []*registry.Backend{newB}, reg.Lookup("m-b2"))
	assert.Empty(t, reg.Lookup("m-a"))

	tests := []struct {
		name   string
		remove []string
		put    []registry.Config
		want   error
	}{
		{"unknown id", []string{"zz"}, nil, registry.ErrUnknownBackend},
		{"empty name", nil, []registry.Config{{URL: "http://x"}}, registry.ErrInvalidBackend},
		{"empty url", nil, []registry.Config{{Name: "x", URL: "/v1"}}, registry.ErrInvalidBackend},
		{"twice", nil, []registry.Config{{Name: "x", URL: "http://x"}, {Name: "x", URL: "http://y"}}, registry.ErrDuplicateBackend},
	}
	for _, tt := range tests {
		before := reg.Backends()
		_, err := reg.Apply(tt.remove, tt.put)
		require.ErrorIs(t, err, tt.want, tt.name)
		assert.Equal(t, before, reg.Backends(), "%s: nothing changes", tt.name)
	}
	assert.Equal(t, 1, changes)
}
