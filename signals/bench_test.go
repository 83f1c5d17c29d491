package signals

import (
	"bytes"
	"context"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nexusllm/nexus/registry"
)

// BenchmarkParseVLLM parses a recorded 60 KB vLLM /metrics page (three
// series of every metric, eight histograms).
func BenchmarkParseVLLM(b *testing.B) {
	page := fixture(b, "vllm_metrics.txt")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseVLLM(page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVLLMWholePage is what ParseVLLM would cost without its
// line selection: the whole page through Prometheus's parser.
func BenchmarkParseVLLMWholePage(b *testing.B) {
	page := fixture(b, "vllm_metrics.txt")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(bytes.NewReader(page)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLlamaCppSlots(b *testing.B) {
	body := fixture(b, "llamacpp_slots.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLlamaCppSlots(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollVLLM is one whole read over loopback HTTP.
func BenchmarkPollVLLM(b *testing.B) {
	e := engineFor(b, registry.TypeVLLM)
	reg := registry.New()
	be := addBackend(b, reg, "v", e.URL(), registry.TypeVLLM, "")
	p := New(reg, Config{})
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Poll(context.Background(), be); err != nil {
			b.Fatal(err)
		}
	}
}
