package registry_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/nexusllm/nexus/registry"
)

func TestLoadFresh(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		load   *registry.Load
		maxAge time.Duration
		want   bool
	}{
		{"nil", nil, time.Second, false},
		{"never taken", &registry.Load{}, time.Second, false},
		{"new", registry.NewLoad(now), time.Second, true},
		{"at the limit", registry.NewLoad(now.Add(-time.Second)), time.Second, true},
		{"too old", registry.NewLoad(now.Add(-time.Second - 1)), time.Second, false},
		{"from the future", registry.NewLoad(now.Add(time.Second)), time.Second, true},
		{"no limit", registry.NewLoad(now.Add(-time.Hour)), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.load.Fresh(now, tc.maxAge))
		})
	}
}

func TestNewLoadKnowsNothing(t *testing.T) {
	t.Parallel()
	at := time.Unix(100, 0)
	l := registry.NewLoad(at)
	assert.Equal(t, &registry.Load{Running: -1, Waiting: -1, KVCacheUsage: -1, SlotsTotal: -1, SlotsBusy: -1, UpdatedAt: at}, l)
	assert.False(t, l.Saturated(0, 0))
	_, known := l.HasModelLoaded("x")
	assert.False(t, known)
}

func TestHasModelLoaded(t *testing.T) {
	t.Parallel()
	loaded := &registry.Load{LoadedModels: []registry.LoadedModel{{Name: "llama3.1:8b"}, {Name: "qwen3:latest"}}}
	tests := []struct {
		name              string
		load              *registry.Load
		id                string
		wantLoaded, known bool
	}{
		{"nil load", nil, "llama3.1:8b", false, false},
		{"not reported", &registry.Load{}, "llama3.1:8b", false, false},
		{"none loaded", &registry.Load{LoadedModels: []registry.LoadedModel{}}, "llama3.1:8b", false, true},
		{"loaded", loaded, "llama3.1:8b", true, true},
		{"other tag", loaded, "llama3.1:70b", false, true},
		{"untagged means latest", loaded, "qwen3", true, true},
		{"untagged is not another tag", loaded, "llama3.1", false, true},
		{"absent", loaded, "mistral", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, known := tc.load.HasModelLoaded(tc.id)
			assert.Equal(t, tc.wantLoaded, got, "loaded")
			assert.Equal(t, tc.known, known, "known")
		})
	}
}

func TestSaturated(t *testing.T) {
	t.Parallel()
	load := func(waiting int, kv float64, total, busy int) *registry.Load {
		return &registry.Load{Running: 3, Waiting: waiting, KVCacheUsage: kv, SlotsTotal: total, SlotsBusy: busy}
	}
	tests := []struct {
		name      string
		load      *registry.Load
		queue, kv float64
		want      bool
	}{
		{"nil", nil, 0, 0, false},
		{"idle", load(0, 0.1, -1, -1), 0, 0, false},
		{"queue below default", load(4, 0.1, -1, -1), 0, 0, false},
		{"queue at default", load(5, 0.1, -1, -1), 0, 0, true},
		{"kv below default", load(0, 0.79, -1, -1), 0, 0, false},
		{"kv at default", load(0, 0.8, -1, -1), 0, 0, true},
		{"custom queue", load(2, 0.1, -1, -1), 2, 0, true},
		{"custom kv", load(0, 0.85, -1, -1), 0, 0.9, false},
		{"unknown fields do not count", load(-1, -1, -1, -1), 0, 0, false},
		{"slots free", load(-1, -1, 4, 3), 0, 0, false},
		{"slots full", load(-1, -1, 4, 4), 0, 0, true},
		{"slots unknown total", load(-1, -1, 0, 0), 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.load.Saturated(tc.queue, tc.kv))
		})
	}
}

func TestBackendLoad(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{})
	now := time.Now()
	assert.Nil(t, b.Load(), "nil before the first reading")
	assert.Nil(t, b.FreshLoad(now, time.Second))

	l := registry.NewLoad(now)
	l.Running = 2
	b.SetLoad(l)
	assert.Same(t, l, b.Load())
	assert.Same(t, l, b.FreshLoad(now, time.Second))
	assert.Nil(t, b.FreshLoad(now.Add(2*time.Second), time.Second), "stale reading is absent")
	assert.Same(t, l, b.Load(), "a stale reading is kept")

	b.SetLoad(nil)
	assert.Nil(t, b.Load())
}

func TestMaxConcurrency(t *testing.T) {
	t.Parallel()
	slots := func(n int) *registry.Load {
		l := registry.NewLoad(time.Now())
		l.SlotsTotal = n
		return l
	}
	tests := []struct {
		name       string
		configured int
		load       *registry.Load
		want       int
	}{
		{"unknown", 0, nil, 0},
		{"unknown slots", 0, slots(-1), 0},
		{"reported slots", 0, slots(4), 4},
		{"configured wins", 2, slots(4), 2},
		{"configured only", 8, nil, 8},
		{"negative configured is unset", -1, slots(3), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, registry.Config{MaxConcurrency: tc.configured})
			b.SetLoad(tc.load)
			assert.Equal(t, tc.want, b.MaxConcurrency())
		})
	}
}

// TestLoadConcurrent is meant for -race: readers and a writer share
// readings without locks.
func TestLoadConcurrent(t *testing.T) {
	t.Parallel()
	b := newBackend(t, registry.Config{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if l := b.FreshLoad(time.Now(), time.Hour); l != nil {
					_ = l.Saturated(0, 0)
					_, _ = l.HasModelLoaded("m")
				}
				_ = b.MaxConcurrency()
			}
		})
	}
	wg.Go(func() {
		for i := range 1000 {
			l := registry.NewLoad(time.Now())
			l.SlotsTotal = i%4 + 1
			l.LoadedModels = []registry.LoadedModel{{Name: "m"}}
			b.SetLoad(l)
		}
	})
	wg.Wait()
	assert.Equal(t, 4, b.MaxConcurrency())
}
