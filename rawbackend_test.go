package nexus_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawBackend is a loopback TCP server that speaks HTTP/1.1 by hand: it
// answers health probes (GET /v1/models) properly and hands every chat
// request's connection to a fault function that writes whatever bytes it
// likes (or none), resets the connection, or stalls. The connection is
// closed when the fault returns.
type rawBackend struct {
	ln     net.Listener
	models []string
	fault  func(c net.Conn)

	chats   atomic.Int64 // chat requests received
	running atomic.Int64 // fault functions running now

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newRawBackend starts a raw backend serving models and stops it when the
// test ends.
func newRawBackend(t testing.TB, fault func(c net.Conn), models ...string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	rb := &rawBackend{ln: ln, models: models, fault: fault, conns: map[net.Conn]struct{}{}}
	rb.wg.Go(rb.accept)
	t.Cleanup(rb.Close)
	return rb
}

// URL is the backend's base URL.
func (rb *rawBackend) URL() string { return "http://" + rb.ln.Addr().String() }

// Close stops listening (connections are refused from then on), closes
// every connection and waits for the fault functions to return.
func (rb *rawBackend) Close() {
	rb.mu.Lock()
	rb.closed = true
	for c := range rb.conns {
		_ = c.Close()
	}
	rb.mu.Unlock()
	_ = rb.ln.Close()
	rb.wg.Wait()
}

func (rb *rawBackend) accept() {
	for {
		c, err := rb.ln.Accept()
		if err != nil {
			return
		}
		rb.mu.Lock()
		if rb.closed {
			rb.mu.Unlock()
			_ = c.Close()
			return
		}
		rb.conns[c] = struct{}{}
		rb.mu.Unlock()
		rb.wg.Go(func() {
			defer func() {
				rb.mu.Lock()
				delete(rb.conns, c)
				rb.mu.Unlock()
				_ = c.Close()
			}()
			rb.serve(c)
		})
	}
}

// serve answers probes on c until a chat request arrives, then runs the
// fault on it.
func (rb *rawBackend) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if req.URL.Path == "/v1/chat/completions" {
			rb.chats.Add(1)
			rb.running.Add(1)
			defer rb.running.Add(-1)
			rb.fault(c)
			return
		}
		var data []string
		for _, m := range rb.models {
			data = append(data, fmt.Sprintf(`{"id":%q,"object":"model","owned_by":"raw"}`, m))
		}
		body := `{"object":"list","data":[` + strings.Join(data, ",") + `]}`
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
			return
		}
	}
}

// Raw fault building blocks. Each writes to the connection of one chat
// request; the connection is closed when the fault returns.

// waitHangUp blocks until the gateway closes the connection.
func waitHangUp(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// rawReset closes c with an RST instead of a FIN.
func rawReset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

const (
	jsonHeaders = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
	sseHeaders  = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
)

// sseData is one SSE data event.
func sseData(payload string) string { return "data: " + payload + "\n\n" }

// chunkJSON is a chat.completion.chunk with one content delta (or, with
// finish set, a finish_reason).
func chunkJSON(content, finish string) string {
	delta := fmt.Sprintf(`{"content":%q}`, content)
	fr := "null"
	if finish != "" {
		delta, fr = `{}`, strconv.Quote(finish)
	}
	return `{"id":"raw-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` +
		delta + `,"finish_reason":` + fr + `}]}`
}

// rawWrite sends s on c and reports whether it got through.
func rawWrite(c net.Conn, s string) bool {
	_, err := io.WriteString(c, s)
	return err == nil
}

// openStream sends the stream headers and the given content events.
func openStream(c net.Conn, contents ...string) bool {
	out := sseHeaders
	for _, s := range contents {
		out += sseData(chunkJSON(s, ""))
	}
	return rawWrite(c, out)
}

// sseEvent is one parsed event of a response body.
type sseEvent struct {
	name string
	data string
}

// parseEvents splits an SSE body into events, without a line-length limit
// (bufio.Scanner would stop at 64 KiB).
func parseEvents(body string) []sseEvent {
	var out []sseEvent
	for _, block := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		var ev sseEvent
		var data []string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			}
		}
		if len(data) > 0 {
			ev.data = strings.Join(data, "\n")
			out = append(out, ev)
		}
	}
	return out
}

// testClient returns an HTTP client of its own, closed when the test ends.
func testClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// chatResult is what one chat request got.
type chatResult struct {
	status int
	header http.Header
	body   string
	err    error
}

// doChat sends a chat request for model and reads the whole answer.
func doChat(c *http.Client, base, model string, stream bool, header ...string) chatResult {
	body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return chatResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return chatResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return chatResult{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// cleanStream reports why a stream answer is not a complete, clean stream with
// the given content, or nil.
func cleanStream(r chatResult, content string) error {
	if r.err != nil {
		return r.err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("status %d: %s", r.status, r.body)
	}
	events := parseEvents(r.body)
	if len(events) == 0 || events[len(events)-1].data != "[DONE]" {
		return errors.New("no [DONE] at the end: " + r.body)
	}
	var got strings.Builder
	for _, ev := range events[:len(events)-1] {
		if strings.Contains(ev.data, `"error"`) {
			return errors.New("error event: " + ev.data)
		}
		got.WriteString(deltaContent(ev.data))
	}
	if got.String() != content {
		return fmt.Errorf("content %q, want %q", got.String(), content)
	}
	return nil
}

// deltaContent returns the content deltas of one chunk, joined.
func deltaContent(data string) string {
	var c struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal([]byte(data), &c) != nil {
		return ""
	}
	var s strings.Builder
	for _, ch := range c.Choices {
		s.WriteString(ch.Delta.Content)
	}
	return s.String()
}

// bystanders runs other clients against model (served by a healthy backend
// that streams sideContent) while a test does its work: one long stream and
// a loop of plain requests. stop ends them and returns every problem they
// saw and how many requests completed.
func bystanders(c *http.Client, base, model, sideContent string) (stop func() (problems []string, done int)) {
	quit := make(chan struct{})
	var mu sync.Mutex
	var problems []string
	var done int
	note := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		done++
	}
	var wg sync.WaitGroup
	wg.Go(func() { note(cleanStream(doChat(c, base, model, true), sideContent)) })
	wg.Go(func() {
		for {
			r := doChat(c, base, model, false)
			switch {
			case r.err != nil:
				note(r.err)
			case r.status != http.StatusOK || !strings.Contains(r.body, sideContent):
				note(fmt.Errorf("plain request: status %d: %s", r.status, r.body))
			default:
				note(nil)
			}
			select {
			case <-quit:
				return
			default:
			}
		}
	})
	return func() ([]string, int) {
		close(quit)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return problems, done
	}
}
