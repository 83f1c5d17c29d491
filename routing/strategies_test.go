package routing

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestWeightsScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		w        Weights
		priority int
		pending  int
		latency  time.Duration
		want     int
	}{
		{"idle best", DefaultWeights(), 0, 0, 0, 100},
		{"default priority 50", DefaultWeights(), 50, 0, 0, 75},
		{"priority above 100 clamps", DefaultWeights(), 500, 0, 0, 50},
		{"negative priority clamps to 0", DefaultWeights(), -10, 0, 0, 100},
		{"pending 10", DefaultWeights(), 0, 10, 0, 97},
		{"pending saturates at 100", DefaultWeights(), 0, 150, 0, 70},
		{"latency 200ms", DefaultWeights(), 0, 0, 200 * time.Millisecond, 96},
		{"latency saturates at 1s", DefaultWeights(), 0, 0, 5 * time.Second, 80},
		{"all bad", DefaultWeights(), 100, 100, 2 * time.Second, 0},
		{"integer division", Weights{Priority: 1, Load: 1, Latency: 1}, 1, 0, 0, 2},
		{"load only", Weights{Load: 100}, 100, 40, time.Second, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, bs := newReg(t, spec{name: "x", priority: tc.priority, models: models("m")})
			b := bs["x"]
			for range tc.pending {
				b.Begin()
			}
			if tc.latency > 0 {
				b.ObserveLatency(tc.latency)
			}
			assert.Equal(t, tc.want, tc.w.Score(b))
		})
	}
}

func TestWeightsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w       Weights
		wantErr string
	}{
		{DefaultWeights(), ""},
		{Weights{Load: 1}, ""},
		{Weights{Priority: 200, Load: 0, Latency: 0}, ""},
		{Weights{Priority: -1, Load: 50, Latency: 50}, "routing.weights.priority"},
		{Weights{Priority: 50, Load: -1, Latency: 50}, "routing.weights.load"},
		{Weights{Priority: 50, Load: 50, Latency: -1}, "routing.weights.latency"},
		{Weights{}, "at least one weight"},
	}
	for _, tc := range tests {
		err := tc.w.Validate()
		if tc.wantErr == "" {
			assert.NoError(t, err, "%+v", tc.w)
		} else {
			assert.ErrorContains(t, err, tc.wantErr, "%+v", tc.w)
		}
	}
}

func TestSmart(t *testing.T) {
	t.Parallel()
	type state struct {
		priority int
		pending  int
		latency  time.Duration
	}
	tests := []struct {
		name   string
		w      Weights
		states []state
		want   string
	}{
		{"configured priority honoured", DefaultWeights(), []state{{priority: 90}, {priority: 10}, {priority: 50}}, "b1"},
		{"tie goes to first", DefaultWeights(), []state{{priority: 50}, {priority: 50}, {priority: 50}}, "b0"},
		{"tie after integer division goes to first", Weights{Priority: 1},
			[]state{{priority: 2}, {priority: 1}}, "b0"},
		{"load breaks equal priority", DefaultWeights(), []state{{pending: 5}, {pending: 1}, {pending: 3}}, "b1"},
		{"latency breaks equal priority", DefaultWeights(),
			[]state{{latency: 500 * time.Millisecond}, {latency: 100 * time.Millisecond}}, "b1"},
		{"busy preferred backend loses under load weight", Weights{Priority: 10, Load: 90},
			[]state{{priority: 0, pending: 80}, {priority: 60}}, "b1"},
		{"single candidate", DefaultWeights(), []state{{priority: 99, pending: 99}}, "b0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			specs := make([]spec, len(tc.states))
			for i, s := range tc.states {
				specs[i] = spec{name: "b" + string(rune('0'+i)), priority: s.priority, models: models("m")}
			}
			reg, _ := newReg(t, specs...)
			cands := reg.Backends()
			for i, s := range tc.states {
				for range s.pending {
					cands[i].Begin()
				}
				if s.latency > 0 {
					cands[i].ObserveLatency(s.latency)
				}
			}
			pick, reason := Smart(tc.w).Select("m", cands)
			assert.Equal(t, tc.want, pick.Name)
			assert.Equal(t, ReasonHighestScore, reason)
		})
	}
}

func TestPriorityOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		priorities []int
		want       string
	}{
		{"lowest wins", []int{30, 10, 20}, "b1"},
		{"tie goes to first", []int{20, 10, 10}, "b1"},
		{"negative is lowest", []int{0, -5, 10}, "b1"},
		{"single", []int{7}, "b0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			specs := make([]spec, len(tc.priorities))
			for i, p := range tc.priorities {
				specs[i] = spec{name: "b" + string(rune('0'+i)), priority: p, models: models("m")}
			}
			reg, _ := newReg(t, specs...)
			// Load must not matter.
			reg.Backends()[len(specs)-1].Begin()
			pick, reason := PriorityOnly().Select("m", reg.Backends())
			assert.Equal(t, tc.want, pick.Name)
			assert.Equal(t, ReasonPriority, reason)
		})
	}
}

func TestRoundRobinPerModel(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 3, "a", "b")
	rr := RoundRobin()
	var gotA, gotB []string
	for i := range 6 {
		p, reason := rr.Select("a", bs)
		require.Equal(t, ReasonRoundRobin, reason)
		gotA = append(gotA, p.Name)
		if i%2 == 0 { // model b is asked half as often
			p, _ = rr.Select("b", bs)
			gotB = append(gotB, p.Name)
		}
	}
	assert.Equal(t, []string{"b0", "b1", "b2", "b0", "b1", "b2"}, gotA)
	assert.Equal(t, []string{"b0", "b1", "b2"}, gotB, "model b rotates on its own counter")

	// A shorter candidate list for the same model still rotates in range.
	p, _ := rr.Select("a", bs[:2])
	assert.Contains(t, []string{"b0", "b1"}, p.Name)
}

func TestRoundRobinConcurrent(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 4, "m")
	rr := RoundRobin()
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			local := map[string]int{}
			for range 100 {
				p, _ := rr.Select("m", bs)
				local[p.Name]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"b0": 200, "b1": 200, "b2": 200, "b3": 200}, counts)
}

func TestRandomHitsAllCandidates(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 5, "m")
	for _, s := range []Strategy{Random(), RandomWithSeed(1), RandomWithSeed(42)} {
		counts := map[string]int{}
		const n = 5000
		for range n {
			p, reason := s.Select("m", bs)
			require.Equal(t, ReasonRandom, reason)
			counts[p.Name]++
		}
		require.Len(t, counts, 5)
		for name, c := range counts {
			// Expected 1000 each; 700 is over 10 standard deviations away.
			assert.Greater(t, c, 700, name)
			assert.Less(t, c, 1300, name)
		}
	}
}

func TestRandomWithSeedReproducible(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 7, "m")
	seq := func(s Strategy) []string {
		var out []string
		for range 20 {
			p, _ := s.Select("m", bs)
			out = append(out, p.Name)
		}
		return out
	}
	assert.Equal(t, seq(RandomWithSeed(9)), seq(RandomWithSeed(9)))
	assert.NotEqual(t, seq(RandomWithSeed(9)), seq(RandomWithSeed(10)))
}

func TestRandomConcurrent(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 3, "m")
	s := Random()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				p, _ := s.Select("m", bs)
				assert.NotNil(t, p)
			}
		})
	}
	wg.Wait()
}

func TestStrategyFunc(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 3, "m")
	var gotModel string
	s := StrategyFunc(func(model string, c []*registry.Backend) (*registry.Backend, string) {
		gotModel = model
		return c[len(c)-1], "last"
	})
	p, reason := s.Select("m", bs)
	assert.Equal(t, "b2", p.Name)
	assert.Equal(t, "last", reason)
	assert.Equal(t, "m", gotModel)
}

func TestParseStrategy(t *testing.T) {
	t.Parallel()
	_, bs := pool(t, 1, "m")
	tests := []struct {
		name       string
		w          Weights
		wantReason string
		wantErr    string
	}{
		{"smart", DefaultWeights(), ReasonHighestScore, ""},
		{" Smart ", DefaultWeights(), ReasonHighestScore, ""},
		{"round_robin", Weights{}, ReasonRoundRobin, ""},
		{"priority_only", Weights{}, ReasonPriority, ""},
		{"random", Weights{}, ReasonRandom, ""},
		{"smart", Weights{Priority: -1, Load: 1}, "", "routing.weights.priority"},
		{"fastest", DefaultWeights(), "", `routing.strategy: unknown strategy "fastest" (want one of smart, round_robin, priority_only, random)`},
		{"", DefaultWeights(), "", "unknown strategy"},
	}
	for _, tc := range tests {
		s, err := ParseStrategy(tc.name, tc.w)
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.name)
			assert.Nil(t, s)
			continue
		}
		require.NoError(t, err, tc.name)
		_, reason := s.Select("m", bs)
		assert.Equal(t, tc.wantReason, reason, tc.name)
	}
	_, err := ParseStrategy("nope", DefaultWeights())
	assert.True(t, errors.Is(err, ErrUnknownStrategy))
	assert.Equal(t, []string{"smart", "round_robin", "priority_only", "random"}, StrategyNames())
	for _, n := range StrategyNames() {
		_, err := ParseStrategy(n, DefaultWeights())
		assert.NoError(t, err, n)
	}
}
