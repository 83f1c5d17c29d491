package discovery

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/mdns"
	"github.com/stretchr/testify/assert"

	"github.com/nexusllm/nexus/registry"
)

func TestParseTXT(t *testing.T) {
	t.Parallel()
	assert.Nil(t, ParseTXT(nil))
	assert.Equal(t, map[string]string{"type": "vllm", "flag": "", "api_path": "/a=b", "version": ""},
		ParseTXT([]string{"Type=vllm", "flag", "api_path=/a=b", "=dropped", "version=", "TYPE=second"}))
}

func TestServiceNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, canon, service, domain string }{
		{"_ollama._tcp.local.", "_ollama._tcp.local.", "_ollama._tcp", "local"},
		{"_ollama._tcp.local", "_ollama._tcp.local.", "_ollama._tcp", "local"},
		{"_LLM._TCP", "_llm._tcp.local.", "_llm._tcp", "local"},
		{" _x._udp.example.org. ", "_x._udp.example.org.", "_x._udp", "example.org"},
	}
	for _, tt := range tests {
		c := canonicalService(tt.in)
		assert.Equal(t, tt.canon, c, tt.in)
		s, d := splitService(c)
		assert.Equal(t, tt.service, s, tt.in)
		assert.Equal(t, tt.domain, d, tt.in)
	}
	assert.Empty(t, canonicalService(" . "))
}

func TestUnescapeLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain`:         "plain",
		`GPU\ box`:      "GPU box",
		`a\.b`:          "a.b",
		`K\195\188che`:  "Küche",
		`trailing\`:     `trailing\`,
		`big\999`:       "big999",
		`x\\y`:          `x\y`,
		`first\.label.`: "first.label.",
	} {
		assert.Equal(t, want, unescapeLabel(in), in)
	}
	assert.Equal(t, `a\.b`, firstLabel(`a\.b.c.d`))
}

func TestToAnnouncement(t *testing.T) {
	t.Parallel()
	const suffix = "._llm._tcp.local."
	e := &mdns.ServiceEntry{
		Name:         `GPU\ box._llm._tcp.local.`,
		Host:         "gpu.local.",
		AddrV4:       net.ParseIP("10.0.0.2"), // 16-byte form, as the library gives it
		AddrV6IPAddr: &net.IPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0"},
		Port:         8000,
		InfoFields:   []string{"type=vllm"},
	}
	a, ok := toAnnouncement(e, "_llm._tcp.local.", suffix)
	assert.True(t, ok)
	assert.Equal(t, Announcement{
		Instance: "GPU box", Service: "_llm._tcp.local.", Host: "gpu.local.", Port: 8000,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fe80::1%eth0")},
		TXT:   map[string]string{"type": "vllm"},
	}, a)

	// Another service type's answer, seen on the shared group, is dropped.
	_, ok = toAnnouncement(&mdns.ServiceEntry{Name: "x._ollama._tcp.local."}, "_llm._tcp.local.", suffix)
	assert.False(t, ok)
	_, ok = toAnnouncement(&mdns.ServiceEntry{Name: "_llm._tcp.local."}, "_llm._tcp.local.", suffix)
	assert.False(t, ok)
}

// FuzzResolve checks what any announcement can bring into the registry:
// a valid base URL that never ends in /v1, a bounded name without control
// characters, and metadata without control characters.
func FuzzResolve(f *testing.F) {
	f.Add("gpu box", "/v1", "0.5", "vllm", "10.0.0.2", 8000)
	f.Add("K\xfcche\x00", "/api/v1/", "", "ollama", "fe80::1%eth0", 11434)
	f.Add("", "//x/../y", "1\n2", "", "::1", 0)
	f.Fuzz(func(t *testing.T, instance, apiPath, version, typ, addr string, port int) {
		a := Announcement{Instance: instance, Service: "_llm._tcp.local.", Port: port,
			TXT: map[string]string{"api_path": apiPath, "version": version, "type": typ}}
		if ip, err := netip.ParseAddr(addr); err == nil {
			a.Addrs = []netip.Addr{ip}
		}
		tg, err := resolve(a)
		if err != nil {
			return
		}
		u, err := registry.CheckURL(tg.url)
		assert.NoError(t, err)
		assert.Equal(t, tg.url, u)
		assert.False(t, strings.HasSuffix(tg.url, "/v1"), tg.url)
		assert.NotContains(t, tg.url, "/v1/v1")
		for _, s := range []string{tg.name, tg.altName, tg.meta[MetaInstance], tg.meta[MetaVersion]} {
			assert.LessOrEqual(t, len(s), MaxNameLen)
			assert.True(t, utf8.ValidString(s), "%q", s)
			assert.False(t, strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), "%q", s)
		}
		assert.True(t, strings.HasPrefix(tg.name, "mdns-"))
	})
}
