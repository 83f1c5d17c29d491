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
// reasoning_effort but not top_k.
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
