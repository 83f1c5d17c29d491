// Package nexustest runs a fake LLM inference server on loopback for tests,
// demos and examples.
//
// One Backend speaks every dialect Nexus talks to, on one port, so a backend
// of any type can point at it. Its inference endpoints (all six by default;
// see Endpoints) are:
//
//   - POST /v1/chat/completions: an OpenAI chat completion, plain JSON or
//     server-sent events (role event, content deltas, finish event, a usage
//     chunk when stream_options.include_usage, data: [DONE]). With Reasoning
//     the message and deltas carry reasoning_content first; with ToolCalls and
//     a request carrying tools, it answers finish_reason "tool_calls".
//   - POST /v1/completions: a legacy text_completion, plain or streamed the
//     same way. A request with a non-empty "suffix" (fill in the middle) gets
//     " [suffix: <suffix>]" appended to the reply, so a test can tell it was
//     served as such.
//   - POST /v1/embeddings: one unit-length vector per input (a string, strings,
//     tokens or token arrays), computed by Embedding: 8 dimensions unless
//     "dimensions" says otherwise, floats or, with encoding_format "base64",
//     little-endian float32 in base64.
//   - POST /v1/rerank: vLLM's rerank reply: results sorted by RelevanceScore
//     (word overlap with the query), cut to top_n, with the document unless
//     return_documents is false.
//   - POST /v1/responses: an OpenAI Response with one output_text message,
//     plain or streamed as the typed events of the Responses API
//     (response.created … response.completed, each with its sequence_number,
//     no [DONE]). Responses are stored unless "store" is false:
//     GET /v1/responses/{id} returns one, DELETE deletes it, an unknown id
//     answers 404 and an unknown previous_response_id answers 400
//     previous_response_not_found (see ResponseIDs).
//   - POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages
//     API, plain or streamed with Anthropic's event sequence (message_start,
//     content_block_start, ping, content_block_delta…, content_block_stop,
//     message_delta with usage, message_stop); max_tokens (required, counted
//     in content chunks) and stop_sequences are honoured; errors use
//     Anthropic's envelope. Any query, such as ?beta=true, is accepted.
//
// Its probe routes are always on: GET /v1/models and /v1/models/{id}
// (OpenAI's shape, or Anthropic's with the Anthropic option), GET /api/tags
// and POST /api/show (Ollama, with "capabilities"; see ModelInfo), and
// GET /health (llama.cpp).
//
// Errors use OpenAI's envelope {"error":{"message","type","param","code"}},
// except on the Messages routes and with Anthropic, which use Anthropic's
// {"type":"error","error":{"type","message"}}. A route of an endpoint that is
// not served answers 404.
//
// Its behaviour is set with options — content: Models, Reply, Stream, Usage,
// EchoPrompt, Reasoning, ToolCalls, ToolPreamble; faults, on every inference
// endpoint: Fail, Delay, ChunkDelay, DropAfter, StallAfter, Handler (chat
// only), ProbeDelay; shape: Endpoints, Anthropic, APIKey, ModelInfo, Name,
// Addr, NoRecord — and can be changed while requests run (SetFail,
// SetInferenceFail, SetModels, SetDelay, SetProbeDelay, SetReply, Stop,
// Restart). Everything it receives is recorded for assertions (Requests,
// with method, path, query, headers and body; Hits, ChatHits, InFlight,
// Canceled, WaitCanceled, ResponseIDs).
//
// Token counts are estimates a test can predict: prompt tokens are a quarter
// of the bytes of the prompt text (at least 1; 1 per token of token input),
// completion tokens are the number of content pieces (words of the reply,
// reasoning and 8-byte pieces of tool-call arguments), unless Usage fixes
// them.
//
// The package mirrors net/http/httptest in spirit: NewBackend starts a server
// bound to a testing.TB and closes it when the test ends; Start does the same
// for programs such as `nexus demo` and the examples. It imports only the
// standard library, so embedders can use it in their own tests without pulling
// in the rest of Nexus.
package nexustest
