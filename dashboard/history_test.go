package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func entry(i int) api.HistoryEntry {
	return api.HistoryEntry{RequestID: "req-" + strconv.Itoa(i), Model: "m", Status: 200, Time: time.Unix(int64(1000+i), 0)}
}

func ids(es []api.HistoryEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.RequestID
	}
	return out
}

func TestNewHistoryCapacity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want int }{{0, DefaultHistoryCapacity}, {-3, DefaultHistoryCapacity}, {1, 1}, {7, 7}} {
		h := NewHistory(tc.in)
		assert.Equal(t, tc.want, h.Cap(), "NewHistory(%d)", tc.in)
		assert.Equal(t, 0, h.Len())
		assert.NotNil(t, h.List())
		assert.Empty(t, h.List())
	}
}

func TestHistoryKeepsTheLastEntriesOldestFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cap  int
		adds int
		want []string
	}{
		{"empty", 3, 0, []string{}},
		{"partial", 3, 2, []string{"req-0", "req-1"}},
		{"exactly full", 3, 3, []string{"req-0", "req-1", "req-2"}},
		{"wrapped once", 3, 4, []string{"req-1", "req-2", "req-3"}},
		{"wrapped many times", 3, 11, []string{"req-8", "req-9", "req-10"}},
		{"capacity one", 1, 5, []string{"req-4"}},
		{"default capacity", 0, 250, func() []string {
			var s []string
			for i := 150; i < 250; i++ {
				s = append(s, "req-"+strconv.Itoa(i))
			}
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := NewHistory(tc.cap)
			for i := range tc.adds {
				h.Add(entry(i))
			}
			assert.Equal(t, tc.want, ids(h.List()))
			assert.Equal(t, len(tc.want), h.Len())
		})
	}
}

func TestHistoryListIsACopy(t *testing.T) {
	t.Parallel()
	h := NewHistory(2)
	h.Add(entry(1))
	l := h.List()
	l[0].Model = "changed"
	h.Add(entry(2))
	assert.Equal(t, "m", h.List()[0].Model)
}

func TestHistoryAddNormalisesTheEntry(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1000) // 2000 bytes
	for _, tc := range []struct {
		name, in string
		check    func(t *testing.T, got string)
	}{
		{"short error kept", "boom", func(t *testing.T, got string) { assert.Equal(t, "boom", got) }},
		{"exactly the limit kept", strings.Repeat("x", api.MaxHistoryErrorBytes), func(t *testing.T, got string) {
			assert.Len(t, got, api.MaxHistoryErrorBytes)
		}},
		{"long error cut at a character", long, func(t *testing.T, got string) {
			assert.LessOrEqual(t, len(got), api.MaxHistoryErrorBytes)
			assert.Greater(t, len(got), api.MaxHistoryErrorBytes-8)
			assert.True(t, utf8.ValidString(got))
			assert.True(t, strings.HasSuffix(got, "…"))
			assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, "…")))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := NewHistory(1)
			before := time.Now()
			h.Add(api.HistoryEntry{Error: tc.in})
			got := h.List()[0]
			tc.check(t, got.Error)
			assert.False(t, got.Time.Before(before), "a zero time becomes now")
		})
	}
}

func TestHistoryConcurrentUse(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 8, 400
	h := NewHistory(50)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				h.Add(api.HistoryEntry{RequestID: strconv.Itoa(w), Status: i})
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			l := h.List()
			require.LessOrEqual(t, len(l), 50)
			_, _, cancel := h.Subscribe(1)
			cancel()
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()

	l := h.List()
	require.Len(t, l, 50)
	// Each writer's entries appear in the order it added them.
	last := map[string]int{}
	for _, e := range l {
		if prev, ok := last[e.RequestID]; ok {
			assert.Greater(t, e.Status, prev)
		}
		last[e.RequestID] = e.Status
	}
	assert.Equal(t, 0, h.subscribers())
}

func TestHistorySubscribe(t *testing.T) {
	t.Parallel()
	h := NewHistory(10)
	ch, dropped, cancel := h.Subscribe(8)
	h.Add(entry(1))
	h.Add(entry(2))
	assert.Equal(t, "req-1", (<-ch).RequestID)
	assert.Equal(t, "req-2", (<-ch).RequestID)
	assert.Zero(t, dropped())
	assert.Equal(t, 1, h.subscribers())

	cancel()
	cancel() // idempotent
	assert.Equal(t, 0, h.subscribers())
	h.Add(entry(3))
	select {
	case e := <-ch:
		t.Fatalf("delivered %q after cancel", e.RequestID)
	default:
	}
}

func TestHistorySubscriberThatNeverReadsDoesNotBlockAdd(t *testing.T) {
	t.Parallel()
	h := NewHistory(10)
	_, dropped, cancel := h.Subscribe(1)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			h.Add(entry(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Add blocked on a subscriber that does not read")
	}
	assert.Equal(t, uint64(999), dropped(), "one entry fits the buffer, the rest are dropped")
	assert.Equal(t, 10, h.Len())
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 5, "ab…"},
		{"aé€x", 6, "aé…"},
		{"aé€x", 5, "a…"}, // "é" would straddle the cut
		{"", 4, ""},
	} {
		assert.Equal(t, tc.want, truncate(tc.in, tc.max), "truncate(%q, %d)", tc.in, tc.max)
	}
}

func BenchmarkHistoryAdd(b *testing.B) {
	for _, subs := range []int{0, 4} {
		b.Run("subscribers="+strconv.Itoa(subs), func(b *testing.B) {
			h := NewHistory(DefaultHistoryCapacity)
			for range subs {
				_, _, cancel := h.Subscribe(16) // never read: the drop path
				b.Cleanup(cancel)
			}
			e := api.HistoryEntry{RequestID: "abc", Model: "llama3", Backend: "gpu-1", Status: 200, Error: "upstream said no"}
			b.ReportAllocs()
			for b.Loop() {
				h.Add(e)
			}
		})
	}
}
