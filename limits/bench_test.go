package limits

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// benchKeys returns n keys with realistic secrets, limits and allow-lists;
// the last one is the one the hot path uses.
func benchKeys(n int) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{
			Name:              "team-" + strconv.Itoa(i),
			Secret:            fmt.Sprintf("sk-nexus-%048d", i),
			Models:            []string{"qwen2.5:7b", "llama3*"},
			RequestsPerMinute: MaxPerMinute, // never refuses: the clock runs
			TokensPerMinute:   MaxPerMinute,
			MaxConcurrent:     1 << 20,
		}
	}
	return keys
}

// hotPath is what the gateway does per request: find the key, check the
// model, take a ticket, and end it with the usage.
func hotPath(ring *Keyring, secret string) bool {
	now := time.Now()
	p, ok := ring.Lookup(secret)
	if !ok || !p.AllowsModel("llama3.1:8b") {
		return false
	}
	t, d := p.Acquire(now)
	if !d.Allowed {
		return false
	}
	t.Done(420)
	return true
}

// BenchmarkHotPath measures Lookup + AllowsModel + Acquire + Done with the
// default memory store, for keyrings of a few sizes (Lookup compares every
// key), serially and in parallel on one key.
func BenchmarkHotPath(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		keys := benchKeys(n)
		ring, err := New(keys)
		if err != nil {
			b.Fatal(err)
		}
		secret := keys[n-1].Secret
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !hotPath(ring, secret) {
					b.Fatal("refused")
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !hotPath(ring, secret) {
						b.Fatal("refused")
					}
				}
			})
		})
	}
}

// BenchmarkAcquireUnlimited is the legacy key's path: no store, no counter.
func BenchmarkAcquireUnlimited(b *testing.B) {
	ring, err := New(LegacyKeys([]string{"sk-legacy"}))
	if err != nil {
		b.Fatal(err)
	}
	p, _ := ring.Lookup("sk-legacy")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		t, _ := p.Acquire(now)
		t.Done(100)
	}
}
