package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// syncBuffer collects what the server logs, from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// served is a `nexus serve` running in the test.
type served struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// startServe writes a config file with the given [server] keys (after host
// and port) and backends, runs `nexus serve -c <file>` until the test
// cancels it, and waits until it answers /health.
func startServe(t *testing.T, serverKeys string, backends ...*nexustest.Backend) *served {
	t.Helper()
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[server]\nhost = %q\nport = %s\n%s\n", host, port, serverKeys)
	cfg.WriteString("[discovery]\nenabled = false\n[health_check]\nenabled = false\n")
	for i, be := range backends {
		fmt.Fprintf(&cfg, "[[backends]]\nname = \"b%d\"\nurl = %q\ntype = \"openai\"\n", i, be.URL())
	}
	path := filepath.Join(t.TempDir(), "nexus.toml")
	require.NoError(t, os.WriteFile(path, []byte(cfg.String()), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	s := &served{addr: addr, cancel: cancel, done: make(chan error, 1), log: &syncBuffer{}}
	noEnv := func(string) (string, bool) { return "", false }
	go func() { s.done <- run(ctx, []string{"serve", "-c", path}, io.Discard, s.log, noEnv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("nexus serve did not stop")
		}
	})
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 10*time.Millisecond, "nexus serve did not come up; log:\n%s", s.log.String())
	return s
}

// wait returns what run returned, failing the test if it takes too long.
func (s *served) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("nexus serve did not return; log:\n%s", s.log.String())
		return nil
	}
}

// openStream starts a streamed chat request and returns its body once the
// first event has arrived.
func openStream(t *testing.T, c *http.Client, addr, model string) (*bufio.Reader, io.Closer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "data: "), line)
	return br, resp.Body
}

// TestGracefulShutdown: when the context of `nexus serve` is cancelled
// (SIGINT or SIGTERM), new connections are refused at once, while a
// stream and a plain request already in flight finish completely; then
// run returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	text := strings.TrimSpace(strings.Repeat("tok ", 60))
	var chunks []string
	for i, w := range strings.Fields(text) {
		if i > 0 {
			w = " " + w
		}
		chunks = append(chunks, w)
	}
	streamer := nexustest.NewBackend(t, nexustest.Models("stream"), nexustest.Stream(chunks...),
		nexustest.ChunkDelay(40*time.Millisecond)) // about 2.4 s
	slow := nexustest.NewBackend(t, nexustest.Models("plain"), nexustest.Delay(500*time.Millisecond),
		nexustest.Reply("finished after the signal"))
	s := startServe(t, `shutdown_timeout = "20s"`, streamer, slow)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()

	body, closer := openStream(t, client, s.addr, "stream")
	defer closer.Close()
	streamDone := make(chan string, 1)
	go func() {
		rest, _ := io.ReadAll(body)
		streamDone <- string(rest)
	}()
	plainDone := make(chan string, 1)
	go func() {
		resp, err := client.Post("http://"+s.addr+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"plain","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			plainDone <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		plainDone <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	require.Eventually(t, func() bool { return slow.InFlight() == 1 }, 10*time.Second, 5*time.Millisecond)

	s.cancel() // what SIGINT/SIGTERM do

	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, 5*time.Millisecond, "new connections must be refused once shutdown began")
	select {
	case <-streamDone:
		t.Fatal("the stream ended before new connections were refused; the test proves nothing")
	default:
	}

	rest := <-streamDone
	assert.True(t, strings.HasSuffix(rest, "data: [DONE]\n\n"), "the stream in flight completes: %s", rest)
	assert.Equal(t, len(chunks), strings.Count(rest, `tok"`), "no event is lost")
	plain := <-plainDone
	assert.True(t, strings.HasPrefix(plain, "200 "), plain)
	assert.Contains(t, plain, "finished after the signal")
	require.NoError(t, s.wait(t))
	assert.Contains(t, s.log.String(), "draining in-flight requests")
}

// TestShutdownDrainIsBounded: a stream still running when shutdown_timeout
// expires is cut, and run returns an error saying so instead of waiting.
func TestShutdownDrainIsBounded(t *testing.T) {
	t.Parallel()
	endless := nexustest.NewBackend(t, nexustest.Models("stream"), nexustest.StallAfter(1))
	s := startServe(t, `shutdown_timeout = "300ms"`, endless)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	body, closer := openStream(t, client, s.addr, "stream")
	defer closer.Close()

	s.cancel()
	err := s.wait(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "were cut")
	rest, _ := io.ReadAll(body) // ends: the connection was closed
	assert.NotContains(t, string(rest), "[DONE]")
}
