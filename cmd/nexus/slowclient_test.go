package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// dribble writes parts to c one at a time, pausing between them, until
// they run out or a write fails (the server hung up). It runs until the
// test's reader is done with c.
func dribble(c net.Conn, first string, next func(i int) string) {
	if _, err := io.WriteString(c, first); err != nil {
		return
	}
	for i := range 400 { // at most 20 s, far past every timeout below
		time.Sleep(50 * time.Millisecond)
		if _, err := io.WriteString(c, next(i)); err != nil {
			return
		}
	}
}

// hangUpSeen reads c until the server closes it and returns what it sent.
// It fails the test if the server keeps the connection open for 15 s.
func hangUpSeen(t *testing.T, c net.Conn) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(15*time.Second)))
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open; it sent %q", got)
	}
	return string(got) // io.EOF or a reset: the server hung up
}

// TestSlowClientsAreDisconnected: the [server] timeouts of nexus serve keep
// slow or idle clients from holding connections: one that never finishes
// its headers (slowloris), one that sends its body a byte at a time, and
// an idle keep-alive connection are all closed by the server.
func TestSlowClientsAreDisconnected(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	s := startServe(t, "read_header_timeout = \"300ms\"\nread_timeout = \"600ms\"\nidle_timeout = \"300ms\"", be)

	t.Run("headers never finished", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		defer c.Close()
		go dribble(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: nexus\r\n",
			func(i int) string { return "X-Slow: " + strings.Repeat("a", i%10+1) + "\r\n" })
		got := hangUpSeen(t, c)
		assert.NotContains(t, got, "200 OK")
	})

	t.Run("body sent a byte at a time", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		defer c.Close()
		go dribble(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: nexus\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
			func(int) string { return " " })
		got := hangUpSeen(t, c)
		assert.Zero(t, be.ChatHits(), "an unfinished request never reaches a backend")
		assert.Contains(t, got, "408 Request Timeout", "an unfinished body is answered, not met with an empty 200")
		assert.Contains(t, got, `"code":"request_timeout"`)
	})

	t.Run("idle keep-alive connection", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "GET /health HTTP/1.1\r\nHost: nexus\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Connection"), "the connection is kept alive at first")
		require.NoError(t, c.SetReadDeadline(time.Now().Add(15*time.Second)))
		_, err = br.ReadByte()
		assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server must close an idle connection")
		assert.Error(t, err)
	})
}
