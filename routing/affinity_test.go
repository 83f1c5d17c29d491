package routing

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// sessionOwners routes each session key once and returns the backend name
// each got.
func sessionOwners(t *testing.T, r *Router, keys []string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		rt, err := r.Route(Requirements{Model: "m", SessionKey: k})
		require.NoError(t, err)
		att, ok := rt.Next()
		require.True(t, ok)
		require.Equal(t, ReasonAffinity, att.Reason)
		out[k] = att.Backend.Name
	}
	return out
}

func sessionKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("session-%04d", i)
	}
	return keys
}

// TestAffinityChurn checks rendezvous hashing: 1000 sessions spread evenly
// over 5 backends; removing one moves only its sessions (about 200), each
// to some other backend, and adding it back restores the first mapping.
func TestAffinityChurn(t *testing.T) {
	t.Parallel()
	reg, _ := pool(t, 5, "m")
	r, err := New(reg, Config{Affinity: true, Strategy: RoundRobin()})
	require.NoError(t, err)
	keys := sessionKeys(1000)
	before := sessionOwners(t, r, keys)

	perBackend := map[string]int{}
	for _, b := range before {
		perBackend[b]++
	}
	require.Len(t, perBackend, 5)
	for name, n := range perBackend {
		assert.InDelta(t, 200, n, 60, "sessions on %s", name)
	}
	assert.Equal(t, before, sessionOwners(t, r, keys), "stable")

	require.NoError(t, reg.Remove("b2"))
	after := sessionOwners(t, r, keys)
	moved := 0
	for k, b := range before {
		if b == "b2" {
			assert.NotEqual(t, "b2", after[k])
			moved++
			continue
		}
		assert.Equal(t, b, after[k], "session %s moved although its backend stayed", k)
	}
	assert.Equal(t, perBackend["b2"], moved)

	_, err = reg.Add(registry.Config{Name: "b2", URL: "http://127.0.0.1:1/b2", Priority: 50, Status: registry.StatusHealthy, Models: models("m")})
	require.NoError(t, err)
	assert.Equal(t, before, sessionOwners(t, r, keys), "the backend that joined takes back exactly its share")
}

// TestAffinityAcrossInstances checks that two routers over registries
// built independently, in different orders, map every session alike.
func TestAffinityAcrossInstances(t *testing.T) {
	t.Parallel()
	var fwd, rev []spec
	for i := range 7 {
		fwd = append(fwd, spec{name: fmt.Sprintf("gpu-%d", i), priority: i * 10, models: models("m")})
	}
	for i := len(fwd) - 1; i >= 0; i-- {
		rev = append(rev, fwd[i])
	}
	regA, _ := newReg(t, fwd...)
	regB, _ := newReg(t, rev...)
	ra, err := New(regA, Config{Affinity: true})
	require.NoError(t, err)
	rb, err := New(regB, Config{Affinity: true, Strategy: Random()})
	require.NoError(t, err)
	keys := sessionKeys(300)
	assert.Equal(t, sessionOwners(t, ra, keys), sessionOwners(t, rb, keys))
}

// TestAffinityGivesWay checks that a session's backend is left while it is
// full, saturated or unhealthy, for the same second choice each time, and
// that the session returns once it recovers.
func TestAffinityGivesWay(t *testing.T) {
	t.Parallel()
	specs := make([]spec, 4)
	for i := range specs {
		specs[i] = spec{name: fmt.Sprintf("b%d", i), priority: 50, models: models("m"), maxConc: 2}
	}
	reg, bs := newReg(t, specs...)
	r, err := New(reg, Config{Affinity: true})
	require.NoError(t, err)
	const key = "claude-session-1"
	home := sessionOwners(t, r, []string{key})[key]
	b := bs[home]

	others := make([]*registry.Backend, 0, 3)
	for _, x := range reg.Backends() {
		if x != b {
			others = append(others, x)
		}
	}
	second := Rendezvous(key, others).Name

	for _, tc := range []struct {
		name  string
		fault func()
		fix   func()
	}{
		{"full", func() { b.Begin(); b.Begin() }, func() { b.End(); b.End() }},
		{"saturated", func() { b.SetLoad(vllm(4, 9, 0.3)) }, func() { b.SetLoad(nil) }},
		{"unhealthy", func() { b.SetStatus(registry.StatusUnhealthy, "down") }, func() { b.SetStatus(registry.StatusHealthy, "") }},
	} {
		tc.fault()
		assert.Equal(t, second, sessionOwners(t, r, []string{key})[key], tc.name)
		tc.fix()
		assert.Equal(t, home, sessionOwners(t, r, []string{key})[key], tc.name+" recovered")
	}
}

// TestAffinityPrefersWarm checks that a session is hashed over the
// backends that have the model loaded when some report it and others
// report they would have to load it.
func TestAffinityPrefersWarm(t *testing.T) {
	t.Parallel()
	reg, bs := pool(t, 3, "m")
	r, err := New(reg, Config{Affinity: true})
	require.NoError(t, err)
	keys := sessionKeys(50)
	bs[0].SetLoad(ollamaPS("m"))
	bs[1].SetLoad(ollamaPS("other"))
	bs[2].SetLoad(ollamaPS())
	for k, name := range sessionOwners(t, r, keys) {
		assert.Equal(t, "b0", name, k)
	}
}

// TestAffinityOff checks that without Config.Affinity the strategy decides.
func TestAffinityOff(t *testing.T) {
	t.Parallel()
	reg, _ := pool(t, 3, "m")
	r, err := New(reg, Config{Strategy: RoundRobin()})
	require.NoError(t, err)
	seen := map[string]bool{}
	for range 3 {
		rt, err := r.Route(Requirements{Model: "m", SessionKey: "s"})
		require.NoError(t, err)
		att, _ := rt.Next()
		assert.Equal(t, ReasonRoundRobin, att.Reason)
		seen[att.Backend.Name] = true
	}
	assert.Len(t, seen, 3)
}
