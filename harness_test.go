package nexus_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
)

// harness is a gateway on its own loopback server whose connections are
// counted on both sides: clients to the gateway (inbound) and the gateway
// to backends (outbound). Tests that use it check that everything returns
// to its baseline, so they do not run in parallel with others.
type harness struct {
	gw       *nexus.Gateway
	srv      *httptest.Server
	url      string
	upstream *http.Transport
	inbound  atomic.Int64
	outbound atomic.Int64
}

// newHarness builds and starts a gateway from cfg. Call close before
// checking for leaks.
func newHarness(t *testing.T, cfg nexus.Config) *harness {
	t.Helper()
	h := &harness{}
	dialer := &net.Dialer{Timeout: cfg.Server.ConnectTimeout}
	h.upstream = &http.Transport{
		MaxIdleConnsPerHost: 256,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			h.outbound.Add(1)
			return &countedConn{Conn: c, n: &h.outbound}, nil
		},
	}
	gw, err := nexus.New(cfg, nexus.WithHTTPClient(&http.Client{Transport: h.upstream}))
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	h.gw = gw
	h.srv = httptest.NewUnstartedServer(gw)
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			h.inbound.Add(1)
		case http.StateClosed, http.StateHijacked:
			h.inbound.Add(-1)
		}
	}
	h.srv.Start()
	h.url = h.srv.URL
	t.Cleanup(h.close)
	return h
}

// close shuts the server and the gateway down and closes idle upstream
// connections. It is idempotent.
func (h *harness) close() {
	h.srv.Close()
	_ = h.gw.Close()
	h.upstream.CloseIdleConnections()
}

// requireIdle checks that nothing is in flight any more: no pending
// request on any backend and, once clients have closed their idle
// connections, no connection into the gateway.
func (h *harness) requireIdle(t *testing.T, clients ...*http.Client) {
	t.Helper()
	for _, b := range h.gw.Registry().Backends() {
		require.Eventually(t, func() bool { return b.Pending() == 0 }, 10*time.Second, 5*time.Millisecond,
			"backend %s: %d requests still pending", b.Name, b.Pending())
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	require.Eventually(t, func() bool { return h.inbound.Load() == 0 }, 10*time.Second, 5*time.Millisecond,
		"%d client connections still open", h.inbound.Load())
}

// requireNoUpstreamConns closes the gateway and checks that it leaves no
// connection to a backend open.
func (h *harness) requireNoUpstreamConns(t *testing.T) {
	t.Helper()
	h.close()
	require.Eventually(t, func() bool { h.upstream.CloseIdleConnections(); return h.outbound.Load() == 0 },
		10*time.Second, 5*time.Millisecond, "%d backend connections still open", h.outbound.Load())
}

// countedConn decrements its counter once when closed.
type countedConn struct {
	net.Conn
	n    *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.n.Add(-1) })
	return c.Conn.Close()
}
