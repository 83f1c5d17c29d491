package translate

import "github.com/nexusllm/nexus/internal/openai"

// RequestError is a client error found while translating a request: the
// gateway answers it with 400 invalid_request_error naming Param.
type RequestError = openai.RequestError

// ThinkingControl says how a chat backend is asked to think.
type ThinkingControl int

const (
	// ThinkingReasoningEffort sends reasoning_effort "low", "medium" or
	// "high" (OpenAI, Ollama, vLLM and SGLang accept it). There is no value
	// every backend takes for "off", so disabled thinking sends nothing.
	ThinkingReasoningEffort ThinkingControl = iota
	// ThinkingTemplateKwargs sends chat_template_kwargs {"enable_thinking":
	// true|false}, which the Qwen3, DeepSeek and GLM templates of vLLM,
	// SGLang and llama.cpp read. Only for backends that accept the member.
	ThinkingTemplateKwargs
	// ThinkingOmit sends nothing about thinking.
	ThinkingOmit
)

// RequestOptions are what request translation needs to know about the
// backend. The zero value suits an OpenAI-compatible backend that accepts
// reasoning_effort but not top_k, whose chat template wants one system
// message first, and an Anthropic backend on API version 2023-06-01.
type RequestOptions struct {
	// TopK passes Anthropic's top_k on to a chat backend (vLLM, SGLang,
	// llama.cpp take it; OpenAI rejects it). False drops it.
	TopK bool
	// Thinking chooses how Anthropic's thinking setting reaches a chat
	// backend. The zero value is ThinkingReasoningEffort.
	Thinking ThinkingControl
	// DefaultMaxTokens is the max_tokens of a Messages request made from a
	// chat request that has neither max_tokens nor max_completion_tokens
	// (Anthropic requires one). Zero means 4096.
	DefaultMaxTokens int
	// SystemInPlace keeps Messages' role "system" messages where they are
	// in the conversation, as chat system messages. False (the default)
	// moves their text to the end of the leading system message: the chat
	// templates of Qwen, Mistral, Gemma and others reject a system message
	// that is not first ("System message must be at the beginning"), so a
	// conversation from Claude Code, which sends such messages, would fail
	// on them. Set it for backends known to take system messages anywhere
	// (OpenAI's API).
	SystemInPlace bool
	// NoSampling drops temperature, top_p and top_k from a Messages
	// request made from a chat request: Anthropic API version 2026-10-21
	// removed them, so a backend asked with that version rejects them.
	// False passes them (version 2023-06-01). See SamplingRemoved.
	NoSampling bool
}

// samplingRemovedSince is the first Anthropic API version without
// temperature, top_p and top_k.
const samplingRemovedSince = "2026-10-21"

// SamplingRemoved reports whether Anthropic API version v (an
// anthropic-version header value, YYYY-MM-DD) no longer has temperature,
// top_p and top_k; "" (the default, 2023-06-01) and values that are not a
// date report false.
func SamplingRemoved(v string) bool {
	if len(v) != len(samplingRemovedSince) || v[4] != '-' || v[7] != '-' {
		return false
	}
	return v >= samplingRemovedSince
}

// ReplyOptions are what reply translation needs to know about the client's
// request.
type ReplyOptions struct {
	// IncludeUsage adds, to a chat stream, the final chunk with empty
	// choices and the usage, as for stream_options.include_usage. False
	// sends no usage chunk.
	IncludeUsage bool
}

// defaultMaxTokens is the max_tokens used when neither the request nor
// the options give one.
const defaultMaxTokens = 4096
