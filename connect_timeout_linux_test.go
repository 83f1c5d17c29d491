//go:build linux

package nexus_test

import (
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// blackhole returns the address of a loopback listener that never accepts
// and whose accept queue is full, so that Linux drops every further SYN: a
// connection attempt hangs until the dialer gives up, like a backend behind
// a firewall that drops packets.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// A backlog of 0 still queues one connection; fill it.
	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return addr
}

// TestConnectTimeout: a backend that cannot be reached in connect_timeout
// is given up on long before first_byte_timeout, answered with 504 when it
// is alone and failed over otherwise.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	addr := blackhole(t)
	good := nexustest.NewBackend(t, nexustest.Models("both"), nexustest.Reply("from good"))
	cfg := testConfig(
		// Static models keep it in rotation although its probe fails.
		nexus.BackendConfig{Name: "unreachable", URL: "http://" + addr, Type: "openai", Priority: 1,
			Models: []nexus.ModelConfig{{ID: "alone"}, {ID: "both"}}},
		backendConfig("good", good, 2))
	cfg.Server.ConnectTimeout = 200 * time.Millisecond
	// Far longer than the test may take: only the connect timeout can end
	// these attempts.
	cfg.Server.FirstByteTimeout = 10 * time.Minute
	cfg.Routing.Strategy = "priority_only"
	gw, url := startGateway(t, cfg)
	c := testClient(t)
	c.Timeout = 20 * time.Second

	r := doChat(c, url, "alone", false)
	require.NoError(t, r.err)
	require.Equal(t, http.StatusGatewayTimeout, r.status, r.body)
	assert.Equal(t, "gateway_timeout", *decodeAPIError(t, []byte(r.body)).Error.Code)

	r = doChat(c, url, "both", true)
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "good", r.header.Get(nexus.HeaderBackend))
	assert.NoError(t, cleanStream(r, "from good"))

	b, _ := gw.Registry().Get("unreachable")
	assert.EqualValues(t, 2, b.Failures(), "a connect timeout counts against the backend")
}
