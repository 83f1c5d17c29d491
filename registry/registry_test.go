package registry_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// ids returns plain model entries for the ids.
func ids(list ...string) []registry.Model {
	out := make([]registry.Model, len(list))
	for i, id := range list {
		out[i] = registry.Model{ID: id}
	}
	return out
}

// names returns the names of the backends, in order.
func names(bs []*registry.Backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	return out
}

// modelIDs returns the ids of the models, in order.
func modelIDs(ms []registry.Model) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     registry.Config
		wantErr error
		wantID  string
		wantURL string
	}{
		{name: "id defaults to name", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "explicit id", cfg: registry.Config{ID: "id-1", Name: "a", URL: "http://127.0.0.1:1"}, wantID: "id-1", wantURL: "http://127.0.0.1:1"},
		{name: "trailing slash", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1/"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "trailing v1", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1/v1"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "trailing v1 slash", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1/v1/"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "many slashes", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1//v1//"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "space around", cfg: registry.Config{Name: "a", URL: "  http://127.0.0.1:1/v1 \n"}, wantID: "a", wantURL: "http://127.0.0.1:1"},
		{name: "path kept", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1/openai/v1"}, wantID: "a", wantURL: "http://127.0.0.1:1/openai"},
		{name: "v1 inside a word kept", cfg: registry.Config{Name: "a", URL: "http://127.0.0.1:1/apiv1"}, wantID: "a", wantURL: "http://127.0.0.1:1/apiv1"},
		{name: "empty name", cfg: registry.Config{URL: "http://127.0.0.1:1"}, wantErr: registry.ErrInvalidBackend},
		{name: "blank name", cfg: registry.Config{Name: " \t", URL: "http://127.0.0.1:1"}, wantErr: registry.ErrInvalidBackend},
		{name: "empty url", cfg: registry.Config{Name: "a"}, wantErr: registry.ErrInvalidBackend},
		{name: "blank url", cfg: registry.Config{Name: "a", URL: "  "}, wantErr: registry.ErrInvalidBackend},
		{name: "url only slashes", cfg: registry.Config{Name: "a", URL: "///"}, wantErr: registry.ErrInvalidBackend},
		{name: "url only v1", cfg: registry.Config{Name: "a", URL: "/v1/"}, wantErr: registry.ErrInvalidBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			b, err := reg.Add(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, b)
				assert.Empty(t, reg.Backends())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantID, b.ID)
			assert.Equal(t, tt.wantURL, b.URL)
			got, ok := reg.Get(tt.wantID)
			require.True(t, ok)
			assert.Same(t, b, got)
		})
	}
}

func TestAddDefaults(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	b, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1", APIKey: "secret", Priority: 7})
	require.NoError(t, err)
	assert.Equal(t, registry.TypeGeneric, b.Type)
	assert.Equal(t, registry.SourceStatic, b.Source)
	assert.Equal(t, registry.StatusUnknown, b.Status())
	assert.Equal(t, "secret", b.APIKey())
	assert.Equal(t, 7, b.Priority)
	assert.False(t, b.LastCheck().IsZero())

	b2, err := reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:2", Type: registry.TypeOllama,
		Source: registry.SourceMDNS, Status: registry.StatusHealthy})
	require.NoError(t, err)
	assert.Equal(t, registry.TypeOllama, b2.Type)
	assert.Equal(t, registry.SourceMDNS, b2.Source)
	assert.True(t, b2.Healthy())
}

func TestAddDuplicate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		first  registry.Config
		second registry.Config
	}{
		{"same name", registry.Config{Name: "a", URL: "http://127.0.0.1:1"}, registry.Config{Name: "a", URL: "http://127.0.0.1:2"}},
		{"name equals other id", registry.Config{ID: "x", Name: "a", URL: "http://127.0.0.1:1"}, registry.Config{Name: "x", URL: "http://127.0.0.1:2"}},
		{"same id other name", registry.Config{ID: "x", Name: "a", URL: "http://127.0.0.1:1"}, registry.Config{ID: "x", Name: "b", URL: "http://127.0.0.1:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			first, err := reg.Add(tt.first)
			require.NoError(t, err)
			_, err = reg.Add(tt.second)
			require.ErrorIs(t, err, registry.ErrDuplicateBackend)
			require.Len(t, reg.Backends(), 1)
			assert.Same(t, first, reg.Backends()[0])
		})
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	for _, n := range []string{"a", "b", "c"} {
		_, err := reg.Add(registry.Config{Name: n, URL: "http://127.0.0.1:1/" + n, Models: ids("m", "only-"+n)})
		require.NoError(t, err)
	}
	require.ErrorIs(t, reg.Remove("nope"), registry.ErrUnknownBackend)
	require.NoError(t, reg.Remove("b"))
	require.ErrorIs(t, reg.Remove("b"), registry.ErrUnknownBackend)

	assert.Equal(t, []string{"a", "c"}, names(reg.Backends()))
	assert.Equal(t, []string{"a", "c"}, names(reg.Lookup("m")))
	assert.Empty(t, reg.Lookup("only-b"))
	assert.False(t, reg.HasModel("only-b"))
	assert.Equal(t, []string{"m", "only-a", "only-c"}, reg.Models())
	_, ok := reg.Get("b")
	assert.False(t, ok)
	assert.False(t, reg.HasURL("http://127.0.0.1:1/b"))

	// The id is free again.
	_, err := reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:1/b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c", "b"}, names(reg.Backends()))
}

func TestSetModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		models     []registry.Model
		wantModels []string // the backend's list, in order
		wantIndex  []string // the registry's sorted ids
	}{
		{name: "replace", models: ids("x", "y"), wantModels: []string{"x", "y"}, wantIndex: []string{"shared", "x", "y"}},
		{name: "duplicates collapse", models: ids("x", "y", "x"), wantModels: []string{"x", "y"}, wantIndex: []string{"shared", "x", "y"}},
		{name: "empty ids dropped", models: ids("", "x", ""), wantModels: []string{"x"}, wantIndex: []string{"shared", "x"}},
		{name: "keep shared", models: ids("shared"), wantModels: []string{"shared"}, wantIndex: []string{"shared"}},
		{name: "none", models: nil, wantModels: []string{}, wantIndex: []string{"shared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			a, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1", Models: ids("old", "shared")})
			require.NoError(t, err)
			_, err = reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:2", Models: ids("shared")})
			require.NoError(t, err)

			require.NoError(t, reg.SetModels("a", tt.models))
			assert.Equal(t, tt.wantModels, modelIDs(a.Models()))
			assert.Equal(t, tt.wantIndex, reg.Models())
			assert.False(t, reg.HasModel("old"))
			assert.Empty(t, reg.Lookup("old"))
			assert.False(t, a.Serves("old"))
			assert.False(t, a.Serves(""))
			for _, id := range tt.wantModels {
				assert.Contains(t, reg.Lookup(id), a, id)
				assert.True(t, a.Serves(id), id)
			}
			wantShared := []string{"b"}
			if a.Serves("shared") {
				wantShared = []string{"a", "b"}
			}
			assert.Equal(t, wantShared, names(reg.Lookup("shared")))
		})
	}
}

func TestSetModelsDuplicateLastWins(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	b, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	require.NoError(t, reg.SetModels("a", []registry.Model{
		{ID: "x", ContextLength: 1},
		{ID: "y"},
		{ID: "x", ContextLength: 2, Tools: registry.CapYes},
	}))
	m, ok := b.Model("x")
	require.True(t, ok)
	assert.Equal(t, 2, m.ContextLength)
	assert.Equal(t, registry.CapYes, m.Tools)
	assert.Equal(t, []string{"x", "y"}, modelIDs(b.Models()))
	assert.Len(t, reg.Lookup("x"), 1)

	require.ErrorIs(t, reg.SetModels("nope", ids("x")), registry.ErrUnknownBackend)
}

func TestLookupOrder(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	// Added in an order that is neither alphabetical nor by priority.
	for _, c := range []registry.Config{
		{Name: "zeta", URL: "http://127.0.0.1:1", Priority: 1, Models: ids("m")},
		{Name: "alpha", URL: "http://127.0.0.1:2", Priority: 9, Models: ids("m", "n")},
		{Name: "mid", URL: "http://127.0.0.1:3", Priority: 5, Models: ids("n", "m")},
	} {
		_, err := reg.Add(c)
		require.NoError(t, err)
	}
	tests := []struct {
		model string
		want  []string
	}{
		{"m", []string{"zeta", "alpha", "mid"}},
		{"n", []string{"alpha", "mid"}},
		{"absent", []string{}},
		{"", []string{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, names(reg.Lookup(tt.model)), tt.model)
	}
	// SetModels does not reorder backends.
	require.NoError(t, reg.SetModels("zeta", ids("n")))
	assert.Equal(t, []string{"zeta", "alpha", "mid"}, names(reg.Lookup("n")))
	assert.Equal(t, []string{"alpha", "mid"}, names(reg.Lookup("m")))
}

func TestModelsSortedAndHasModel(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	assert.Empty(t, reg.Models())
	_, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1", Models: ids("qwen", "Llama", "llama")})
	require.NoError(t, err)
	_, err = reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:2", Models: ids("gemma", "llama")})
	require.NoError(t, err)
	assert.Equal(t, []string{"Llama", "gemma", "llama", "qwen"}, reg.Models())
	assert.True(t, slices.IsSorted(reg.Models()))

	for _, tt := range []struct {
		model string
		want  bool
	}{{"llama", true}, {"Llama", true}, {"gemma", true}, {"LLAMA", false}, {"", false}, {"mistral", false}} {
		assert.Equal(t, tt.want, reg.HasModel(tt.model), tt.model)
	}
}

func TestHasURL(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	_, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:11434/v1/"})
	require.NoError(t, err)
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:11434", true},
		{"http://127.0.0.1:11434/", true},
		{"http://127.0.0.1:11434/v1", true},
		{" http://127.0.0.1:11434/v1// ", true},
		{"http://127.0.0.1:11435", false},
		{"https://127.0.0.1:11434", false},
		{"", false},
	} {
		assert.Equal(t, tt.want, reg.HasURL(tt.url), tt.url)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	total, healthy, models := reg.Counts()
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{total, healthy, models})

	a, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1", Status: registry.StatusHealthy, Models: ids("m", "n")})
	require.NoError(t, err)
	b, err := reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:2", Status: registry.StatusHealthy, Models: ids("m")})
	require.NoError(t, err)
	c, err := reg.Add(registry.Config{Name: "c", URL: "http://127.0.0.1:3", Status: registry.StatusUnhealthy, Models: ids("o")})
	require.NoError(t, err)

	tests := []struct {
		name                    string
		change                  func()
		total, healthy, healthM int
	}{
		{"shared model counted once", func() {}, 3, 2, 2},
		{"model of an unhealthy backend not counted", func() { a.SetStatus(registry.StatusUnhealthy, "down") }, 3, 1, 1},
		{"draining is not healthy", func() { b.SetStatus(registry.StatusDraining, "") }, 3, 0, 0},
		{"recovered", func() { c.SetStatus(registry.StatusHealthy, "") }, 3, 1, 1},
		{"removed", func() { require.NoError(t, reg.Remove("c")) }, 2, 0, 0},
	}
	for _, tt := range tests { // sequential: each step builds on the last
		tt.change()
		total, healthy, models := reg.Counts()
		assert.Equal(t, [3]int{tt.total, tt.healthy, tt.healthM}, [3]int{total, healthy, models}, tt.name)
	}
}

func TestOnChange(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	var calls, calls2 atomic.Int32
	var seen []int // backends visible from inside the callback
	reg.OnChange(func() {
		calls.Add(1)
		seen = append(seen, len(reg.Backends()))
	})

	_, err := reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	assert.Equal(t, int32(1), calls.Load())

	reg.OnChange(func() { calls2.Add(1) })
	require.NoError(t, reg.SetModels("a", ids("m")))
	assert.Equal(t, int32(2), calls.Load())
	assert.Equal(t, int32(1), calls2.Load())

	// Failed writes publish nothing.
	_, err = reg.Add(registry.Config{Name: "a", URL: "http://127.0.0.1:2"})
	require.Error(t, err)
	_, err = reg.Add(registry.Config{Name: "", URL: "http://127.0.0.1:2"})
	require.Error(t, err)
	require.Error(t, reg.Remove("nope"))
	require.Error(t, reg.SetModels("nope", nil))
	assert.Equal(t, int32(2), calls.Load())

	require.NoError(t, reg.Remove("a"))
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, int32(2), calls2.Load())
	// The change is visible when the callback runs.
	assert.Equal(t, []int{1, 1, 0}, seen)

	// A status change is not a registry change.
	b, err := reg.Add(registry.Config{Name: "b", URL: "http://127.0.0.1:2"})
	require.NoError(t, err)
	b.SetStatus(registry.StatusHealthy, "")
	assert.Equal(t, int32(4), calls.Load())
}

// TestConcurrentReadersAndWriters runs the request path (Lookup, Begin, End)
// while backends come and go and their models change. Run it with -race.
func TestConcurrentReadersAndWriters(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	const stable = 4
	for i := range stable {
		_, err := reg.Add(registry.Config{Name: fmt.Sprintf("s%d", i), URL: fmt.Sprintf("http://127.0.0.1:%d", 1000+i),
			Status: registry.StatusHealthy, Models: ids("m")})
		require.NoError(t, err)
	}

	var changes atomic.Int64
	reg.OnChange(func() { changes.Add(1) })

	const readers, rounds = 8, 2000
	var done atomic.Bool
	var wg sync.WaitGroup
	seen := make(map[*registry.Backend]struct{})
	var seenMu sync.Mutex
	for range readers {
		wg.Go(func() {
			local := make(map[*registry.Backend]struct{})
			for i := 0; i < rounds || !done.Load(); i++ {
				for _, b := range reg.Lookup("m") {
					b.Begin()
					_ = b.Healthy()
					_ = b.Serves("m")
					local[b] = struct{}{}
					b.End()
				}
				_ = reg.Models()
				_, _, _ = reg.Counts()
			}
			seenMu.Lock()
			for b := range local {
				seen[b] = struct{}{}
			}
			seenMu.Unlock()
		})
	}
	writerErr := make(chan error, 1)
	go func() {
		defer done.Store(true)
		for i := range 300 {
			id := fmt.Sprintf("dyn%d", i%5)
			if _, err := reg.Add(registry.Config{Name: id, URL: "http://127.0.0.1:2/" + id, Models: ids("m")}); err != nil {
				writerErr <- err
				return
			}
			if err := reg.SetModels(id, ids("m", fmt.Sprintf("x%d", i))); err != nil {
				writerErr <- err
				return
			}
			if err := reg.SetModels("s0", ids("m", fmt.Sprintf("y%d", i))); err != nil {
				writerErr <- err
				return
			}
			if err := reg.Remove(id); err != nil {
				writerErr <- err
				return
			}
		}
		writerErr <- nil
	}()
	require.NoError(t, <-writerErr)
	wg.Wait()

	assert.Equal(t, int64(1200), changes.Load())
	assert.Len(t, reg.Backends(), stable)
	var requests uint64
	for b := range seen {
		assert.Zero(t, b.Pending(), b.Name)
		requests += b.Requests()
	}
	assert.GreaterOrEqual(t, requests, uint64(readers*rounds*stable))
	for _, b := range reg.Backends() {
		assert.Zero(t, b.Pending(), b.Name)
	}
}

func BenchmarkLookup(b *testing.B) {
	reg := registry.New()
	for i := range 50 {
		_, err := reg.Add(registry.Config{Name: fmt.Sprintf("b%d", i), URL: fmt.Sprintf("http://127.0.0.1:%d", 1000+i),
			Models: ids("m", fmt.Sprintf("own%d", i))})
		require.NoError(b, err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n += len(reg.Lookup("m"))
	}
	if n == 0 {
		b.Fatal("lookup found nothing")
	}
}
