package nexus_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/nexustest"
)

// slowBody is the 1000-byte chat body the slow uploads announce: valid
// JSON, padded with spaces.
var slowBody = func() string {
	head := `{"model":"m","messages":[{"role":"user","content":"slow"}]`
	return head + strings.Repeat(" ", 1000-len(head)-1) + "}"
}()

// dialFrom opens a TCP connection to addr from the loopback address from
// (127.0.0.x), so that the gateway sees distinct clients.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	return c
}

// startSlowUpload sends the headers of a chat request with Content-Length
// 1000 and the first byte of its body, then nothing.
func startSlowUpload(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c := dialFrom(t, from, addr)
	_, err := fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: nexus\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(slowBody), slowBody[:1])
	require.NoError(t, err)
	return c
}

// clientFrom is an HTTP client whose connections come from the loopback
// address from.
func clientFrom(from string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8}}
}

// TestSlowUploadsHoldNoSlot: more clients than max_concurrent_requests
// trickle their bodies (headers and one byte, then nothing) while a normal
// client's requests keep succeeding: reading a body holds no concurrency
// slot. One address may hold max_uploads_per_client unfinished uploads;
// the next gets 429 too_many_uploads, other addresses are unaffected. A
// slow upload that finishes is served, and once every connection is closed
// nothing is left behind: connections, pending requests, goroutines.
func TestSlowUploadsHoldNoSlot(t *testing.T) {
	base := goleak.IgnoreCurrent()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.MaxConcurrentRequests = 4
	cfg.Server.MaxUploadsPerClient = 3
	h := newHarness(t, cfg)
	addr := strings.TrimPrefix(h.url, "http://")

	// Nine slow uploads, three from each of three addresses: more than
	// the four slots, each address at its bound.
	slowFrom := []string{"127.0.0.1", "127.0.0.3", "127.0.0.4"}
	var slow []net.Conn
	for _, from := range slowFrom {
		for range 3 {
			slow = append(slow, startSlowUpload(t, from, addr))
		}
	}
	defer func() {
		for _, c := range slow {
			_ = c.Close()
		}
	}()

	var clients []*http.Client
	newClient := func(from string) *http.Client {
		c := clientFrom(from)
		clients = append(clients, c)
		return c
	}

	// Once all three of an address's uploads are being read, its next
	// request is refused: 429 in OpenAI's envelope, with Retry-After.
	for _, from := range slowFrom {
		c := newClient(from)
		require.Eventually(t, func() bool {
			r := doChat(c, h.url, "m", false)
			require.NoError(t, r.err)
			if r.status == http.StatusOK {
				return false // the slow uploads are not all in yet
			}
			require.Equal(t, http.StatusTooManyRequests, r.status, r.body)
			e := decodeAPIError(t, []byte(r.body))
			assert.Equal(t, "too_many_uploads", *e.Error.Code)
			assert.Equal(t, "1", r.header.Get("Retry-After"))
			return true
		}, 10*time.Second, 10*time.Millisecond, "the slow uploads from %s are being read", from)
	}

	// Meanwhile a normal client (another address) is served, one request
	// after another and four at a time.
	normal := newClient("127.0.0.2")
	for range 20 {
		r := doChat(normal, h.url, "m", false)
		require.NoError(t, r.err)
		require.Equal(t, http.StatusOK, r.status, "nine slow uploads hold none of the four slots: %s", r.body)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				r := doChat(normal, h.url, "m", true)
				assert.NoError(t, cleanStream(r, "Hello from nexustest"))
			}
		})
	}
	wg.Wait()

	// A slow upload that finishes is served like any other request.
	_, err := io.WriteString(slow[0], slowBody[1:])
	require.NoError(t, err)
	require.NoError(t, slow[0].SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(slow[0]), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `"chat.completion"`)
	// Its address has a free upload again.
	r := doChat(newClient("127.0.0.1"), h.url, "m", false)
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status, r.body)

	// Everything closes down.
	for _, c := range slow {
		_ = c.Close()
	}
	h.requireIdle(t, clients...)
	h.requireNoUpstreamConns(t)
	be.Close()
	goleak.VerifyNone(t, base)
}
