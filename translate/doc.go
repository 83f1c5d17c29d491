// Package translate converts between the Anthropic Messages API and the
// OpenAI chat completions API, requests and replies, plain and streamed, in
// both directions:
//
//   - inbound: an Anthropic client calls POST /v1/messages and the backend
//     speaks only chat: MessagesRequestToChat for the request, a
//     MessagesReply for the reply;
//   - outbound: an OpenAI client calls POST /v1/chat/completions and the
//     backend is an Anthropic-API cloud: ChatRequestToMessages for the
//     request, a ChatReply for the reply.
//
// Request translation decodes the client's body and writes a new one; a
// malformed or untranslatable request is a *RequestError naming the member,
// which the gateway answers with 400. Unknown members are dropped without
// an error, never passed to a backend that would reject them.
//
// Decisions a reader cannot guess from the two specifications:
//
//   - Anthropic tools whose type is neither missing nor "custom" (server
//     tools such as web_search_*, code_execution_*, and Anthropic-schema
//     client tools such as bash_*, text_editor_*, computer_*) are dropped:
//     a chat backend can neither run them nor knows their schema. A
//     tool_choice that names a dropped tool is dropped with it.
//   - role "system" messages inside messages (Claude Code sends them; a
//     beta in API version 2023-06-01, plain API in 2026-10-21) are moved
//     into the leading system message by default, because most open
//     models' chat templates (Qwen, Mistral, Gemma) reject a system
//     message that is not first; RequestOptions.SystemInPlace keeps them
//     where they are.
//   - Under Anthropic API version 2026-10-21, which has no temperature,
//     top_p or top_k, a chat request translated for an Anthropic backend
//     loses them (RequestOptions.NoSampling, SamplingRemoved); the gateway
//     sends 2023-06-01 unless the client asked for another version.
//   - Assistant thinking and redacted_thinking blocks are dropped: chat
//     backends have no field that takes them back reliably.
//   - A tool_result with is_error true becomes a tool message whose text is
//     prefixed "Error: ", chat having no error flag. Images inside a
//     tool_result move to the user message that follows the tool messages,
//     chat tool messages carrying only text.
//   - Chat replies' tool call arguments that are not a JSON object become
//     the input {"_raw_arguments": "<the arguments>"} in a plain reply, so
//     the text is kept and the client's schema check reports it to the
//     model; empty arguments become {}. Streams pass argument pieces on as
//     they come.
//   - Anthropic's input_tokens excludes cache reads while chat's
//     prompt_tokens includes them: input_tokens = prompt_tokens -
//     cached_tokens and cache_read_input_tokens = cached_tokens, and back.
//   - Streamed chat tool calls open one tool_use block each, in order of
//     first appearance. A tool call that starts while another is still
//     open and incomplete (its arguments not yet a whole JSON value) is
//     buffered and opened when the open one completes, so blocks never
//     interleave.
package translate
