package nexustest

import (
	"bytes"
	"hash/maphash"
	"net/http/httptest"
	"testing"
)

// BenchmarkEnginePrefixCache measures the cache work of one request with
// a 4 KiB prompt (64 blocks): hashing, lookup and insertion.
func BenchmarkEnginePrefixCache(b *testing.B) {
	prompt := bytes.Repeat([]byte("abcdefgh"), 512)
	c := newEngineBlockLRU(4096)
	seed := maphash.MakeSeed()
	hashes := make([]uint64, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(prompt)))
	for b.Loop() {
		hashes = enginePrefixHashes(hashes[:0], seed, "model", prompt)
		c.Match(hashes[:engineLookupBlocks(engineTokens(len(prompt)))])
		c.Add(hashes)
	}
}

// BenchmarkEngineMetrics measures one scrape of each engine's Prometheus
// text, as a router polling every 50 ms would cause.
func BenchmarkEngineMetrics(b *testing.B) {
	for _, typ := range []string{EngineVLLM, EngineSGLang, EngineLlamaCpp} {
		b.Run(typ, func(b *testing.B) {
			e := NewEngine(b, EngineConfig{Type: typ, Models: []string{"m"}, Slots: 16})
			h := engineRoutes[typ]["/metrics"].h
			req := httptest.NewRequest("GET", "/metrics", nil)
			b.ReportAllocs()
			for b.Loop() {
				h(e, httptest.NewRecorder(), req)
			}
		})
	}
}
