package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// reading is a load reading taken now, built from a registry.NewLoad and
// the setter.
func reading(set func(l *registry.Load)) *registry.Load {
	l := registry.NewLoad(time.Now())
	set(l)
	return l
}

// Readings shaped like what package signals publishes for each engine.
func vllm(running, waiting int, kv float64) *registry.Load {
	return reading(func(l *registry.Load) { l.Running, l.Waiting, l.KVCacheUsage = running, waiting, kv })
}

func llamaSlots(total, busy int) *registry.Load {
	return reading(func(l *registry.Load) { l.SlotsTotal, l.SlotsBusy, l.Running = total, busy, busy })
}

func ollamaPS(names ...string) *registry.Load {
	return reading(func(l *registry.Load) {
		l.LoadedModels = []registry.LoadedModel{}
		for _, n := range names {
			l.LoadedModels = append(l.LoadedModels, registry.LoadedModel{Name: n})
		}
	})
}

func stale(l *registry.Load) *registry.Load {
	l.UpdatedAt = time.Now().Add(-time.Hour)
	return l
}

// TestSignalRouting checks that each engine's reported state drives the
// choice, under every strategy where the rule is about capacity.
func TestSignalRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		strategy   Strategy
		specs      []spec
		loads      map[string]*registry.Load // by backend name
		pending    map[string]int
		want       string
		wantReason string
		wantFull   bool
	}{
		{
			name:       "no readings: smart as before",
			strategy:   Smart(DefaultWeights()),
			specs:      []spec{{name: "a", priority: 50}, {name: "b", priority: 50}},
			pending:    map[string]int{"a": 3},
			want:       "b",
			wantReason: ReasonHighestScore,
		},
		{
			name:     "vllm queue counts although the gateway sent nothing",
			strategy: Smart(DefaultWeights()),
			specs:    []spec{{name: "a", priority: 50}, {name: "b", priority: 50}},
			loads: map[string]*registry.Load{
				"a": vllm(4, 3, 0.5), // waiting 3: not saturated, but busy
				"b": vllm(2, 0, 0.1),
			},
			pending:    map[string]int{"b": 2},
			want:       "b",
			wantReason: ReasonLeastLoaded,
		},
		{
			name:     "vllm saturated by its waiting queue is skipped",
			strategy: Smart(Weights{Priority: 100}),
			specs:    []spec{{name: "a", priority: 0}, {name: "b", priority: 90}},
			loads:    map[string]*registry.Load{"a": vllm(8, 40, 0.5)},
			want:     "b",
			// a was never a candidate; b reports nothing.
			wantReason: ReasonHighestScore,
		},
		{
			name:       "sglang KV cache nearly full is skipped",
			strategy:   Smart(Weights{Priority: 100}),
			specs:      []spec{{name: "a", priority: 0}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"a": vllm(3, 0, 0.95), "b": vllm(3, 0, 0.2)},
			want:       "b",
			wantReason: ReasonLeastLoaded,
		},
		{
			name:       "llama.cpp with every slot busy is skipped",
			strategy:   Smart(Weights{Priority: 100}),
			specs:      []spec{{name: "a", priority: 0}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"a": llamaSlots(2, 2), "b": llamaSlots(4, 1)},
			want:       "b",
			wantReason: ReasonLeastLoaded,
		},
		{
			name:       "stale reading is ignored",
			strategy:   Smart(Weights{Priority: 100}),
			specs:      []spec{{name: "a", priority: 0}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"a": stale(vllm(8, 40, 0.99))},
			want:       "a",
			wantReason: ReasonHighestScore,
		},
		{
			name:       "ollama with the model loaded is preferred",
			strategy:   Smart(DefaultWeights()),
			specs:      []spec{{name: "a", priority: 0}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"a": ollamaPS("other:7b"), "b": ollamaPS("m:latest")},
			pending:    map[string]int{"b": 5},
			want:       "b",
			wantReason: ReasonWarm,
		},
		{
			name:       "all cold: scored as usual",
			strategy:   Smart(DefaultWeights()),
			specs:      []spec{{name: "a", priority: 10}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"a": ollamaPS(), "b": ollamaPS("x")},
			want:       "a",
			wantReason: ReasonLeastLoaded,
		},
		{
			name:       "max_concurrency reached is skipped",
			strategy:   PriorityOnly(),
			specs:      []spec{{name: "a", priority: 0, maxConc: 2}, {name: "b", priority: 90}},
			pending:    map[string]int{"a": 2},
			want:       "b",
			wantReason: ReasonPriority,
		},
		{
			name:       "reported slots are the capacity",
			strategy:   RoundRobin(),
			specs:      []spec{{name: "a"}, {name: "b"}},
			loads:      map[string]*registry.Load{"a": stale(llamaSlots(1, 0))},
			pending:    map[string]int{"a": 1},
			want:       "b",
			wantReason: ReasonRoundRobin,
		},
		{
			name:       "saturated beats full",
			strategy:   PriorityOnly(),
			specs:      []spec{{name: "a", priority: 0, maxConc: 1}, {name: "b", priority: 90}},
			loads:      map[string]*registry.Load{"b": vllm(1, 10, 0.1)},
			pending:    map[string]int{"a": 1},
			want:       "b",
			wantReason: ReasonPriority,
		},
		{
			name:       "all full: still a pick, and Full says so",
			strategy:   PriorityOnly(),
			specs:      []spec{{name: "a", priority: 0, maxConc: 1}, {name: "b", priority: 90, maxConc: 1}},
			pending:    map[string]int{"a": 1, "b": 1},
			want:       "a",
			wantReason: ReasonPriority,
			wantFull:   true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i := range tc.specs {
				tc.specs[i].models = models("m")
			}
			reg, bs := newReg(t, tc.specs...)
			for name, l := range tc.loads {
				bs[name].SetLoad(l)
			}
			for name, n := range tc.pending {
				for range n {
					bs[name].Begin()
				}
			}
			r, err := New(reg, Config{Strategy: tc.strategy})
			require.NoError(t, err)
			rt, err := r.Route(Requirements{Model: "m"})
			require.NoError(t, err)
			att, ok := rt.Next()
			require.True(t, ok)
			assert.Equal(t, tc.want, att.Backend.Name)
			assert.Equal(t, tc.wantReason, att.Reason)
			assert.Equal(t, tc.wantFull, rt.Full())
			assert.Equal(t, !tc.wantFull, r.HasRoom(Requirements{Model: "m"}))
		})
	}
}

// TestSignalsMaxAge checks Config.Signals: a reading older than MaxAge is
// ignored, and a negative MaxAge ignores every reading.
func TestSignalsMaxAge(t *testing.T) {
	t.Parallel()
	specs := []spec{{name: "a", priority: 0, models: models("m")}, {name: "b", priority: 90, models: models("m")}}
	reg, bs := newReg(t, specs...)
	l := vllm(1, 50, 0.1)
	l.UpdatedAt = time.Now().Add(-10 * time.Second)
	bs["a"].SetLoad(l)
	for _, tc := range []struct {
		maxAge time.Duration
		want   string
	}{
		{0, "a"},                // default 3s: too old
		{time.Minute, "b"},      // fresh enough: a is saturated
		{-1, "a"},               // signals off
		{20 * time.Second, "b"}, // fresh enough
	} {
		r, err := New(reg, Config{Strategy: Smart(Weights{Priority: 100}), Signals: Signals{MaxAge: tc.maxAge}})
		require.NoError(t, err)
		rt, err := r.Route(Requirements{Model: "m"})
		require.NoError(t, err)
		att, _ := rt.Next()
		assert.Equal(t, tc.want, att.Backend.Name, "max age %v", tc.maxAge)
	}
}

// TestFailoverSkipsFull checks that later attempts prefer room too and
// that HasRoom looks at the first fallback model with backends.
func TestFailoverSkipsFull(t *testing.T) {
	t.Parallel()
	reg, bs := newReg(t,
		spec{name: "a", priority: 0, models: models("m")},
		spec{name: "b", priority: 10, models: models("m"), maxConc: 1},
		spec{name: "c", priority: 20, models: models("m")},
		spec{name: "f", priority: 0, models: models("fb"), maxConc: 1},
	)
	bs["b"].Begin()
	r, err := New(reg, Config{Strategy: PriorityOnly(), MaxRetries: 2, Fallbacks: map[string][]string{"gone": {"fb"}}})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	var got []string
	for att, ok := rt.Next(); ok; att, ok = rt.Next() {
		got = append(got, att.Backend.Name)
	}
	assert.Equal(t, []string{"a", "c", "b"}, got)

	// A model with no backend of its own, falling back to a full one.
	_, err = reg.Add(registry.Config{Name: "g", URL: "http://127.0.0.1:1/g", Status: registry.StatusUnhealthy, Models: models("gone")})
	require.NoError(t, err)
	bs["f"].Begin()
	assert.False(t, r.HasRoom(Requirements{Model: "gone"}))
	assert.True(t, r.HasRoom(Requirements{Model: "nothing-serves-this"}), "nothing usable: waiting would not help")
}

// TestMarkQueued checks the reason of a request that waited.
func TestMarkQueued(t *testing.T) {
	t.Parallel()
	reg, _ := pool(t, 2, "m")
	r, err := New(reg, Config{})
	require.NoError(t, err)
	rt, err := r.Route(Requirements{Model: "m"})
	require.NoError(t, err)
	rt.MarkQueued()
	att, _ := rt.Next()
	assert.Equal(t, ReasonQueued, att.Reason)
}

func TestParsePriority(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Priority
		ok   bool
	}{
		{"high", PriorityHigh, true}, {" HIGH ", PriorityHigh, true}, {"normal", PriorityNormal, true},
		{"low", PriorityLow, true}, {"", PriorityNormal, false}, {"urgent", PriorityNormal, false},
	} {
		p, ok := ParsePriority(tc.in)
		assert.Equal(t, tc.want, p, tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		if ok {
			assert.Equal(t, p.String(), strings.ToLower(strings.TrimSpace(tc.in)))
		}
	}
}
