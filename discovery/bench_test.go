package discovery

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/nexusllm/nexus/registry"
)

// BenchmarkHandleKnown is the steady state: an instance announced again
// unchanged, once per query round.
func BenchmarkHandleKnown(b *testing.B) {
	d := New(registry.New(), Config{Browser: idleBrowser})
	a := ann("GPU box", llm, "10.0.0.2", 8000, "type=vllm", "api_path=/v1", "version=0.9")
	d.Handle(a)
	b.ReportAllocs()
	for b.Loop() {
		d.Handle(a)
	}
}

// BenchmarkHandleFlood is a flood of new instances once MaxBackends are
// registered, next to 64 static backends.
func BenchmarkHandleFlood(b *testing.B) {
	reg := registry.New()
	for i := range 64 {
		if _, err := reg.Add(registry.Config{Name: fmt.Sprintf("static-%d", i), URL: fmt.Sprintf("http://10.1.0.%d:8000", i)}); err != nil {
			b.Fatal(err)
		}
	}
	d := New(reg, Config{Browser: idleBrowser})
	as := make([]Announcement, 4096)
	for i := range as {
		as[i] = Announcement{Instance: fmt.Sprintf("flood-%d", i), Service: llm, Port: 8000,
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})}}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Handle(as[i%len(as)])
		i++
	}
}
