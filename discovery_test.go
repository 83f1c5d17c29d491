package nexus_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/discovery"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// chanBrowser is a discovery.Browser whose announcements the test sends.
type chanBrowser chan discovery.Announcement

func (c chanBrowser) Browse(ctx context.Context, _ []string, found func(discovery.Announcement)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-c:
			found(a)
		}
	}
}

// announce describes be as an instance of _llm._tcp on loopback.
func announce(t *testing.T, instance string, be *nexustest.Backend, txt ...string) discovery.Announcement {
	t.Helper()
	ap, err := netip.ParseAddrPort(be.Addr())
	require.NoError(t, err)
	return discovery.Announcement{Instance: instance, Service: "_llm._tcp.local.", Host: "box.local.",
		Addrs: []netip.Addr{ap.Addr()}, Port: int(ap.Port()), TXT: discovery.ParseTXT(txt)}
}

// backendsList asks GET /v1/backends.
func backendsList(t *testing.T, base string) []api.Backend {
	t.Helper()
	resp, err := http.Get(base + "/v1/backends")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list api.BackendList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	return list.Backends
}

// TestDiscoveryWiring: with [discovery] on, an announced backend appears
// with source mdns, is probed at once (its models are known without the
// health checker) and serves requests; once it stops announcing it is
// removed after the grace period; Close stops every goroutine. It counts
// goroutines, so it does not run in parallel.
func TestDiscoveryWiring(t *testing.T) {
	static := nexustest.NewBackend(t, nexustest.Models("static-model"))
	lan := nexustest.NewBackend(t, nexustest.Models("lan-model"), nexustest.Reply("from the LAN"))
	other := nexustest.NewBackend(t, nexustest.Models("x"))
	base := goleak.IgnoreCurrent()
	cfg := testConfig(backendConfig("static", static, 1))
	cfg.Discovery.Enabled = true
	cfg.Discovery.GracePeriodSeconds = 1
	cfg.Discovery.MaxBackends = 1
	browser := make(chanBrowser)
	gw, err := nexus.New(cfg, nexus.WithDiscoveryBrowser(browser))
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	ts := httptest.NewServer(gw.Handler())
	t.Cleanup(ts.Close)
	srv := ts.URL

	browser <- announce(t, "GPU box", lan, "type=openai", "api_path=/v1", "version=1.2")
	var b *registry.Backend
	require.Eventually(t, func() bool {
		var ok bool
		b, ok = gw.Registry().Get("mdns-GPU-box")
		return ok && b.Healthy() && b.Serves("lan-model")
	}, 10*time.Second, 5*time.Millisecond, "discovered backend registered and probed")
	assert.Equal(t, registry.SourceMDNS, b.Source)
	assert.Equal(t, lan.URL(), b.URL, "api_path /v1 does not double")
	assert.Equal(t, registry.TypeOpenAI, b.Type)
	var shown *api.Backend
	for _, info := range backendsList(t, srv) {
		if info.Name == "mdns-GPU-box" {
			shown = &info
		}
	}
	require.NotNil(t, shown, "GET /v1/backends shows it")
	assert.Equal(t, "mdns", shown.Source)
	assert.Equal(t, "healthy", shown.Status)

	resp, body := post(t, srv, `{"model":"lan-model","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "from the LAN")

	// MaxBackends is 1: a second instance is ignored.
	browser <- announce(t, "other", other)
	require.Eventually(t, func() bool {
		s, ok := gw.DiscoveryStats()
		return ok && s.Ignored == 1
	}, 10*time.Second, 5*time.Millisecond)
	_, ok := gw.Registry().Get("mdns-other")
	assert.False(t, ok)

	// No more announcements: gone after the grace period.
	require.Eventually(t, func() bool {
		_, ok := gw.Registry().Get("mdns-GPU-box")
		return !ok
	}, 15*time.Second, 20*time.Millisecond, "expired after the grace period")
	s, _ := gw.DiscoveryStats()
	assert.Equal(t, uint64(1), s.Expired)
	_, ok = gw.Registry().Get("static")
	assert.True(t, ok, "static backends are never expired")

	ts.Close()
	require.NoError(t, gw.Close())
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, base)
}

// TestDiscoveryFailureIsAWarning: a browser that cannot work leaves the
// gateway serving its configured backends.
func TestDiscoveryFailureIsAWarning(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("static", be, 1))
	cfg.Discovery.Enabled = true
	broken := discovery.BrowserFunc(func(context.Context, []string, func(discovery.Announcement)) error {
		return errors.New("no multicast here")
	})
	_, url := startGateway(t, cfg, nexus.WithDiscoveryBrowser(broken))
	resp, body := post(t, url, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// TestDiscoveryDisabled: with [discovery] off (or --no-discovery) the
// browser is never asked.
func TestDiscoveryDisabled(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{}, 1)
	browser := discovery.BrowserFunc(func(ctx context.Context, _ []string, _ func(discovery.Announcement)) error {
		asked <- struct{}{}
		return nil
	})
	gw, _ := startGateway(t, testConfig(), nexus.WithDiscoveryBrowser(browser))
	_, ok := gw.DiscoveryStats()
	assert.False(t, ok)
	select {
	case <-asked:
		t.Fatal("the browser was used although discovery is off")
	default:
	}
}
