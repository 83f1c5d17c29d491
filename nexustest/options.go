package nexustest

import (
	"net/http"
	"strings"
	"time"
)

// Defaults used when no option says otherwise.
const (
	// DefaultModel is the model served when Models is not given.
	DefaultModel = "test-model"
	// DefaultReply is the reply content when neither Reply nor Stream is given.
	DefaultReply = "Hello from nexustest"
	// DefaultName is the backend label when Name is not given.
	DefaultName = "nexustest"
	// DefaultContextLength is the context length /api/show reports for a
	// model without ModelInfo.
	DefaultContextLength = 4096
)

// Option configures a Backend at construction time. Options are applied in
// order; a later option overrides an earlier one of the same kind.
type Option func(*config)

// config is the construction-time configuration. It is never changed after
// the Backend starts; runtime state lives in atomics on the Backend.
type config struct {
	addr       string
	models     []string
	reply      *string
	stream     []string
	streamSet  bool
	usage      *usageOverride
	fail       int
	delay      time.Duration
	probeDelay time.Duration
	chunkDelay time.Duration
	dropAfter  int
	stallAfter int
	name       string
	echo       bool
	handler    http.HandlerFunc
	modelInfo  map[string]modelInfo
	noRecord   bool
}

type usageOverride struct{ prompt, completion int }

// modelInfo is what POST /api/show reports for one model.
type modelInfo struct {
	contextLength int
	caps          []string
}

func defaultConfig() config {
	return config{
		addr:       "127.0.0.1:0",
		models:     []string{DefaultModel},
		dropAfter:  -1,
		stallAfter: -1,
		name:       DefaultName,
		modelInfo:  map[string]modelInfo{},
	}
}

// Models sets the model ids the backend serves (default: "test-model").
// Requests for any other model get 404 model_not_found. Models() with no ids
// serves none.
func Models(ids ...string) Option {
	return func(c *config) { c.models = append([]string(nil), ids...) }
}

// Reply sets the content of a non-streamed reply (default "Hello from
// nexustest"). Unless Stream is also given, a streamed reply sends the same
// text split into words (each chunk keeps its leading space, so the chunks
// concatenate back to text).
func Reply(text string) Option {
	return func(c *config) { c.reply = &text }
}

// Stream sets the content deltas of a streamed reply, one SSE event each.
// Unless Reply is also given, a non-streamed reply is the chunks joined.
func Stream(chunks ...string) Option {
	return func(c *config) {
		c.stream = append([]string(nil), chunks...)
		c.streamSet = true
	}
}

// Usage fixes the token usage the backend reports. By default prompt tokens
// are about a quarter of the characters of all message text (at least 1) and
// completion tokens are the number of content chunks.
func Usage(prompt, completion int) Option {
	return func(c *config) { c.usage = &usageOverride{prompt: prompt, completion: completion} }
}

// Fail makes every chat completions request answer status with an OpenAI
// error envelope (code = the status as a string; 429 and 503 also carry
// Retry-After: 1). Unlike SetFail it leaves the probe endpoints healthy, which
// is what a test of request failover needs. Fail(0) means healthy.
func Fail(status int) Option {
	return func(c *config) { c.fail = status }
}

// Delay waits d before sending the response headers of a chat completion,
// failures included. The wait ends early when the request context is done.
func Delay(d time.Duration) Option {
	return func(c *config) { c.delay = d }
}

// ProbeDelay waits d before answering the probe endpoints (/v1/models,
// /api/tags, /api/show, /health), to test health-check timeouts.
func ProbeDelay(d time.Duration) Option {
	return func(c *config) { c.probeDelay = d }
}

// ChunkDelay waits d between the events of a streamed reply.
func ChunkDelay(d time.Duration) Option {
	return func(c *config) { c.chunkDelay = d }
}

// DropAfter makes a streamed reply close the TCP connection abruptly after n
// content events, without the final chunk or [DONE]. With n = 0 the
// connection is cut right after the response headers, before any event; with
// n >= 1 the role event and the first n content events are sent first. If n
// exceeds the number of content chunks, the cut comes after the last one.
// A negative n disables dropping (the default).
func DropAfter(n int) Option {
	return func(c *config) { c.dropAfter = n }
}

// StallAfter makes a streamed reply stop sending after n content events and
// hang, holding the connection open, until the client goes away (which counts
// in Canceled) or the backend stops. The points are those of DropAfter: n = 0
// stalls right after the headers, before any event. A negative n disables it
// (the default). If both are set, DropAfter wins at a point both name.
func StallAfter(n int) Option {
	return func(c *config) { c.stallAfter = n }
}

// Name sets the label of this backend (default "nexustest"). It is reported as
// system_fingerprint and nexustest_extra.backend in replies, in the
// X-Nexustest-Backend header of every response, and in error messages.
func Name(s string) Option {
	return func(c *config) { c.name = s }
}

// EchoPrompt makes the reply "You said: <text of the last user message>",
// streamed word by word. It overrides Reply, Stream and SetReply.
func EchoPrompt() Option {
	return func(c *config) { c.echo = true }
}

// Handler replaces the chat completions handler entirely, for fault tests.
// The request is still recorded and counted (ChatHits, InFlight, Canceled:
// a request whose context is done when h returns counts as cancelled), but
// Fail, Delay and the built-in reply are not applied. h must return when its
// request context is done, or Stop and Close wait for it.
func Handler(h http.HandlerFunc) Option {
	return func(c *config) { c.handler = h }
}

// ModelInfo sets what POST /api/show reports for model id: its context length
// (as "llama.context_length" in model_info) and capabilities. Without it a
// model reports context 4096 and capabilities ["completion"]; with no caps
// given it reports ["completion"]. ModelInfo does not add id to the served
// models; use Models for that.
func ModelInfo(id string, contextLength int, caps ...string) Option {
	return func(c *config) {
		if len(caps) == 0 {
			caps = []string{"completion"}
		}
		c.modelInfo[id] = modelInfo{contextLength: contextLength, caps: append([]string(nil), caps...)}
	}
}

// Addr sets the listen address (default "127.0.0.1:0", a free loopback port).
// nexus demo uses it to give its simulated backends fixed ports.
func Addr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// NoRecord turns off keeping request copies (Requests returns nothing), for
// load benchmarks where memory would grow without bound. Counters still work.
func NoRecord() Option {
	return func(c *config) { c.noRecord = true }
}

// content is the reply a backend currently gives.
type content struct {
	reply  string
	chunks []string
}

func newContent(c *config) *content {
	switch {
	case c.reply != nil && c.streamSet:
		return &content{reply: *c.reply, chunks: c.stream}
	case c.reply != nil:
		return &content{reply: *c.reply, chunks: splitWords(*c.reply)}
	case c.streamSet:
		return &content{reply: strings.Join(c.stream, ""), chunks: c.stream}
	default:
		return &content{reply: DefaultReply, chunks: splitWords(DefaultReply)}
	}
}

// splitWords cuts s before each word that follows whitespace, so that
// "Hello from x" becomes ["Hello", " from", " x"] and the parts join back to
// s. Only ASCII whitespace separates words, which keeps UTF-8 intact.
func splitWords(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if isSpaceByte(s[i]) || !isSpaceByte(s[i-1]) {
			continue
		}
		// A word begins at i; the whitespace run before it belongs to it.
		j := i
		for j > start && isSpaceByte(s[j-1]) {
			j--
		}
		if j > start {
			out = append(out, s[start:j])
			start = j
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}
