//go:build linux

package discovery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/registry"
)

// netnsChild is set in the environment of the test binary re-executed
// inside a private network namespace.
const netnsChild = "NEXUS_DISCOVERY_NETNS_CHILD"

// TestMDNSRealPacketsInNetns sends and receives real multicast DNS packets
// (the library's responder and our MDNSBrowser) inside a private network
// namespace that has only a loopback interface, so nothing reaches the
// machine's real network. It creates the namespace with `ip netns add`
// (root only) and re-executes this test binary in it.
func TestMDNSRealPacketsInNetns(t *testing.T) {
	if os.Getenv(netnsChild) != "" {
		netnsChildTest(t)
		return
	}
	if uid := os.Geteuid(); uid != 0 {
		t.Skipf("creating a network namespace needs root (ip netns add); running as uid %d", uid)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skipf("creating a network namespace needs the ip command (iproute2): %v", err)
	}
	ns := fmt.Sprintf("nexus-discovery-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: ip netns add %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
		// IPv6 multicast does not loop back on lo: a veth pair whose both
		// ends stay in the namespace carries it instead.
		{"link", "add", "nxa", "type", "veth", "peer", "name", "nxb"},
		{"netns", "exec", ns, "sh", "-c", "echo 0 >/proc/sys/net/ipv6/conf/nxa/accept_dad && echo 0 >/proc/sys/net/ipv6/conf/nxb/accept_dad"},
		{"link", "set", "nxa", "up"},
		{"link", "set", "nxb", "up"},
	} {
		if args[0] != "netns" {
			args = append([]string{"-n", ns}, args...)
		}
		out, err := exec.Command(ip, args...).CombinedOutput()
		require.NoError(t, err, "ip %v: %s", args, out)
	}

	exe, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ip, "netns", "exec", ns, exe,
		"-test.run=^TestMDNSRealPacketsInNetns$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsChild+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside namespace %s:\n%s", ns, out)
	require.NoError(t, err)
	require.Contains(t, string(out), "--- PASS: TestMDNSRealPacketsInNetns")
}

// netnsChildTest runs inside the namespace.
func netnsChildTest(t *testing.T) {
	// Never multicast on a real network: the namespace has loopback and
	// the veth pair made for it, nothing else.
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	names := map[string]net.Interface{}
	for _, i := range ifs {
		names[i.Name] = i
	}
	require.Len(t, names, 3, "expected a private namespace, got %v", ifs)
	lo, nxa := names["lo"], names["nxa"]
	require.NotZero(t, lo.Flags&net.FlagLoopback, "interface lo is not loopback: %v", ifs)
	require.Contains(t, names, "nxb")
	require.Contains(t, names, "nxa")

	quiet := log.New(io.Discard, "", 0)
	serve := func(instance, service string, port int, txt ...string) {
		zone, err := mdns.NewMDNSService(instance, service, "local.", "gpu-box.local.", port,
			[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, txt)
		require.NoError(t, err)
		srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Iface: &lo, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	serve("GPU box", "_llm._tcp", 8000, "type=vllm", "api_path=/v1", "version=0.9.1")
	serve("kitchen", "_ollama._tcp", 11434)
	serve("printer", "_ipp._tcp", 631) // not browsed

	browser := NewMDNSBrowser(MDNSOptions{Interface: &lo, QueryTimeout: 300 * time.Millisecond, Interval: 200 * time.Millisecond})

	t.Run("Discoverer", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		reg := registry.New()
		added := make(chan *registry.Backend, 8)
		d := New(reg, Config{Browser: browser, OnAdd: func(b *registry.Backend) { added <- b }})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		got := map[string]*registry.Backend{}
		deadline := time.After(10 * time.Second) // a failure bound, not a speed check
		for len(got) < 2 {
			select {
			case b := <-added:
				got[b.ID] = b
			case <-deadline:
				t.Fatalf("after 10s only found %v", got)
			}
		}
		cancel()
		require.NoError(t, <-done)

		llm := got["mdns-GPU-box"]
		require.NotNil(t, llm, "%v", got)
		assert.Equal(t, "http://127.0.0.1:8000", llm.URL)
		assert.Equal(t, registry.TypeVLLM, llm.Type)
		assert.Equal(t, map[string]string{MetaInstance: "GPU box", MetaService: "_llm._tcp.local.", MetaVersion: "0.9.1"}, llm.Metadata)
		ol := got["mdns-kitchen"]
		require.NotNil(t, ol, "%v", got)
		assert.Equal(t, "http://127.0.0.1:11434", ol.URL)
		assert.Equal(t, registry.TypeOllama, ol.Type)
		assert.Len(t, reg.Backends(), 2)
		goleak.VerifyNone(t, ignore)
	})

	t.Run("List", func(t *testing.T) {
		list, err := List(t.Context(), browser, []string{"_llm._tcp", "_ipp._tcp"}, time.Second)
		require.NoError(t, err)
		require.Len(t, list, 2, "%+v", list)
		a := list[1]
		assert.Equal(t, "GPU box", a.Instance)
		assert.Equal(t, "_llm._tcp.local.", a.Service)
		assert.Equal(t, 8000, a.Port)
		assert.Equal(t, map[string]string{"type": "vllm", "api_path": "/v1", "version": "0.9.1"}, a.TXT)
		assert.Contains(t, a.Addrs, mustAddr("127.0.0.1"))
		t.Logf("announced addresses: %v", a.Addrs)
		assert.Equal(t, "printer", list[0].Instance)
	})

	t.Run("IPv6LinkLocal", func(t *testing.T) {
		ll := linkLocal(t, nxa)
		zone, err := mdns.NewMDNSService("v6 box", "_v6llm._tcp", "local.", "v6-box.local.", 8001, []net.IP{ll.AsSlice()}, []string{"type=llamacpp"})
		require.NoError(t, err)
		srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Iface: &nxa, Logger: quiet})
		require.NoError(t, err)
		defer func() { _ = srv.Shutdown() }()

		reg := registry.New()
		added := make(chan *registry.Backend, 1)
		v6 := NewMDNSBrowser(MDNSOptions{Interface: &nxa, DisableIPv4: true, QueryTimeout: 300 * time.Millisecond, Interval: 200 * time.Millisecond})
		d := New(reg, Config{Browser: v6, ServiceTypes: []string{"_v6llm._tcp"}, OnAdd: func(b *registry.Backend) { added <- b }})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		var b *registry.Backend
		select {
		case b = <-added:
		case <-time.After(10 * time.Second): // a failure bound, not a speed check
			t.Fatal("nothing found over IPv6 after 10s")
		}
		cancel()
		require.NoError(t, <-done)
		assert.Equal(t, "mdns-v6-box", b.ID)
		assert.Equal(t, "http://["+ll.String()+"%25nxa]:8001", b.URL)
		assert.Equal(t, registry.TypeLlamaCpp, b.Type)
	})
}

// linkLocal returns the IPv6 link-local address of i.
func linkLocal(t *testing.T, i net.Interface) netip.Addr {
	t.Helper()
	as, err := i.Addrs()
	require.NoError(t, err)
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
				return ip
			}
		}
	}
	t.Fatalf("%s has no IPv6 link-local address: %v", i.Name, as)
	return netip.Addr{}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
