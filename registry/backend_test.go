package registry_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// newBackend adds one backend to a fresh registry.
func newBackend(t *testing.T, c registry.Config) *registry.Backend {
	t.Helper()
	if c.Name == "" {
		c.Name = "b"
	}
	if c.URL == "" {
		c.URL = "http://127.0.0.1:1"
	}
	b, err := registry.New().Add(c)
	require.NoError(t, err)
	return b
}

func TestSetStatus(t *testing.T) {
	t.Parallel()
	type step struct {
		status      registry.Status
		err         string
		wantChanged bool
		wantLastErr string
		wantFails   int64 // after the step
		failsBefore int   // RecordFailure calls before the step
	}
	tests := []struct {
		name    string
		initial registry.Status
		steps   []step
	}{
		{name: "unknown to healthy", initial: registry.StatusUnknown, steps: []step{
			{status: registry.StatusHealthy, wantChanged: true},
			{status: registry.StatusHealthy, wantChanged: false},
		}},
		{name: "error kept while unhealthy", initial: registry.StatusHealthy, steps: []step{
			{status: registry.StatusUnhealthy, err: "connection refused", wantChanged: true, wantLastErr: "connection refused", failsBefore: 2, wantFails: 2},
			{status: registry.StatusUnhealthy, err: "", wantChanged: false, wantLastErr: "connection refused", wantFails: 2},
			{status: registry.StatusUnhealthy, err: "timeout", wantChanged: false, wantLastErr: "timeout", wantFails: 2},
			{status: registry.StatusHealthy, err: "", wantChanged: true, wantLastErr: "", wantFails: 0},
		}},
		{name: "healthy clears even with an error given", initial: registry.StatusUnhealthy, steps: []step{
			{status: registry.StatusUnhealthy, err: "boom", wantChanged: false, wantLastErr: "boom", failsBefore: 1, wantFails: 1},
			{status: registry.StatusHealthy, err: "ignored", wantChanged: true, wantLastErr: "", wantFails: 0},
		}},
		{name: "draining", initial: registry.StatusHealthy, steps: []step{
			{status: registry.StatusDraining, wantChanged: true},
			{status: registry.StatusUnknown, wantChanged: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, registry.Config{Status: tt.initial})
			require.Equal(t, tt.initial, b.Status())
			for i, s := range tt.steps {
				for range s.failsBefore {
					b.RecordFailure()
				}
				before := b.LastCheck()
				assert.Equal(t, s.wantChanged, b.SetStatus(s.status, s.err), "step %d changed", i)
				assert.Equal(t, s.status, b.Status(), "step %d status", i)
				assert.Equal(t, s.status == registry.StatusHealthy, b.Healthy(), "step %d healthy", i)
				assert.Equal(t, s.wantLastErr, b.LastError(), "step %d last error", i)
				assert.Equal(t, s.wantFails, b.Failures(), "step %d failures", i)
				assert.False(t, b.LastCheck().Before(before), "step %d last check", i)
			}
		})
	}
}

func TestBeginEnd(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{})
	assert.Zero(t, b.Pending())
	assert.Zero(t, b.Requests())

	b.Begin()
	b.Begin()
	assert.Equal(t, int64(2), b.Pending())
	assert.Zero(t, b.Requests())
	b.End()
	assert.Equal(t, int64(1), b.Pending())
	assert.Equal(t, uint64(1), b.Requests())
	b.End()
	assert.Zero(t, b.Pending())
	assert.Equal(t, uint64(2), b.Requests())

	// An unpaired End never drives the count below zero.
	b.End()
	assert.Zero(t, b.Pending())
	b.Begin()
	assert.Equal(t, int64(1), b.Pending())
	b.End()
	assert.Zero(t, b.Pending())
}

func TestBeginEndConcurrent(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{})
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				b.Begin()
				assert.Positive(t, b.Pending())
				b.End()
			}
		})
	}
	wg.Wait()
	assert.Zero(t, b.Pending())
	assert.Equal(t, uint64(workers*each), b.Requests())
}

func TestObserveLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []time.Duration
		want    time.Duration
	}{
		{"none", nil, 0},
		{"first sample as is", []time.Duration{100 * time.Millisecond}, 100 * time.Millisecond},
		// (50ms + 4·100ms)/5 = 90ms
		{"second sample", []time.Duration{100 * time.Millisecond, 50 * time.Millisecond}, 90 * time.Millisecond},
		// 100 → (200+400)/5=120 → (200+480)/5=136
		{"rising", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}, 136 * time.Millisecond},
		// 1000µs → (0→1µs clamp: 1+4000)/5 = 800µs (integer division)
		{"zero sample clamped to 1µs", []time.Duration{time.Millisecond, 0}, 800 * time.Microsecond},
		{"sub-microsecond first sample", []time.Duration{10 * time.Nanosecond}, time.Microsecond},
		{"negative sample", []time.Duration{-time.Second}, time.Microsecond},
		// 10µs → (3+40)/5 = 8µs (43/5 truncates)
		{"integer microseconds", []time.Duration{10 * time.Microsecond, 3 * time.Microsecond}, 8 * time.Microsecond},
		{"steady", []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, 20 * time.Millisecond},
		// tiny samples never fall back to 0 ("no observation")
		{"floor at 1µs", []time.Duration{time.Microsecond, 0, 0, 0}, time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, registry.Config{})
			for _, s := range tt.samples {
				b.ObserveLatency(s)
			}
			assert.Equal(t, tt.want, b.Latency())
		})
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{Status: registry.StatusHealthy})
	assert.Zero(t, b.Failures())
	assert.Equal(t, int64(1), b.RecordFailure())
	assert.Equal(t, int64(2), b.RecordFailure())
	assert.Equal(t, int64(3), b.RecordFailure())
	assert.Equal(t, int64(3), b.Failures())
	b.RecordSuccess()
	assert.Zero(t, b.Failures())
	b.RecordSuccess()
	assert.Zero(t, b.Failures())
	assert.Equal(t, int64(1), b.RecordFailure())
	// Failures do not change the status; that is the caller's decision.
	assert.True(t, b.Healthy())
}

func TestModelAndServes(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{Models: []registry.Model{
		{ID: "llava", ContextLength: 4096, Vision: registry.CapYes, Tools: registry.CapNo},
		{ID: "qwen", MaxOutputTokens: 512},
		{ID: ""},
	}})
	tests := []struct {
		id     string
		want   registry.Model
		wantOK bool
	}{
		{"llava", registry.Model{ID: "llava", ContextLength: 4096, Vision: registry.CapYes, Tools: registry.CapNo}, true},
		{"qwen", registry.Model{ID: "qwen", MaxOutputTokens: 512}, true},
		{"", registry.Model{}, false},
		{"LLAVA", registry.Model{}, false},
		{"missing", registry.Model{}, false},
	}
	for _, tt := range tests {
		got, ok := b.Model(tt.id)
		assert.Equal(t, tt.wantOK, ok, tt.id)
		assert.Equal(t, tt.want, got, tt.id)
		assert.Equal(t, tt.wantOK, b.Serves(tt.id), tt.id)
	}
	assert.Equal(t, []string{"llava", "qwen"}, modelIDs(b.Models()))
}

func TestModelsCopiedFromConfig(t *testing.T) {
	t.Parallel()
	models := ids("a", "b")
	b := newBackend(t, registry.Config{Models: models})
	models[0].ID = "changed"
	assert.Equal(t, []string{"a", "b"}, modelIDs(b.Models()))
	assert.True(t, b.Serves("a"))
}

func TestCapability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c                   registry.Capability
		allows, known, bool bool
	}{
		{registry.CapUnknown, true, false, false},
		{registry.CapYes, true, true, true},
		{registry.CapNo, false, true, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.allows, tt.c.Allows(), "Allows(%d)", tt.c)
		assert.Equal(t, tt.known, tt.c.Known(), "Known(%d)", tt.c)
		assert.Equal(t, tt.bool, tt.c.Bool(), "Bool(%d)", tt.c)
	}
	assert.Equal(t, registry.CapYes, registry.CapabilityOf(true))
	assert.Equal(t, registry.CapNo, registry.CapabilityOf(false))
	var zero registry.Capability
	assert.Equal(t, registry.CapUnknown, zero)
}

func TestModelJSON(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(registry.Model{ID: "m", ContextLength: 8192, Vision: registry.CapYes})
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"m","context_length":8192}`, string(data))
}

func TestParseType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   registry.Type
		wantOK bool
	}{
		{"ollama", registry.TypeOllama, true},
		{"vllm", registry.TypeVLLM, true},
		{"llamacpp", registry.TypeLlamaCpp, true},
		{"llama.cpp", registry.TypeLlamaCpp, true},
		{"exo", registry.TypeExo, true},
		{"openai", registry.TypeOpenAI, true},
		{"lmstudio", registry.TypeLMStudio, true},
		{"generic", registry.TypeGeneric, true},
		{"", "", false},
		{"Ollama", "", false},
		{"llama_cpp", "", false},
		{"tgi", "", false},
	}
	for _, tt := range tests {
		got, ok := registry.ParseType(tt.in)
		assert.Equal(t, tt.wantOK, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    registry.Status
		text string
	}{
		{registry.StatusUnknown, "unknown"},
		{registry.StatusHealthy, "healthy"},
		{registry.StatusUnhealthy, "unhealthy"},
		{registry.StatusDraining, "draining"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.text, tt.s.String())
		got, err := tt.s.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, tt.text, string(got))
		back, ok := registry.ParseStatus(tt.text)
		assert.True(t, ok, tt.text)
		assert.Equal(t, tt.s, back)
	}
	assert.Equal(t, "unknown", registry.Status(42).String())
	for _, bad := range []string{"", "Healthy", "up", "degraded"} {
		s, ok := registry.ParseStatus(bad)
		assert.False(t, ok, bad)
		assert.Equal(t, registry.StatusUnknown, s, bad)
	}
	// Status marshals as its name in JSON, including as a map key.
	data, err := json.Marshal(map[registry.Status]registry.Status{registry.StatusHealthy: registry.StatusDraining})
	require.NoError(t, err)
	assert.JSONEq(t, `{"healthy":"draining"}`, string(data))
}
