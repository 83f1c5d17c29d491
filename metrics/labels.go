package metrics

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// OtherLabel is the label value recorded in place of a model or backend name
// that is not in the bounded set (registry models, known models, registry
// backends), of an unknown error type, and of an HTTP status outside
// 100–599. It keeps client input from growing the series set.
const OtherLabel = "other"

// defaultMemoCap bounds every label memo of a Metrics. Beyond it new names
// are recorded as OtherLabel.
const defaultMemoCap = 10_000

// SanitizeLabel returns s as a label value that every Prometheus tool
// accepts: each rune that is not a Unicode letter, a Unicode number or '_'
// (the same set as Rust's char::is_alphanumeric plus '_'; the bytes of
// invalid UTF-8 are not kept) becomes '_', and a leading ASCII digit gets a
// '_' prefix. "ollama-local:11434" becomes "ollama_local_11434" and "4o"
// becomes "_4o". It is a pure function; Metrics memoises its results.
func SanitizeLabel(s string) string {
	clean := true
	for _, r := range s {
		if !labelRune(r) {
			clean = false
			break
		}
	}
	leadingDigit := s != "" && s[0] >= '0' && s[0] <= '9'
	if clean && !leadingDigit {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	if leadingDigit {
		b.WriteByte('_')
	}
	for _, r := range s {
		// Ranging over a string yields utf8.RuneError for each invalid
		// byte, which labelRune rejects, so the result is valid UTF-8.
		if labelRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func labelRune(r rune) bool {
	return r != utf8.RuneError && (r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r))
}

// memo is a concurrent map that stops growing at max entries. Loads never
// allocate for comparable keys that fit the map; stores past the cap are
// refused so the caller can fall back to a fixed entry. The count may exceed
// max by the number of goroutines racing to insert, never more.
type memo[K comparable, V any] struct {
	m   sync.Map
	n   atomic.Int64
	max int64
}

func (c *memo[K, V]) load(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// store inserts v under k unless the memo is full. It returns the value now
// held for k (an earlier one if another goroutine won) and whether k is
// present.
func (c *memo[K, V]) store(k K, v V) (V, bool) {
	if old, ok := c.load(k); ok {
		return old, true
	}
	if c.n.Load() >= c.max {
		var zero V
		return zero, false
	}
	actual, loaded := c.m.LoadOrStore(k, v)
	if !loaded {
		c.n.Add(1)
	}
	return actual.(V), true
}

// force inserts v under k whatever the cap; callers use it only for keys
// drawn from a small closed set.
func (c *memo[K, V]) force(k K, v V) V {
	actual, loaded := c.m.LoadOrStore(k, v)
	if !loaded {
		c.n.Add(1)
	}
	return actual.(V)
}

func (c *memo[K, V]) size() int { return int(c.n.Load()) }

// names maps accepted names (model ids or backend ids) to their sanitised
// label and back. Both directions are bounded by the memo cap; a name that
// arrives when the memo is full is labelled OtherLabel.
type names struct {
	label    memo[string, string] // original → sanitised
	original memo[string, string] // sanitised → first original seen
}

func newNames(capacity int64) *names {
	n := &names{}
	n.label.max = capacity
	n.original.max = capacity
	return n
}

// labelOf returns the sanitised label for an accepted name, remembering the
// original for Stats. OtherLabel maps to itself.
func (n *names) labelOf(name string) string {
	if name == OtherLabel {
		return OtherLabel
	}
	if l, ok := n.label.load(name); ok {
		return l
	}
	name = strings.Clone(name) // never pin a caller's larger buffer
	l, ok := n.label.store(name, SanitizeLabel(name))
	if !ok {
		return OtherLabel
	}
	// The first original to claim a label keeps it; original never holds
	// more entries than label, so this store succeeds unless it lost a race.
	n.original.store(l, name)
	return l
}

// originalOf returns the name first recorded under label, or label itself.
func (n *names) originalOf(label string) string {
	if o, ok := n.original.load(label); ok {
		return o
	}
	return label
}
