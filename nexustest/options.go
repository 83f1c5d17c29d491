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

	endpoints    []string // nil: all of allEndpoints
	served       map[string]bool
	toolCalls    []ToolCall
	toolPreamble string
	reasoning    string
	anthropic    bool
	apiKey       string
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

// Fail makes every request to an inference endpoint (chat, completions,
// embeddings, rerank, responses, messages; see Endpoints) answer status with
// an error envelope: OpenAI's (code = the status as a string) or, on the
// Messages routes and with Anthropic, Anthropic's. 429, 503 and 529 also
// carry Retry-After: 1. Unlike SetFail it leaves the probe endpoints healthy,
// which is what a test of request failover needs. Fail(0) means healthy.
func Fail(status int) Option {
	return func(c *config) { c.fail = status }
}

// Delay waits d before sending the response headers of every inference
// request, failures included. The wait ends early when the request context is done.
func Delay(d time.Duration) Option {
	return func(c *config) { c.delay = d }
}

// ProbeDelay waits d before answering the probe endpoints (/v1/models,
// /api/tags, /api/show, /health), to test health-check timeouts.
func ProbeDelay(d time.Duration) Option {
	return func(c *config) { c.probeDelay = d }
}

// ChunkDelay waits d between the events of a streamed reply, on every
// streaming endpoint.
func ChunkDelay(d time.Duration) Option {
	return func(c *config) { c.chunkDelay = d }
}

// DropAfter makes a streamed reply close the TCP connection abruptly after n
// content events, without the final events or [DONE]. Content events are
// those that carry a piece of the reply: text, reasoning and tool-call
// argument deltas (chat, completions, Responses output_text.delta, Messages
// content_block_delta). With n = 0 the connection is cut right after the
// response headers, before any event; with n >= 1 the opening events (chat's
// role event; Responses' created, in_progress, output_item.added and
// content_part.added; Messages' message_start, content_block_start and ping)
// and the first n content events are sent first. If n exceeds the number of
// content events, the cut comes after the last one (after the opening events
// when there is none). A negative n disables dropping (the default). It
// applies to every streaming endpoint.
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
// Other endpoints keep their built-in handlers. The request is still recorded
// and counted (ChatHits, InFlight, Canceled: a request whose context is done
// when h returns counts as cancelled), but Fail, Delay and the built-in reply
// are not applied. h must return when its
// request context is done, or Stop and Close wait for it.
func Handler(h http.HandlerFunc) Option {
	return func(c *config) { c.handler = h }
}

// ModelInfo sets what POST /api/show reports for model id: its context length
// (as "llama.context_length" in model_info) and its "capabilities" as Ollama
// 0.6 and later report them: "completion", "embedding", "insert" (fill in
// the middle), "vision", "tools", "thinking". Without ModelInfo a model
// reports context 4096 and capabilities ["completion"]; with no caps given it
// reports ["completion"]; ModelInfo(id, n, "embedding") declares an
// embedding-only model. It does not change what the OpenAI endpoints accept,
// and does not add id to the served models; use Models for that.
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

// Endpoint names for the Endpoints option.
const (
	EndpointChat        = "chat"        // POST /v1/chat/completions
	EndpointCompletions = "completions" // POST /v1/completions
	EndpointEmbeddings  = "embeddings"  // POST /v1/embeddings
	EndpointRerank      = "rerank"      // POST /v1/rerank
	EndpointResponses   = "responses"   // POST /v1/responses, GET and DELETE /v1/responses/{id}
	EndpointMessages    = "messages"    // POST /v1/messages and /v1/messages/count_tokens
)

// allEndpoints lists every endpoint name, in documentation order.
func allEndpoints() []string {
	return []string{EndpointChat, EndpointCompletions, EndpointEmbeddings, EndpointRerank, EndpointResponses, EndpointMessages}
}

// Endpoints sets the inference endpoints the backend serves, by name (the
// Endpoint* constants). The default is all six. A route of an endpoint not
// served answers 404 in OpenAI's envelope, like a server without that route;
// the probe routes (/v1/models, /api/tags, /api/show, /health) are always
// served. Endpoints() with no names serves only the probes. An unknown name
// makes Start fail.
func Endpoints(names ...string) Option {
	return func(c *config) { c.endpoints = append([]string{}, names...) }
}

// ToolCall is one tool call the backend makes (see ToolCalls).
type ToolCall struct {
	Name      string // function or tool name
	Arguments string // JSON text of the arguments, such as {"city":"Paris"}; "" means {}
}

// ToolCalls makes the backend call tools whenever a chat or Messages request
// carries a non-empty "tools" array; requests without tools get the normal
// reply. Chat answers finish_reason "tool_calls" with message.tool_calls
// [{id, type: "function", function{name, arguments}}] (streamed: per call
// one delta with index, id, type and name, then the arguments in pieces of
// at most 8 bytes, as vLLM and OpenAI stream them); Messages answers
// tool_use blocks with stop_reason "tool_use" (streamed as input_json_delta
// partial_json pieces). The reply text is replaced by ToolPreamble's.
func ToolCalls(calls ...ToolCall) Option {
	return func(c *config) { c.toolCalls = append([]ToolCall(nil), calls...) }
}

// ToolPreamble sets text sent before the tool calls of ToolCalls (default
// none: a chat message with tool calls then has content null and a Messages
// reply has no text block), to test "text, then tool calls".
func ToolPreamble(text string) Option {
	return func(c *config) { c.toolPreamble = text }
}

// Reasoning makes replies carry reasoning before the content: chat replies a
// "reasoning_content" field (vLLM style) in the message, and streamed, in
// deltas (word by word) before the content deltas; Messages replies a
// "thinking" block first, with a "signature" (streamed as thinking_delta
// pieces and one signature_delta). Other endpoints ignore it. "" (the
// default) means no reasoning.
func Reasoning(text string) Option {
	return func(c *config) { c.reasoning = text }
}

// Anthropic makes the backend behave like Anthropic's API, for a gateway
// backend of type "anthropic": it serves only POST /v1/messages and
// /v1/messages/count_tokens (whatever Endpoints says) and GET /v1/models and
// /v1/models/{id} in Anthropic's shape; every other route answers 404. Every
// request must carry an anthropic-version header (400 otherwise) and, with
// APIKey, an x-api-key header equal to the key (401 otherwise). Every error
// uses Anthropic's envelope {"type":"error","error":{"type","message"}}.
func Anthropic() Option {
	return func(c *config) { c.anthropic = true }
}

// APIKey makes every /v1/ route require the key, compared in constant time:
// as "Authorization: Bearer <key>" on the OpenAI routes; as that or as
// "x-api-key: <key>" on the Messages routes; only as x-api-key with
// Anthropic. A missing or wrong key answers 401 (OpenAI: type
// invalid_request_error, code invalid_api_key; Anthropic:
// authentication_error). The Ollama and llama.cpp routes stay open. ""
// (the default) turns the check off.
func APIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}
