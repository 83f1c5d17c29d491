package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/registry"
)

// clock is an injected clock for grace periods.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// idleBrowser never finds anything; Handle is driven by the tests.
var idleBrowser = BrowserFunc(func(ctx context.Context, _ []string, _ func(Announcement)) error {
	<-ctx.Done()
	return nil
})

func newTest(t *testing.T, cfg Config) (*Discoverer, *registry.Registry, *clock) {
	t.Helper()
	reg := registry.New()
	c := newClock()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Browser == nil {
		cfg.Browser = idleBrowser
	}
	return New(reg, cfg), reg, c
}

func ann(instance, service, addr string, port int, txt ...string) Announcement {
	a := Announcement{Instance: instance, Service: service, Port: port, TXT: ParseTXT(txt)}
	for s := range strings.FieldsSeq(addr) {
		a.Addrs = append(a.Addrs, netip.MustParseAddr(s))
	}
	return a
}

const ollama, llm = "_ollama._tcp.local.", "_llm._tcp.local."

func TestHandleAddsBackend(t *testing.T) {
	t.Parallel()
	var added []*registry.Backend
	d, reg, _ := newTest(t, Config{OnAdd: func(b *registry.Backend) { added = append(added, b) }})

	d.Handle(ann("GPU box", ollama, "10.0.0.2", 11434, "version=0.5.1"))
	b, ok := reg.Get("mdns-GPU-box")
	require.True(t, ok)
	assert.Equal(t, "http://10.0.0.2:11434", b.URL)
	assert.Equal(t, registry.TypeOllama, b.Type)
	assert.Equal(t, registry.SourceMDNS, b.Source)
	assert.Equal(t, registry.StatusUnknown, b.Status())
	assert.Equal(t, map[string]string{MetaInstance: "GPU box", MetaService: ollama, MetaVersion: "0.5.1"}, b.Metadata)
	assert.Equal(t, []*registry.Backend{b}, added)

	// Seen again unchanged: nothing new.
	d.Handle(ann("GPU box", ollama, "10.0.0.2", 11434, "version=0.5.1"))
	assert.Len(t, reg.Backends(), 1)
	assert.Len(t, added, 1)
	assert.Equal(t, Stats{Discovered: 1, Added: 1}, d.Stats())
}

func TestHandleUpdatesChangedInstance(t *testing.T) {
	t.Parallel()
	var added []*registry.Backend
	d, reg, _ := newTest(t, Config{OnAdd: func(b *registry.Backend) { added = append(added, b) }})
	d.Handle(ann("box", llm, "10.0.0.2", 8000, "type=vllm"))
	first, _ := reg.Get("mdns-box")

	tests := []struct {
		name string
		a    Announcement
		url  string
		typ  registry.Type
	}{
		{"address", ann("box", llm, "10.0.0.3", 8000, "type=vllm"), "http://10.0.0.3:8000", registry.TypeVLLM},
		{"port", ann("box", llm, "10.0.0.3", 8001, "type=vllm"), "http://10.0.0.3:8001", registry.TypeVLLM},
		{"type", ann("box", llm, "10.0.0.3", 8001, "type=sglang"), "http://10.0.0.3:8001", registry.TypeSGLang},
		{"version", ann("box", llm, "10.0.0.3", 8001, "type=sglang", "version=2"), "http://10.0.0.3:8001", registry.TypeSGLang},
	}
	for i, tt := range tests {
		d.Handle(tt.a)
		require.Len(t, reg.Backends(), 1, tt.name)
		b, ok := reg.Get("mdns-box")
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.url, b.URL, tt.name)
		assert.Equal(t, tt.typ, b.Type, tt.name)
		assert.NotSame(t, first, b, tt.name)
		assert.Len(t, added, i+2, tt.name)
	}
	assert.Equal(t, Stats{Discovered: 1, Added: 1, Updated: 4}, d.Stats())
}

func TestSweepExpiresAfterGracePeriod(t *testing.T) {
	t.Parallel()
	d, reg, clk := newTest(t, Config{GracePeriod: time.Minute})
	d.Handle(ann("a", ollama, "10.0.0.2", 11434))
	d.Handle(ann("b", ollama, "10.0.0.3", 11434))

	clk.Advance(50 * time.Second)
	d.Handle(ann("b", ollama, "10.0.0.3", 11434)) // b is announced again
	assert.Zero(t, d.Sweep())

	clk.Advance(11 * time.Second) // a: 61s, b: 11s
	assert.Equal(t, 1, d.Sweep())
	_, ok := reg.Get("mdns-a")
	assert.False(t, ok)
	_, ok = reg.Get("mdns-b")
	assert.True(t, ok)

	clk.Advance(49 * time.Second) // b: exactly the grace period, kept
	assert.Zero(t, d.Sweep())
	clk.Advance(time.Nanosecond)
	assert.Equal(t, 1, d.Sweep())
	assert.Empty(t, reg.Backends())

	// A backend that comes back is added again.
	d.Handle(ann("a", ollama, "10.0.0.2", 11434))
	_, ok = reg.Get("mdns-a")
	assert.True(t, ok)
	assert.Equal(t, Stats{Discovered: 1, Added: 3, Expired: 2}, d.Stats())
}

func TestStaticBackendWins(t *testing.T) {
	t.Parallel()
	d, reg, _ := newTest(t, Config{})
	_, err := reg.Add(registry.Config{Name: "static", URL: "http://10.0.0.2:8000/v1/", Type: registry.TypeVLLM})
	require.NoError(t, err)

	for _, path := range []string{"", "/v1", "/"} {
		d.Handle(ann("box", llm, "10.0.0.2", 8000, "api_path="+path))
	}
	assert.Len(t, reg.Backends(), 1)
	assert.Equal(t, Stats{Shadowed: 3}, d.Stats())

	// A discovered backend that moves onto a static URL is dropped.
	d.Handle(ann("mover", llm, "10.0.0.9", 8000))
	require.Len(t, reg.Backends(), 2)
	d.Handle(ann("mover", llm, "10.0.0.2", 8000))
	require.Len(t, reg.Backends(), 1)
	assert.Equal(t, "static", reg.Backends()[0].ID)
	assert.Equal(t, Stats{Added: 1, Shadowed: 4}, d.Stats())

	// Two instances announcing one URL make one backend.
	d.Handle(ann("twin1", llm, "10.0.0.7", 8000))
	d.Handle(ann("twin2", llm, "10.0.0.7", 8000))
	assert.Len(t, reg.Backends(), 2)
}

func TestNameCollisions(t *testing.T) {
	t.Parallel()
	d, reg, _ := newTest(t, Config{})
	_, err := reg.Add(registry.Config{Name: "mdns-taken", URL: "http://10.9.9.9:1"})
	require.NoError(t, err)

	d.Handle(ann("x", ollama, "10.0.0.2", 11434))
	d.Handle(ann("x", llm, "10.0.0.2", 8000))
	d.Handle(ann("taken", llm, "10.0.0.3", 8000))
	for id, url := range map[string]string{
		"mdns-x":         "http://10.0.0.2:11434",
		"mdns-x-llm":     "http://10.0.0.2:8000",
		"mdns-taken-llm": "http://10.0.0.3:8000",
	} {
		b, ok := reg.Get(id)
		if assert.True(t, ok, id) {
			assert.Equal(t, url, b.URL, id)
		}
	}
}

func TestAPIPathNeverDoublesV1(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, url string }{
		{"", "http://10.0.0.2:8000"},
		{"/", "http://10.0.0.2:8000"},
		{"/v1", "http://10.0.0.2:8000"},
		{"/v1/", "http://10.0.0.2:8000"},
		{"v1", "http://10.0.0.2:8000"},
		{"/v1/v1", "http://10.0.0.2:8000"},
		{"/api/v1", "http://10.0.0.2:8000/api"},
		{"/api/v1/", "http://10.0.0.2:8000/api"},
		{"/openai", "http://10.0.0.2:8000/openai"},
		{"openai/", "http://10.0.0.2:8000/openai"},
		{"/openai/v1", "http://10.0.0.2:8000/openai"},
		{"/v1beta", "http://10.0.0.2:8000/v1beta"},
		{"/x/v10", "http://10.0.0.2:8000/x/v10"},
		{"//evil.example/x", "http://10.0.0.2:8000/evil.example/x"},
	}
	for _, tt := range tests {
		d, reg, _ := newTest(t, Config{})
		d.Handle(ann("box", llm, "10.0.0.2", 8000, "api_path="+tt.path))
		b, ok := reg.Get("mdns-box")
		require.True(t, ok, tt.path)
		assert.Equal(t, tt.url, b.URL, "api_path %q", tt.path)
		chat := b.EndpointURL(registry.EndpointChat).String()
		assert.Equal(t, tt.url+"/v1/chat/completions", chat, "api_path %q", tt.path)
		assert.NotContains(t, chat, "/v1/v1", "api_path %q", tt.path)
	}
}

func TestMalformedAnnouncementsIgnored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a    Announcement
	}{
		{"no instance", ann("", ollama, "10.0.0.2", 1)},
		{"control-only instance", ann("\x00\x01", ollama, "10.0.0.2", 1)},
		{"no port", ann("a", ollama, "10.0.0.2", 0)},
		{"port too big", ann("a", ollama, "10.0.0.2", 70000)},
		{"no address", ann("a", ollama, "", 1)},
		{"zone-less link-local", ann("a", ollama, "fe80::1", 1)},
		{"bad zone", Announcement{Instance: "a", Service: ollama, Port: 1, Addrs: []netip.Addr{netip.MustParseAddr("fe80::1").WithZone("e th0")}}},
		{"multicast and unspecified", ann("a", ollama, "224.0.0.251 0.0.0.0 ::", 1)},
		{"invalid addr", Announcement{Instance: "a", Service: ollama, Port: 1, Addrs: []netip.Addr{{}}}},
		{"api_path query", ann("a", ollama, "10.0.0.2", 1, "api_path=/x?y=1")},
		{"api_path fragment", ann("a", ollama, "10.0.0.2", 1, "api_path=/x#y")},
		{"api_path dotdot", ann("a", ollama, "10.0.0.2", 1, "api_path=/a/../b")},
		{"api_path space", ann("a", ollama, "10.0.0.2", 1, "api_path=/a b")},
		{"api_path long", ann("a", ollama, "10.0.0.2", 1, "api_path=/"+strings.Repeat("a", 300))},
		{"version control char", ann("a", ollama, "10.0.0.2", 1, "version=1\n2")},
		{"version long", ann("a", ollama, "10.0.0.2", 1, "version="+strings.Repeat("9", 200))},
	}
	d, reg, _ := newTest(t, Config{})
	for _, tt := range tests {
		d.Handle(tt.a)
		assert.Empty(t, reg.Backends(), tt.name)
	}
	assert.Equal(t, Stats{Malformed: uint64(len(tests))}, d.Stats())
}

func TestFloodBoundedByMaxBackends(t *testing.T) {
	t.Parallel()
	d, reg, _ := newTest(t, Config{})
	const n, workers = 10000, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				d.Handle(Announcement{Instance: fmt.Sprintf("flood-%d", i), Service: llm, Port: 8000, Addrs: []netip.Addr{addr}})
			}
		})
	}
	wg.Wait()
	assert.Len(t, reg.Backends(), DefaultMaxBackends)
	assert.Equal(t, Stats{Discovered: DefaultMaxBackends, Added: DefaultMaxBackends, Ignored: n - DefaultMaxBackends}, d.Stats())

	// Known instances are still refreshed and updated when full.
	known := reg.Backends()[0]
	d.Handle(Announcement{Instance: known.Metadata[MetaInstance], Service: llm, Port: 9000, Addrs: []netip.Addr{netip.MustParseAddr("10.200.0.1")}})
	b, ok := reg.Get(known.ID)
	require.True(t, ok)
	assert.Equal(t, "http://10.200.0.1:9000", b.URL)
	assert.Len(t, reg.Backends(), DefaultMaxBackends)
}

func TestAddressChoiceAndURLForms(t *testing.T) {
	t.Parallel()
	zoned := netip.MustParseAddr("fe80::1").WithZone("eth0")
	tests := []struct {
		name  string
		addrs []netip.Addr
		url   string
	}{
		{"ipv4", addrs("192.168.1.5"), "http://192.168.1.5:8000"},
		{"ipv4 preferred over earlier ipv6", addrs("2001:db8::1 192.168.1.5"), "http://192.168.1.5:8000"},
		{"ipv4-mapped", addrs("::ffff:192.168.1.5"), "http://192.168.1.5:8000"},
		{"ipv6 global", addrs("2001:db8::1"), "http://[2001:db8::1]:8000"},
		{"ipv6 loopback", addrs("::1"), "http://[::1]:8000"},
		{"ipv6 link-local with zone", []netip.Addr{zoned}, "http://[fe80::1%25eth0]:8000"},
		{"zone-less link-local skipped", append(addrs("fe80::2"), netip.MustParseAddr("2001:db8::2")), "http://[2001:db8::2]:8000"},
		{"zone dropped from global ipv6", []netip.Addr{netip.MustParseAddr("2001:db8::3").WithZone("eth0")}, "http://[2001:db8::3]:8000"},
	}
	for _, tt := range tests {
		d, reg, _ := newTest(t, Config{})
		d.Handle(Announcement{Instance: "box", Service: llm, Port: 8000, Addrs: tt.addrs})
		b, ok := reg.Get("mdns-box")
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.url, b.URL, tt.name)
		assert.NotNil(t, b.EndpointURL(registry.EndpointChat), tt.name)
	}
}

func addrs(s string) []netip.Addr {
	var out []netip.Addr
	for f := range strings.FieldsSeq(s) {
		out = append(out, netip.MustParseAddr(f))
	}
	return out
}

func TestBackendType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		service, txt string
		want         registry.Type
	}{
		{ollama, "", registry.TypeOllama},
		{"_ollama._tcp", "", registry.TypeOllama},
		{ollama, "type=unknown-engine", registry.TypeOllama},
		{llm, "", registry.TypeGeneric},
		{llm, "type=bogus", registry.TypeGeneric},
		{llm, "type=vllm", registry.TypeVLLM},
		{llm, "type=VLLM", registry.TypeVLLM},
		{llm, "type=llama.cpp", registry.TypeLlamaCpp},
		{llm, "type=llamacpp", registry.TypeLlamaCpp},
		{llm, "type=sglang", registry.TypeSGLang},
		{llm, "type=lmstudio", registry.TypeLMStudio},
		{ollama, "type=vllm", registry.TypeVLLM},
	}
	for _, tt := range tests {
		tg, err := resolve(ann("x", tt.service, "10.0.0.2", 1, tt.txt))
		require.NoError(t, err)
		assert.Equal(t, tt.want, tg.typ, "%s %s", tt.service, tt.txt)
	}
}

func TestBackendName(t *testing.T) {
	t.Parallel()
	tests := []struct{ instance, want string }{
		{"gpu-box", "mdns-gpu-box"},
		{"GPU box #1", "mdns-GPU-box-1"},
		{"  spaced  ", "mdns-spaced"},
		{"Küche Ollama", "mdns-Küche-Ollama"},
		{"a\x00b\nc", "mdns-a-b-c"},
		{"dots.and_underscores", "mdns-dots.and_underscores"},
		{"bad\xffutf8", "mdns-bad-utf8"},
	}
	for _, tt := range tests {
		tg, err := resolve(ann(tt.instance, llm, "10.0.0.2", 1))
		require.NoError(t, err, tt.instance)
		assert.Equal(t, tt.want, tg.name, "%q", tt.instance)
	}

	long, err := resolve(ann(strings.Repeat("ü", 200), llm, "10.0.0.2", 1))
	require.NoError(t, err)
	assert.LessOrEqual(t, len(long.name), MaxNameLen)
	assert.LessOrEqual(t, len(long.altName), MaxNameLen)
	assert.True(t, utf8.ValidString(long.name))
	assert.True(t, strings.HasSuffix(long.altName, "-llm"))

	// Nothing printable: a stable name of the bytes.
	p1, err := resolve(ann("!!!", llm, "10.0.0.2", 1))
	require.NoError(t, err)
	p2, _ := resolve(ann("!!!", llm, "10.0.0.2", 1))
	p3, _ := resolve(ann("???", llm, "10.0.0.2", 1))
	assert.Regexp(t, `^mdns-[0-9a-f]+$`, p1.name)
	assert.Equal(t, p1.name, p2.name)
	assert.NotEqual(t, p1.name, p3.name)
}

func TestRunStopsOnCancel(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	started := make(chan struct{})
	browser := BrowserFunc(func(ctx context.Context, types []string, found func(Announcement)) error {
		assert.Equal(t, []string{"_ollama._tcp.local.", "_llm._tcp.local."}, types)
		found(ann("box", ollama, "10.0.0.2", 11434))
		close(started)
		<-ctx.Done()
		return nil
	})
	reg := registry.New()
	d := New(reg, Config{Browser: browser, SweepInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-started
	_, ok := reg.Get("mdns-box")
	assert.True(t, ok)
	cancel()
	require.NoError(t, <-done)
	goleak.VerifyNone(t, ignore)
}

func TestRunReturnsBrowserError(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	boom := errors.New("no multicast")
	d := New(registry.New(), Config{Browser: BrowserFunc(func(context.Context, []string, func(Announcement)) error { return boom })})
	err := d.Run(context.Background())
	require.ErrorIs(t, err, boom)
	goleak.VerifyNone(t, ignore)
}

func TestRunSweepsAfterBrowserEnds(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	clk := newClock()
	reg := registry.New()
	swept := make(chan struct{})
	reg.OnChange(func() {
		if len(reg.Backends()) == 0 {
			close(swept)
		}
	})
	// A browser that reports once and ends: Run keeps sweeping until ctx.
	browser := BrowserFunc(func(_ context.Context, _ []string, found func(Announcement)) error {
		found(ann("box", ollama, "10.0.0.2", 11434))
		clk.Advance(2 * time.Minute)
		return nil
	})
	d := New(reg, Config{Browser: browser, Now: clk.Now, SweepInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-swept
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, uint64(1), d.Stats().Expired)
	goleak.VerifyNone(t, ignore)
}

func TestList(t *testing.T) {
	t.Parallel()
	browser := BrowserFunc(func(ctx context.Context, types []string, found func(Announcement)) error {
		assert.Equal(t, []string{"_llm._tcp.local."}, types)
		found(ann("b", "_llm._tcp", "10.0.0.3", 1))
		found(ann("a", llm, "10.0.0.2", 1))
		found(ann("b", llm, "10.0.0.4", 2)) // latest wins
		<-ctx.Done()
		return nil
	})
	list, err := List(context.Background(), browser, []string{"_llm._tcp"}, 10*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "a", list[0].Instance)
	assert.Equal(t, "b", list[1].Instance)
	assert.Equal(t, 2, list[1].Port)
	assert.Equal(t, llm, list[1].Service)

	boom := errors.New("boom")
	_, err = List(context.Background(), BrowserFunc(func(context.Context, []string, func(Announcement)) error { return boom }), nil, time.Millisecond)
	assert.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = List(ctx, browser, []string{llm}, time.Hour)
	assert.ErrorIs(t, err, context.Canceled)
}
