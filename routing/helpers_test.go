package routing

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// spec describes one test backend.
type spec struct {
	name     string
	priority int
	status   registry.Status // zero means healthy
	models   []registry.Model
	maxConc  int // registry.Config.MaxConcurrency
}

// models returns plain model entries (unknown capabilities, unknown context).
func models(ids ...string) []registry.Model {
	out := make([]registry.Model, len(ids))
	for i, id := range ids {
		out[i] = registry.Model{ID: id}
	}
	return out
}

// newReg builds a registry holding the specs, in order, and returns the
// backends by name.
func newReg(t testing.TB, specs ...spec) (*registry.Registry, map[string]*registry.Backend) {
	t.Helper()
	reg := registry.New()
	byName := make(map[string]*registry.Backend, len(specs))
	for _, s := range specs {
		st := s.status
		if st == registry.StatusUnknown {
			st = registry.StatusHealthy
		}
		b, err := reg.Add(registry.Config{
			Name:     s.name,
			URL:      "http://127.0.0.1:1/" + s.name,
			Priority: s.priority,
			Status:   st,
			Models:   s.models,

			MaxConcurrency: s.maxConc,
		})
		require.NoError(t, err)
		byName[s.name] = b
	}
	return reg, byName
}

// pool returns n healthy backends named b0..b(n-1) serving the models.
func pool(t testing.TB, n int, ids ...string) (*registry.Registry, []*registry.Backend) {
	t.Helper()
	specs := make([]spec, n)
	for i := range specs {
		specs[i] = spec{name: fmt.Sprintf("b%d", i), priority: 50, models: models(ids...)}
	}
	reg, _ := newReg(t, specs...)
	return reg, reg.Backends()
}

// names returns the backend names.
func names(bs []*registry.Backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	return out
}
