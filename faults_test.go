package nexus_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// faultCase is one way a backend can misbehave, and what the gateway must
// make of it.
type faultCase struct {
	name   string
	stream bool
	raw    func(c net.Conn)   // a raw TCP backend with this fault, or
	opts   []nexustest.Option // a nexustest backend with these options
	refuse bool               // stop the backend once the gateway has started
	// bigEvents lifts the first-byte and idle timeouts to a minute, for
	// events too big to arrive within the test's short ones on a loaded
	// machine.
	bigEvents bool

	// What a client gets when the faulty backend is the only one serving
	// the model. An error answer has status, code, msg and retryAfter; a
	// stream that failed after it started has status 200, the code of its
	// error event and partial, the content relayed before it; a success has
	// status 200 and content.
	status     int
	code       string
	msg        string
	retryAfter string
	partial    string
	content    string

	failover bool // a second backend answers instead: nothing was committed
	fault    bool // the failure counts against the backend's passive health
}

func (tc faultCase) success() bool   { return tc.status == http.StatusOK && tc.code == "" }
func (tc faultCase) committed() bool { return tc.status == http.StatusOK && tc.code != "" }

// Sizes around the proxy's 16 MiB limit on one stream event.
const (
	bigLine  = 2 << 20
	hugeLine = 17 << 20
)

func faultCases() []faultCase {
	big := strings.Repeat("b", bigLine)
	status := func(code int, retryAfter string) nexustest.Option {
		return nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"error":{"message":"upstream says ` + strconv.Itoa(code) + `","type":"server_error","param":null,"code":"upstream_` + strconv.Itoa(code) + `"}}`))
		})
	}
	return []faultCase{
		{name: "refuses connections", raw: waitHangUp, refuse: true,
			status: 502, code: "bad_gateway", msg: "connection refused", failover: true, fault: true},
		{name: "accepts and never answers", raw: waitHangUp,
			status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "accepts and never answers, stream", stream: true, raw: waitHangUp,
			status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "answers slowly within the timeouts", opts: []nexustest.Option{nexustest.Delay(100 * time.Millisecond)},
			status: 200, content: nexustest.DefaultReply},
		{name: "answers slowly within the timeouts, stream", stream: true,
			opts:   []nexustest.Option{nexustest.Delay(100 * time.Millisecond), nexustest.ChunkDelay(50 * time.Millisecond)},
			status: 200, content: nexustest.DefaultReply},
		{name: "answers after first_byte_timeout", opts: []nexustest.Option{nexustest.Delay(5 * time.Second)},
			status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "sends headers then stalls", raw: func(c net.Conn) {
			if rawWrite(c, jsonHeaders+"Content-Length: 200\r\n\r\n"+`{"id":"x",`) {
				waitHangUp(c)
			}
		}, status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "sends headers then stalls, stream", stream: true, opts: []nexustest.Option{nexustest.StallAfter(0)},
			status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "sends half an event then stalls, stream", stream: true, raw: func(c net.Conn) {
			if rawWrite(c, sseHeaders+`data: {"id":"x",`) {
				waitHangUp(c)
			}
		}, status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "sends only keep-alive comments, stream", stream: true, raw: func(c net.Conn) {
			for ok := rawWrite(c, sseHeaders); ok; ok = rawWrite(c, ": keep-alive\n\n") {
				time.Sleep(20 * time.Millisecond)
			}
		}, status: 504, code: "gateway_timeout", msg: "did not answer in time", failover: true, fault: true},
		{name: "500", opts: []nexustest.Option{nexustest.Fail(500)},
			status: 502, code: "bad_gateway", msg: "returned HTTP 500", failover: true, fault: true},
		{name: "502", opts: []nexustest.Option{status(502, "")},
			status: 502, code: "bad_gateway", msg: "returned HTTP 502", failover: true, fault: true},
		{name: "503 with Retry-After", opts: []nexustest.Option{status(503, "7")},
			status: 503, code: "service_unavailable", msg: "unavailable (HTTP 503)", retryAfter: "7", failover: true, fault: true},
		{name: "503 without Retry-After, stream", stream: true, opts: []nexustest.Option{status(503, "")},
			status: 502, code: "bad_gateway", msg: "returned HTTP 503", failover: true, fault: true},
		{name: "401 refusing the gateway's key", opts: []nexustest.Option{status(401, "")},
			status: 502, code: "bad_gateway", msg: "refused the gateway's credentials (HTTP 401)", failover: true, fault: true},
		{name: "403 refusing the gateway's key, stream", stream: true, opts: []nexustest.Option{status(403, "")},
			status: 502, code: "bad_gateway", msg: "refused the gateway's credentials (HTTP 403)", failover: true, fault: true},
		{name: "429 with Retry-After", opts: []nexustest.Option{status(429, "7")},
			status: 429, code: "upstream_429", msg: "upstream says 429", retryAfter: "7", failover: true},
		{name: "429 without Retry-After, stream", stream: true, opts: []nexustest.Option{status(429, "")},
			status: 429, code: "upstream_429", msg: "upstream says 429", failover: true},
		{name: "invalid JSON", raw: func(c net.Conn) {
			rawWrite(c, jsonHeaders+"Content-Length: 9\r\n\r\n{not json")
		}, status: 502, code: "bad_gateway", msg: "not a JSON object", failover: true, fault: true},
		{name: "invalid JSON event, stream", stream: true, raw: func(c net.Conn) {
			rawWrite(c, sseHeaders+sseData("{not json")+sseData("[DONE]"))
		}, status: 502, code: "bad_gateway", msg: "first stream event is not a JSON object", failover: true, fault: true},
		{name: "truncated body", raw: func(c net.Conn) {
			rawWrite(c, jsonHeaders+"Content-Length: 200\r\n\r\n"+`{"id":"x","choices":[{"message":`)
		}, status: 502, code: "bad_gateway", msg: "unexpected EOF", failover: true, fault: true},
		{name: "drops the stream before the first event", stream: true, opts: []nexustest.Option{nexustest.DropAfter(0)},
			status: 502, code: "bad_gateway", msg: "stream ended before its first event", failover: true, fault: true},
		{name: "drops the stream mid-way", stream: true,
			opts:   []nexustest.Option{nexustest.Stream("a", "b", "c", "d"), nexustest.DropAfter(2)},
			status: 200, code: "backend_stream_error", partial: "ab", fault: true},
		{name: "finishes but never sends [DONE]", stream: true, raw: func(c net.Conn) {
			_ = openStream(c, "a", "b") && rawWrite(c, sseData(chunkJSON("", "stop")))
		}, status: 200, content: "ab"},
		{name: "ends without [DONE] or finish_reason", stream: true, raw: func(c net.Conn) {
			openStream(c, "a", "b")
		}, status: 200, code: "backend_stream_error", partial: "ab", fault: true},
		{name: "stalls mid-stream, never sends [DONE]", stream: true,
			opts:   []nexustest.Option{nexustest.Stream("a", "b", "c", "d"), nexustest.StallAfter(2)},
			status: 200, code: "stream_idle_timeout", partial: "ab", fault: true},
		{name: "SSE line of 2 MiB", stream: true, raw: func(c net.Conn) {
			_ = openStream(c, big) && rawWrite(c, sseData(chunkJSON("", "stop"))+sseData("[DONE]"))
		}, bigEvents: true, status: 200, content: big},
		{name: "SSE line over the event limit first", stream: true, raw: func(c net.Conn) {
			rawWrite(c, sseHeaders+"data: "+strings.Repeat("x", hugeLine)+"\n\n")
		}, bigEvents: true, status: 502, code: "bad_gateway", msg: "event too large", failover: true, fault: true},
		{name: "SSE line over the event limit mid-stream", stream: true, raw: func(c net.Conn) {
			_ = openStream(c, "a") && rawWrite(c, "data: "+strings.Repeat("x", hugeLine)+"\n\n")
		}, bigEvents: true, status: 200, code: "backend_stream_error", partial: "a", fault: true},
		{name: "resets the connection before answering", raw: rawReset,
			status: 502, code: "bad_gateway", msg: "connection reset", failover: true, fault: true},
		{name: "resets the connection mid-stream", stream: true, raw: func(c net.Conn) {
			openStream(c, "a", "b")
			rawReset(c)
		}, status: 200, code: "backend_stream_error", partial: "ab", fault: true},
	}
}

// TestBackendFaults injects each fault into one backend of a gateway that
// also has a healthy backend for the same model and another for an
// unrelated model, and checks what a client gets when the faulty backend is
// alone, that failover happens exactly when nothing was committed, what the
// passive health makes of the backend, and that clients of the healthy
// backend in flight meanwhile never notice.
func TestBackendFaults(t *testing.T) {
	t.Parallel()
	sideWords := strings.Fields("the quick brown fox jumps over the lazy dog")
	for i := range sideWords[1:] {
		sideWords[i+1] = " " + sideWords[i+1]
	}
	sideContent := strings.Join(sideWords, "")
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var badURL string
			var raw *rawBackend
			var fake *nexustest.Backend
			if tc.raw != nil {
				raw = newRawBackend(t, tc.raw, "alone", "both")
				badURL = raw.URL()
			} else {
				fake = nexustest.NewBackend(t, append([]nexustest.Option{nexustest.Models("alone", "both"), nexustest.Name("bad")}, tc.opts...)...)
				badURL = fake.URL()
			}
			good := nexustest.NewBackend(t, nexustest.Models("both"), nexustest.Name("good"), nexustest.Reply("from good"))
			side := nexustest.NewBackend(t, nexustest.Models("side"), nexustest.Stream(sideWords...), nexustest.ChunkDelay(10*time.Millisecond))
			cfg := testConfig(
				nexus.BackendConfig{Name: "bad", URL: badURL, Type: "openai", Priority: 1},
				backendConfig("good", good, 2),
				backendConfig("side", side, 3))
			cfg.Server.FirstByteTimeout = 300 * time.Millisecond
			cfg.Server.StreamIdleTimeout = 300 * time.Millisecond
			cfg.Server.RequestTimeoutSeconds = 1
			if tc.bigEvents {
				cfg.Server.FirstByteTimeout, cfg.Server.StreamIdleTimeout = time.Minute, time.Minute
			}
			// Priority alone decides, so the faulty backend is always tried
			// first for the model both serve.
			cfg.Routing.Strategy = "priority_only"
			gw, url := startGateway(t, cfg)
			bad, ok := gw.Registry().Get("bad")
			require.True(t, ok)
			require.True(t, bad.Healthy(), "the faulty backend passes its health probe")
			if tc.refuse {
				switch {
				case raw != nil:
					raw.Close()
				default:
					fake.Stop()
				}
			}
			client := testClient(t)
			stop := bystanders(client, url, "side", sideContent)

			// Alone: what the client gets from the faulty backend.
			checkFaultAnswer(t, tc, doChat(client, url, "alone", tc.stream))

			// With a healthy backend behind it: failover exactly when
			// nothing reached the client.
			r := doChat(client, url, "both", tc.stream)
			switch {
			case tc.failover:
				require.Equal(t, http.StatusOK, r.status, r.body)
				assert.Equal(t, "good", r.header.Get(nexus.HeaderBackend))
				assert.Equal(t, "failover", r.header.Get(nexus.HeaderRouteReason))
				if tc.stream {
					assert.NoError(t, cleanStream(r, "from good"))
				} else {
					assert.Contains(t, r.body, "from good")
				}
			default:
				checkFaultAnswer(t, tc, r)
				assert.Equal(t, "bad", r.header.Get(nexus.HeaderBackend))
				assert.Zero(t, good.ChatHits(), "nothing is retried once the answer started")
			}

			// Passive health: each failure counts (a third in a row takes the
			// backend out of rotation, see TestPassiveHealthEjectsFailingBackend);
			// a success, a 429 or a client error does not.
			if tc.fault {
				assert.EqualValues(t, 2, bad.Failures())
			} else {
				assert.Zero(t, bad.Failures())
			}
			assert.Equal(t, registry.StatusHealthy, bad.Status(), "two failures stay below the threshold")

			problems, done := stop()
			assert.Empty(t, problems, "clients of the healthy backend saw problems")
			assert.Positive(t, done)
			for _, b := range gw.Registry().Backends() {
				assert.Eventually(t, func() bool { return b.Pending() == 0 }, 5*time.Second, 5*time.Millisecond,
					"pending requests of %s leaked", b.Name)
			}
			// The gateway hangs up on a stalled backend: no upstream request
			// is left running.
			if raw != nil {
				assert.Eventually(t, func() bool { return raw.running.Load() == 0 }, 5*time.Second, 5*time.Millisecond)
			} else {
				assert.Eventually(t, func() bool { return fake.InFlight() == 0 }, 5*time.Second, 5*time.Millisecond)
			}
		})
	}
}

// checkFaultAnswer checks what a client got from the faulty backend alone.
func checkFaultAnswer(t *testing.T, tc faultCase, r chatResult) {
	t.Helper()
	require.NoError(t, r.err)
	require.Equal(t, tc.status, r.status, "body: %.300s", r.body)
	switch {
	case tc.success() && tc.stream:
		assert.NoError(t, cleanStream(r, tc.content))
	case tc.success():
		assert.Equal(t, tc.content, deltaMessage(t, r.body))
	case tc.committed():
		assert.Equal(t, "text/event-stream", r.header.Get("Content-Type"))
		events := parseEvents(r.body)
		require.GreaterOrEqual(t, len(events), 2, r.body)
		assert.Equal(t, "[DONE]", events[len(events)-1].data, "a failed stream still ends with [DONE]")
		e := decodeAPIError(t, []byte(events[len(events)-2].data))
		require.NotNil(t, e.Error.Code)
		assert.Equal(t, tc.code, *e.Error.Code)
		assert.Equal(t, "server_error", e.Error.Type)
		var got strings.Builder
		for _, ev := range events[:len(events)-2] {
			got.WriteString(deltaContent(ev.data))
		}
		assert.Equal(t, tc.partial, got.String(), "what arrived before the failure was relayed")
	default:
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		e := decodeAPIError(t, []byte(r.body))
		require.NotNil(t, e.Error.Code, r.body)
		assert.Equal(t, tc.code, *e.Error.Code)
		assert.Contains(t, e.Error.Message, tc.msg)
		assert.Equal(t, tc.retryAfter, r.header.Get("Retry-After"))
	}
}

// deltaMessage returns the message content of a plain chat completion.
func deltaMessage(t *testing.T, body string) string {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &c), body)
	require.NotEmpty(t, c.Choices, body)
	return c.Choices[0].Message.Content
}
