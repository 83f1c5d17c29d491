package nexustest_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// waitFor polls cond for up to 10 s: it synchronises with server-side state
// (it is not a speed assertion).
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

func TestDropAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n            int
		wantEvents   int // data events before the cut
		wantContents []string
	}{
		{n: 0, wantEvents: 0},
		{n: 1, wantEvents: 2, wantContents: []string{"a"}},
		{n: 2, wantEvents: 3, wantContents: []string{"a", "b"}},
		{n: 3, wantEvents: 4, wantContents: []string{"a", "b", "c"}},
		{n: 9, wantEvents: 4, wantContents: []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(strings.Repeat("n", tc.n+1), func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Stream("a", "b", "c"), nexustest.DropAfter(tc.n))
			resp := postStream(t, t.Context(), newClient(t), b.URL(), chatBody("test-model", true, true, "x"))
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			events, err := readEvents(resp.Body)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the connection must be cut, events: %q", events)
			require.Len(t, events, tc.wantEvents, "events: %q", events)
			assert.NotContains(t, events, "[DONE]")
			var contents []string
			for _, ev := range events {
				if c, ok := contentOf(t, ev); ok && c != "" {
					contents = append(contents, c)
				}
			}
			assert.Equal(t, tc.wantContents, contents)
			assert.Zero(t, b.Canceled(), "a cut by the backend is not a client cancel")
		})
	}
}

func TestStallAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n            int
		wantContents []string
	}{
		{n: 0},
		{n: 1, wantContents: []string{"a"}},
		{n: 7, wantContents: []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(strings.Repeat("n", tc.n+1), func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Stream("a", "b"), nexustest.StallAfter(tc.n))
			// The deadline is how long the client is willing to wait for a
			// stream that hangs; the stall must outlast it.
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			resp := postStream(t, ctx, newClient(t), b.URL(), chatBody("test-model", true, false, "x"))
			defer resp.Body.Close()
			events, err := readEvents(resp.Body)
			require.ErrorIs(t, err, context.DeadlineExceeded, "events: %q", events)
			assert.NotContains(t, events, "[DONE]")
			var contents []string
			for _, ev := range events {
				if c, ok := contentOf(t, ev); ok && c != "" {
					contents = append(contents, c)
				}
			}
			assert.Equal(t, tc.wantContents, contents)

			wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer wcancel()
			require.NoError(t, b.WaitCanceled(wctx, 1), "the client gave up on a stalled stream")
			waitFor(t, func() bool { return b.InFlight() == 0 }, "stalled handler returns")
		})
	}
}

func TestDelayAndClientTimeout(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Delay(time.Minute))
	c := newClient(t)
	c.Timeout = time.Second // long enough for the request to reach the handler
	_, err := c.Post(b.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(chatBody("test-model", false, false, "x")))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "want a client timeout, got %v", err)

	require.Equal(t, int64(1), b.ChatHits(), "the request reached the backend before the timeout")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.WaitCanceled(ctx, 1), "the abandoned request counts as cancelled")
	waitFor(t, func() bool { return b.InFlight() == 0 }, "handler returns after the cancel")

	b.SetDelay(0)
	c.Timeout = 0
	resp, _ := do(t, c, "POST", b.URL()+"/v1/chat/completions", chatBody("test-model", false, false, "x"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(1), b.Canceled())
}

func TestStopRestart(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t)
	url := b.URL()
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)
	c := newClient(t)
	resp, _ := do(t, c, "GET", url+"/v1/models", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A request waiting in Delay is cut by Stop without counting as a cancel.
	b.SetDelay(time.Minute)
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Post(url+"/v1/chat/completions", "application/json",
			strings.NewReader(chatBody("test-model", false, false, "x")))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, func() bool { return b.InFlight() == 1 }, "request reaches the handler")
	b.Stop()
	require.Error(t, <-errc)
	assert.False(t, b.Running())
	assert.Zero(t, b.InFlight())
	assert.Zero(t, b.Canceled())

	_, err := c.Get(url + "/v1/models")
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	b.Stop() // no-op

	b.SetDelay(0)
	require.NoError(t, b.Restart())
	require.NoError(t, b.Restart(), "restart of a running backend is a no-op")
	assert.True(t, b.Running())
	assert.Equal(t, url, b.URL())
	resp, _ = do(t, c, "GET", url+"/v1/models", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, newClient(t), "POST", url+"/v1/chat/completions", chatBody("test-model", false, false, "x"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	b.Close()
	b.Close() // idempotent
	require.ErrorIs(t, b.Restart(), nexustest.ErrClosed)
	_, err = c.Get(url + "/health")
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestStopCutsStream(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Stream(strings.Split(strings.Repeat("x", 1000), "")...),
		nexustest.ChunkDelay(10*time.Millisecond))
	resp := postStream(t, t.Context(), newClient(t), b.URL(), chatBody("test-model", true, false, "x"))
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	_, err := br.ReadString('\n') // first event arrived
	require.NoError(t, err)
	b.Stop()
	_, err = io.ReadAll(br)
	require.Error(t, err)
	assert.Zero(t, b.Canceled())
	assert.Zero(t, b.InFlight())
}

func TestCanceledMidStream(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Stream(strings.Split(strings.Repeat("x", 1000), "")...),
		nexustest.ChunkDelay(10*time.Millisecond))

	short, cancelShort := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancelShort()
	require.ErrorIs(t, b.WaitCanceled(short, 1), context.DeadlineExceeded, "nothing cancelled yet")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := postStream(t, ctx, newClient(t), b.URL(), chatBody("test-model", true, false, "x"))
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for range 2 { // role event and first content event
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(line, "data: "), line)
		_, err = br.ReadString('\n')
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), b.InFlight())
	cancel()

	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	require.NoError(t, b.WaitCanceled(wctx, 1))
	waitFor(t, func() bool { return b.InFlight() == 0 }, "stream handler stops")
	assert.Equal(t, int64(1), b.Canceled())
}

func TestCustomHandler(t *testing.T) {
	t.Parallel()
	t.Run("garbage reply", func(t *testing.T) {
		t.Parallel()
		b := nexustest.NewBackend(t, nexustest.Fail(500), nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "not json")
		}))
		resp, data := do(t, newClient(t), "POST", b.URL()+"/v1/chat/completions", chatBody("test-model", false, false, "x"))
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the handler replaces Fail")
		assert.Equal(t, "not json", string(data))
		assert.Equal(t, int64(1), b.ChatHits())
		require.Len(t, b.Requests(), 1)
		assert.Zero(t, b.Canceled())
	})
	t.Run("hang until cancelled", func(t *testing.T) {
		t.Parallel()
		b := nexustest.NewBackend(t, nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		ctx, cancel := context.WithCancel(t.Context())
		c := newClient(t)
		errc := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", b.URL()+"/v1/chat/completions", strings.NewReader("{}"))
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitFor(t, func() bool { return b.InFlight() == 1 }, "handler running")
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer wcancel()
		require.NoError(t, b.WaitCanceled(wctx, 1))
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("a", "b"))
	c := newClient(t)
	const workers = 50
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			m := modelAt(i)
			req, _ := http.NewRequest("POST", b.URL()+"/v1/chat/completions",
				strings.NewReader(chatBody(m, false, false, "hello")))
			resp, err := c.Do(req)
			if assert.NoError(t, err) {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
			req, _ = http.NewRequest("POST", b.URL()+"/v1/chat/completions",
				strings.NewReader(chatBody(m, true, true, "hello")))
			resp, err = c.Do(req)
			if assert.NoError(t, err) {
				events, err := readEvents(resp.Body)
				resp.Body.Close()
				assert.NoError(t, err)
				if assert.NotEmpty(t, events) {
					assert.Equal(t, "[DONE]", events[len(events)-1])
				}
			}
		})
		wg.Go(func() { // runtime controls and readers race with the requests
			b.SetReply("reply " + modelAt(i))
			b.SetDelay(0)
			b.SetModels("a", "b")
			b.SetFail(0)
			_ = b.Requests()
			_ = b.Hits("/v1/chat/completions")
			_ = b.InFlight()
		})
	}
	wg.Wait()
	assert.Equal(t, int64(2*workers), b.ChatHits())
	assert.Len(t, b.Requests(), 2*workers)
	waitFor(t, func() bool { return b.InFlight() == 0 }, "all handlers done")
	assert.Zero(t, b.Canceled())
}

func modelAt(i int) string { return []string{"a", "b"}[i%2] }

func TestStartWithoutTB(t *testing.T) {
	t.Parallel()
	b, err := nexustest.Start(nexustest.Addr("127.0.0.1:0"), nexustest.Name("demo"))
	require.NoError(t, err)
	defer b.Close()
	assert.Equal(t, "demo", b.Name())
	assert.Equal(t, "http://"+b.Addr(), b.URL())
	resp, _ := do(t, newClient(t), "GET", b.URL()+"/health", "")
	assert.Equal(t, "demo", resp.Header.Get("X-Nexustest-Backend"))

	// The same port cannot be taken twice.
	_, err = nexustest.Start(nexustest.Addr(b.Addr()))
	require.Error(t, err)
	assert.False(t, errors.Is(err, nexustest.ErrClosed))
}
