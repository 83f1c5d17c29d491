package routing

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// step is the expected outcome of one Next call.
type step struct {
	backend  string
	model    string
	fallback bool
	reason   string
}

// drain calls Next until it reports nothing left and returns every attempt,
// checking that numbers count up from 1 and that Next stays exhausted.
func drain(t *testing.T, rt *Route) []step {
	t.Helper()
	var out []step
	for {
		a, ok := rt.Next()
		if !ok {
			break
		}
		require.Equal(t, len(out)+1, a.Number)
		out = append(out, step{a.Backend.Name, a.Model, a.Fallback, a.Reason})
		require.Less(t, len(out), 100, "Next never ends")
	}
	_, ok := rt.Next()
	require.False(t, ok, "Next stays exhausted")
	require.Equal(t, len(out), rt.Attempts())
	return out
}

func TestNextFailoverSequence(t *testing.T) {
	t.Parallel()
	reg, _ := newReg(t,
		spec{name: "p40", priority: 40, models: models("m")},
		spec{name: "p10", priority: 10, models: models("m", "f2")},
		spec{name: "p30", priority: 30, models: models("m")},
		spec{name: "p20", priority: 20, models: models("m")},
		spec{name: "fa", priority: 5, models: models("f1")},
		spec{name: "fdown", priority: 1, status: registry.StatusUnhealthy, models: models("f1")},
		spec{name: "fb", priority: 6, models: models("f1")},
		spec{name: "f2b", priority: 0, models: models("f2")},
	)
	tests := []struct {
		name       string
		maxRetries int
		fallbacks  map[string][]string
		want       []step
	}{
		{"max retries 2 then fallbacks in order", 2, map[string][]string{"m": {"f1", "f2"}}, []step{
			{"p10", "m", false, ReasonPriority},
			{"p20", "m", false, ReasonFailover},
			{"p30", "m", false, ReasonFailover},
			{"fa", "f1", true, "fallback:f1"},
			{"fb", "f1", true, "fallback:f1"},
			{"f2b", "f2", true, "fallback:f2"},
			{"p10", "f2", true, "fallback:f2"}, // tried for m, but not for f2
		}},
		{"no retries: one backend per model", 0, map[string][]string{"m": {"f1", "f2"}}, []step{
			{"p10", "m", false, ReasonPriority},
			{"fa", "f1", true, "fallback:f1"},
			{"f2b", "f2", true, "fallback:f2"},
		}},
		{"retries beyond the candidates", 10, nil, []step{
			{"p10", "m", false, ReasonPriority},
			{"p20", "m", false, ReasonFailover},
			{"p30", "m", false, ReasonFailover},
			{"p40", "m", false, ReasonFailover},
		}},
		{"fallback order is the configured one", 0, map[string][]string{"m": {"f2", "f1"}}, []step{
			{"p10", "m", false, ReasonPriority},
			{"f2b", "f2", true, "fallback:f2"},
			{"fa", "f1", true, "fallback:f1"},
		}},
		{"unknown fallback skipped", 0, map[string][]string{"m": {"nope", "f1"}}, []step{
			{"p10", "m", false, ReasonPriority},
			{"fa", "f1", true, "fallback:f1"},
		}},
		{"fallback chains are single level", 0, map[string][]string{"m": {"f1"}, "f1": {"f2"}}, []step{
			{"p10", "m", false, ReasonPriority},
			{"fa", "f1", true, "fallback:f1"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(reg, Config{Strategy: PriorityOnly(), MaxRetries: tc.maxRetries, Fallbacks: tc.fallbacks})
			require.NoError(t, err)
			rt, err := r.Route(Requirements{Model: "m"})
			require.NoError(t, err)
			assert.Equal(t, 0, rt.Attempts())
			assert.Equal(t, tc.want, drain(t, rt))
		})
	}
}

func TestNextPrimaryUnavailableStartsWithFallback(t *testing.T) {
	t.Parallel()
	reg, _ := newReg(t,
		spec{name: "down", status: registry.StatusUnhealthy, models: models("m")},
		spec{name: "fb", models: models("f")},
	)
	r, err := New(reg, Config{Fallbacks: map[string][]string{"m": {"f"}}})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	assert.Equal(t, []step{{"fb", "f", true, "fallback:f"}}, drain(t, rt))
}

func TestNextRereadsHealth(t *testing.T) {
	t.Parallel()
	reg, bs := newReg(t,
		spec{name: "a", priority: 1, models: models("m")},
		spec{name: "b", priority: 2, models: models("m")},
		spec{name: "c", priority: 3, models: models("m")},
		spec{name: "d", priority: 4, status: registry.StatusUnhealthy, models: models("m")},
	)
	r, err := New(reg, Config{Strategy: PriorityOnly(), MaxRetries: 5})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)

	a, ok := rt.Next()
	require.True(t, ok)
	assert.Equal(t, "a", a.Backend.Name)

	bs["b"].SetStatus(registry.StatusUnhealthy, "ejected") // ejected after the first attempt
	bs["d"].SetStatus(registry.StatusHealthy, "")          // recovered meanwhile
	var got []string
	for {
		a, ok := rt.Next()
		if !ok {
			break
		}
		got = append(got, a.Backend.Name)
	}
	assert.Equal(t, []string{"c", "d"}, got)
	assert.Equal(t, []string{"a", "c", "d"}, names(rt.Tried()))
}

func TestNextStrategySeesOnlyUntried(t *testing.T) {
	t.Parallel()
	reg, _ := pool(t, 4, "m")
	var seen [][]string
	s := StrategyFunc(func(_ string, c []*registry.Backend) (*registry.Backend, string) {
		seen = append(seen, names(c))
		return c[len(c)-1], "" // empty reason is reported as "custom"
	})
	r, err := New(reg, Config{Strategy: s, MaxRetries: 2})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	assert.Equal(t, []step{
		{"b3", "m", false, "custom"},
		{"b2", "m", false, ReasonFailover},
		{"b1", "m", false, ReasonFailover},
	}, drain(t, rt))
	assert.Equal(t, [][]string{{"b0", "b1", "b2", "b3"}, {"b0", "b1", "b2"}, {"b0", "b1"}}, seen)
}

func TestNextNilPickMeansFirst(t *testing.T) {
	t.Parallel()
	reg, _ := pool(t, 2, "m")
	s := StrategyFunc(func(string, []*registry.Backend) (*registry.Backend, string) { return nil, "none" })
	r, err := New(reg, Config{Strategy: s, MaxRetries: 1})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	assert.Equal(t, []step{{"b0", "m", false, "none"}, {"b1", "m", false, ReasonFailover}}, drain(t, rt))
}

func TestRouteAliases(t *testing.T) {
	t.Parallel()
	reg, _ := newReg(t,
		spec{name: "x", models: models("llama3")},
		spec{name: "y", models: models("phi")},
	)
	r, err := New(reg, Config{
		Aliases: map[string]string{"gpt-4": "gpt-4-turbo", "gpt-4-turbo": "llama3", "gpt-3.5": "phi-alias", "phi-alias": "missing"},
		// Fallbacks are keyed by the resolved name; entries are not resolved.
		Fallbacks: map[string][]string{"missing": {"phi-alias", "phi"}},
	})
	require.NoError(t, err)

	rt, err := r.Route(Requirements{Model: "gpt-4"})
	require.NoError(t, err)
	assert.Equal(t, "gpt-4", rt.Requested)
	assert.Equal(t, "llama3", rt.Resolved)
	assert.Equal(t, []step{{"x", "llama3", false, ReasonHighestScore}}, drain(t, rt))

	rt, err = r.Route(Requirements{Model: "gpt-3.5"})
	require.NoError(t, err)
	assert.Equal(t, "missing", rt.Resolved)
	assert.Equal(t, []step{{"y", "phi", true, "fallback:phi"}}, drain(t, rt))
}

func TestCapabilityFiltering(t *testing.T) {
	t.Parallel()
	m := func(ctx int, vision, tools, json registry.Capability) []registry.Model {
		return []registry.Model{{ID: "m", ContextLength: ctx, Vision: vision, Tools: tools, JSONMode: json}}
	}
	U, Y, N := registry.CapUnknown, registry.CapYes, registry.CapNo
	reg, _ := newReg(t,
		spec{name: "unknown", models: m(0, U, U, U)},
		spec{name: "yes", models: m(8192, Y, Y, Y)},
		spec{name: "novision", models: m(32000, N, Y, U)},
		spec{name: "notools", models: m(4096, Y, N, Y)},
		spec{name: "nojson", models: m(2048, U, U, N)},
		spec{name: "sick", status: registry.StatusUnhealthy, models: m(0, Y, Y, Y)},
		spec{name: "draining", status: registry.StatusDraining, models: m(0, Y, Y, Y)},
	)
	tests := []struct {
		name string
		req  Requirements
		want []string
	}{
		{"plain request: every healthy backend", Requirements{}, []string{"unknown", "yes", "novision", "notools", "nojson"}},
		{"vision: unknown allowed, CapNo filtered", Requirements{Vision: true}, []string{"unknown", "yes", "notools", "nojson"}},
		{"tools", Requirements{Tools: true}, []string{"unknown", "yes", "novision", "nojson"}},
		{"json mode", Requirements{JSONMode: true}, []string{"unknown", "yes", "novision", "notools"}},
		{"all three", Requirements{Vision: true, Tools: true, JSONMode: true}, []string{"unknown", "yes"}},
		{"context 4096 fits exactly", Requirements{EstimatedTokens: 4096}, []string{"unknown", "yes", "novision", "notools"}},
		{"context 5000: unknown length allowed", Requirements{EstimatedTokens: 5000}, []string{"unknown", "yes", "novision"}},
		{"context 20000", Requirements{EstimatedTokens: 20000}, []string{"unknown", "novision"}},
		{"context and vision", Requirements{EstimatedTokens: 20000, Vision: true}, []string{"unknown"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			s := StrategyFunc(func(_ string, c []*registry.Backend) (*registry.Backend, string) {
				got = names(c)
				return c[0], "first"
			})
			r, err := New(reg, Config{Strategy: s})
			require.NoError(t, err)
			tc.req.Model = "m"
			_, err = r.Route(tc.req)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRequirementsMissing(t *testing.T) {
	t.Parallel()
	q := Requirements{Vision: true, Tools: true, JSONMode: true, EstimatedTokens: 100}
	assert.Nil(t, q.Missing(registry.Model{ID: "m"}))
	assert.Equal(t, []string{"vision", "tools", "json_mode", "context_length"}, q.Missing(registry.Model{
		ID: "m", ContextLength: 50, Vision: registry.CapNo, Tools: registry.CapNo, JSONMode: registry.CapNo,
	}))
	assert.Equal(t, []string{"tools"}, q.Missing(registry.Model{ID: "m", Vision: registry.CapYes, Tools: registry.CapNo}))
}

func TestRouteConcurrent(t *testing.T) {
	t.Parallel()
	reg, bs := pool(t, 6, "m", "f")
	r, err := New(reg, Config{Strategy: RoundRobin(), MaxRetries: 2, Fallbacks: map[string][]string{"m": {"f"}}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { // flip health while requests route
		for i := range 2000 {
			b := bs[i%len(bs)]
			if i%2 == 0 {
				b.SetStatus(registry.StatusUnhealthy, "flap")
			} else {
				b.SetStatus(registry.StatusHealthy, "")
			}
		}
	})
	var routed atomic.Int64
	for range 4 {
		wg.Go(func() {
			for range 500 {
				rt, err := r.Route(Requirements{Model: "m", Tools: true})
				if err != nil {
					var re *Error
					if assert.ErrorAs(t, err, &re) {
						assert.Equal(t, KindFallbackExhausted, re.Kind)
					}
					continue
				}
				routed.Add(1)
				seen := map[string]bool{}
				for {
					a, ok := rt.Next()
					if !ok {
						break
					}
					key := a.Model + "/" + a.Backend.Name
					assert.False(t, seen[key], "backend tried twice for one model")
					seen[key] = true
				}
				assert.LessOrEqual(t, rt.Attempts(), 6)
			}
		})
	}
	wg.Wait()
	assert.Positive(t, routed.Load())
}
