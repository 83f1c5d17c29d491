package metrics

import (
	"context"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSanitizeLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		// The seed's cases.
		{"valid name", "valid_name", "valid_name"},
		{"valid mixed case", "ValidName123", "ValidName123"},
		{"leading underscore", "_underscore", "_underscore"},
		{"colon and hyphen", "ollama-local:11434", "ollama_local_11434"},
		{"slash", "model/gpt-4", "model_gpt_4"},
		{"at sign", "backend@host", "backend_host"},
		{"leading digits", "123backend", "_123backend"},
		{"short leading digit", "4o", "_4o"},
		{"model tag", "llama3:70b", "llama3_70b"},
		{"test label", "test-label", "test_label"},
		// Beyond the seed.
		{"empty", "", ""},
		{"only digits", "42", "_42"},
		{"dots and spaces", "a.b c", "a_b_c"},
		{"unicode letters kept", "modèle-日本", "modèle_日本"},
		{"unicode numbers kept", "x²", "x²"},
		{"non-ASCII leading digit not prefixed", "٣x", "٣x"},
		{"emoji", "🙂ok", "_ok"},
		{"invalid utf8", "bad\xffname", "bad_name"},
		{"truncated utf8", "é\xc3", "é_"},
		{"leading digit and invalid", "9\xfe", "_9_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := SanitizeLabel(tt.in)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
			assert.Equal(t, got, SanitizeLabel(got), "sanitising is idempotent")
		})
	}
}

func TestSanitizeLabelCleanInputIsNotCopied(t *testing.T) {
	// Not parallel: AllocsPerRun refuses parallel tests.
	allocs := testing.AllocsPerRun(100, func() { _ = SanitizeLabel("llama3_70b") })
	assert.Zero(t, allocs)
}

func TestNamesCaching(t *testing.T) {
	// Not parallel: AllocsPerRun refuses parallel tests.
	n := newNames(10)
	first := n.labelOf("test-label")
	second := n.labelOf("test-label")
	assert.Equal(t, "test_label", first)
	assert.Equal(t, first, second)
	assert.Equal(t, 1, n.label.size())
	assert.Equal(t, "test-label", n.originalOf("test_label"))
	assert.Equal(t, "unseen", n.originalOf("unseen"))
	assert.Equal(t, OtherLabel, n.labelOf(OtherLabel))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = n.labelOf("test-label") }))
}

func TestNamesFirstOriginalKeepsLabel(t *testing.T) {
	t.Parallel()
	n := newNames(10)
	assert.Equal(t, "llama3_70b", n.labelOf("llama3:70b"))
	assert.Equal(t, "llama3_70b", n.labelOf("llama3-70b"))
	assert.Equal(t, "llama3:70b", n.originalOf("llama3_70b"))
}

func TestNamesBounded(t *testing.T) {
	t.Parallel()
	n := newNames(3)
	for i := range 10 {
		l := n.labelOf(fmt.Sprintf("m-%d", i))
		if i < 3 {
			assert.Equal(t, fmt.Sprintf("m_%d", i), l)
		} else {
			assert.Equal(t, OtherLabel, l)
		}
	}
	assert.Equal(t, 3, n.label.size())
	assert.Equal(t, 3, n.original.size())
}

// TestMemoBoundedUnderRegistryChurn feeds many distinct registered names
// through a Metrics whose memos hold 50 entries: every memo stays at its cap
// (plus the fixed fallback entries) and names past it are recorded as other.
func TestMemoBoundedUnderRegistryChurn(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	_, err := reg.Add(registry.Config{Name: "gpu", URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	m, err := New(reg, withMemoCap(50))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	ctx := context.Background()

	const churn = 400
	for i := range churn {
		name := fmt.Sprintf("discovered-%d", i)
		require.NoError(t, reg.SetModels("gpu", []registry.Model{{ID: name}}))
		m.RecordRequest(ctx, requestFor(name, "gpu", 200))
		m.RecordRequest(ctx, requestFor(name, "gpu", 500))
		m.RecordError(ctx, ErrorBackendError, name)
		m.RecordFallback(ctx, name, name)
	}
	assert.LessOrEqual(t, m.reqs.size(), 50+2, "request memo: cap plus (other, other, status) entries")
	assert.LessOrEqual(t, m.errs.size(), 50+1)
	assert.LessOrEqual(t, m.fallbacks.size(), 50+1)
	assert.LessOrEqual(t, m.models.label.size(), 50)
	assert.LessOrEqual(t, m.models.original.size(), 50)

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2*churn), s.Requests.Total)
	var other ModelStats
	for _, ms := range s.Models {
		if ms.Name == OtherLabel {
			other = ms
		}
	}
	assert.Positive(t, other.Requests, "names past the cap are recorded as other")
	assert.LessOrEqual(t, len(s.Models), 50+2, "at most the capped names, the current model and other")
}

func TestRequestEntryZeroAllocsOnceCached(t *testing.T) {
	// Not parallel: AllocsPerRun refuses parallel tests.
	reg := registry.New()
	_, err := reg.Add(registry.Config{Name: "gpu", URL: "http://127.0.0.1:1", Models: []registry.Model{{ID: "llama3:8b"}}})
	require.NoError(t, err)
	m, err := New(reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	ctx := context.Background()
	r := requestFor("llama3:8b", "gpu", 200)
	r.TTFT = 1
	m.RecordRequest(ctx, r)
	assert.Zero(t, testing.AllocsPerRun(200, func() { m.RecordRequest(ctx, r) }))
	unknown := requestFor("made-up", "nowhere", 200)
	m.RecordRequest(ctx, unknown)
	assert.Zero(t, testing.AllocsPerRun(200, func() { m.RecordRequest(ctx, unknown) }))
	m.RecordError(ctx, ErrorTimeout, "llama3:8b")
	assert.Zero(t, testing.AllocsPerRun(200, func() { m.RecordError(ctx, ErrorTimeout, "llama3:8b") }))
	m.RecordProbe(ctx, "gpu", 1)
	assert.Zero(t, testing.AllocsPerRun(200, func() { m.RecordProbe(ctx, "gpu", 1) }))
}

func requestFor(model, backend string, status int) Request {
	return Request{Model: model, Backend: backend, Status: status, Duration: 1e8, HasUsage: true, PromptTokens: 1, CompletionTokens: 2}
}
