package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Buffers between the history, the hub and each event stream. A stream
// that falls this far behind misses events and is told to resynchronise.
const (
	historyBuffer = 256
	clientBuffer  = 64
)

// Frames sent as they are.
var (
	// helloFrame opens every stream: the reconnection delay for clients
	// that reconnect by themselves, and a comment so proxies see bytes.
	helloFrame = []byte("retry: 3000\n: connected\n\n")
	pingFrame  = []byte(": ping\n\n")
	// resyncFrame tells a client it missed events and should fetch
	// /v1/history again.
	resyncFrame = []byte("event: resync\ndata: {}\n\n")
)

// serveEvents answers GET /v1/events with a stream of Server-Sent Events.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	var c *client
	ok := d.ctx.Err() == nil
	if ok && r.Method != http.MethodHead {
		c, ok = d.hub.join()
	}
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "The dashboard is shutting down.", "server_error", "service_unavailable")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if c == nil { // HEAD
		return
	}
	defer d.hub.leave(c)
	rc := http.NewResponseController(w)
	// The deadline set for each write must not outlive the stream on a
	// connection the client keeps alive.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(d.cfg.WriteTimeout))
		_, err := w.Write(b)
		return err == nil
	}
	flush := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(d.cfg.WriteTimeout))
		return rc.Flush() == nil
	}
	if !write(helloFrame) || !flush() {
		return
	}
	done := r.Context().Done()
	for {
		select {
		case <-done:
			return
		case <-d.ctx.Done():
			return
		case f := <-c.ch:
			if !write(f) {
				return
			}
			// Send what else is queued (a bounded batch) before flushing.
		batch:
			for range clientBuffer {
				select {
				case f := <-c.ch:
					if !write(f) {
						return
					}
				default:
					break batch
				}
			}
			if c.lagged.Swap(false) && !write(resyncFrame) {
				return
			}
			if !flush() {
				return
			}
		}
	}
}

// client is one open event stream.
type client struct {
	ch     chan []byte // encoded frames, shared by all clients: never modify
	lagged atomic.Bool // a frame was dropped since the last resync
}

// hub fans events out to the open streams. While at least one stream is
// open a single pump goroutine turns history entries and periodic
// snapshots into frames, encoding each once for every client.
type hub struct {
	d *Dashboard

	mu       sync.Mutex
	clients  map[*client]struct{}
	stopPump context.CancelFunc // set while a pump runs
	kick     chan struct{}      // asks the running pump for a snapshot now
	closed   bool
	wg       sync.WaitGroup // running pumps

	ticks atomic.Uint64 // snapshots taken, for tests
}

func newHub(d *Dashboard) *hub {
	return &hub{d: d, clients: map[*client]struct{}{}}
}

// join registers a new stream, starting the pump for the first one, and
// asks for a snapshot so the new stream is current at once. ok is false
// after close.
func (h *hub) join() (c *client, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	c = &client{ch: make(chan []byte, clientBuffer)}
	h.clients[c] = struct{}{}
	if h.stopPump == nil {
		ctx, cancel := context.WithCancel(h.d.ctx)
		h.stopPump = cancel
		h.kick = make(chan struct{}, 1)
		h.wg.Add(1)
		go h.pump(ctx, h.kick)
	}
	select {
	case h.kick <- struct{}{}:
	default: // a snapshot is already due
	}
	return c, true
}

// leave unregisters a stream and stops the pump after the last one.
func (h *hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	if len(h.clients) == 0 && h.stopPump != nil {
		h.stopPump()
		h.stopPump, h.kick = nil, nil
	}
}

// close refuses new streams, stops the pump and waits for it.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	if h.stopPump != nil {
		h.stopPump()
		h.stopPump, h.kick = nil, nil
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// streams returns the number of open streams and whether a pump runs.
func (h *hub) streams() (n int, pumping bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients), h.stopPump != nil
}

// broadcast queues frame on every stream without waiting; a stream whose
// queue is full misses it and is marked lagged. A pump that has been told
// to stop (ctx done) sends nothing, so a stopping pump and its successor
// never both deliver.
func (h *hub) broadcast(ctx context.Context, frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	for c := range h.clients {
		select {
		case c.ch <- frame:
		default:
			c.lagged.Store(true)
		}
	}
}

// pump runs while streams are open: it relays each new history entry as a
// "request" event and every StatsInterval (and when kicked) sends a
// snapshot; it pings every PingInterval.
func (h *hub) pump(ctx context.Context, kick <-chan struct{}) {
	defer h.wg.Done()
	entries, dropped, cancel := h.d.cfg.History.Subscribe(historyBuffer)
	defer cancel()
	tick := time.NewTicker(h.d.cfg.StatsInterval)
	defer tick.Stop()
	ping := time.NewTicker(h.d.cfg.PingInterval)
	defer ping.Stop()
	var missed uint64
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-entries:
			h.broadcast(ctx, encodeEvent("request", e))
		case <-kick:
			h.snapshot(ctx)
		case <-tick.C:
			h.snapshot(ctx)
		case <-ping.C:
			h.broadcast(ctx, pingFrame)
		}
		if n := dropped(); n != missed {
			missed = n
			h.broadcast(ctx, resyncFrame)
		}
	}
}

// snapshot computes the statistics, backend states and health once and
// sends them to every stream.
func (h *hub) snapshot(ctx context.Context) {
	h.ticks.Add(1)
	cfg := &h.d.cfg
	if cfg.Stats != nil {
		sctx, cancel := context.WithTimeout(ctx, statsTimeout)
		s, err := cfg.Stats(sctx)
		cancel()
		if err == nil {
			h.broadcast(ctx, encodeEvent("stats", s))
		}
	}
	h.broadcast(ctx, encodeEvent("backends", h.d.backends()))
	if cfg.Health != nil {
		h.broadcast(ctx, encodeEvent("health", cfg.Health()))
	}
}

// encodeEvent returns one SSE event carrying v as JSON on a single data
// line (encoding/json never emits a raw newline). A value that cannot be
// encoded yields an "error" event.
func encodeEvent(name string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"message": "could not encode " + name + ": " + err.Error()})
		name = "error"
	}
	b := make([]byte, 0, len("event: \ndata: \n\n")+len(name)+len(data))
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
