package nexus

import (
	"encoding/json"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/translate"
)

// Translations between the Anthropic Messages API and OpenAI chat
// completions (package translate does the work), both ways:
// messagesThroughChat lets a chat-only backend serve /v1/messages (Claude
// Code on a self-hosted fleet); chatThroughMessages lets an Anthropic-API
// backend serve /v1/chat/completions.
var (
	messagesThroughChat = &translation{
		backend: registry.EndpointChat,
		dialect: proxy.DialectChat,
		request: func(body []byte, model string, c *call) ([]byte, error) {
			out, err := translate.MessagesRequestToChat(body, translate.RequestOptions{TopK: takesTopK(c.att.Backend.Type)})
			if err != nil {
				return nil, err
			}
			return openai.WithModel(out, model), nil
		},
		reply: func(c *call) proxy.Translator { return translate.NewMessagesReply(c.req.Model) },
	}
	chatThroughMessages = &translation{
		backend: registry.EndpointMessages,
		dialect: proxy.DialectAnthropic,
		request: func(body []byte, model string, c *call) ([]byte, error) {
			out, err := translate.ChatRequestToMessages(body, translate.RequestOptions{
				NoSampling: translate.SamplingRemoved(anthropicVersion(c)),
			})
			if err != nil {
				return nil, err
			}
			return openai.WithModel(out, model), nil
		},
		reply: func(c *call) proxy.Translator {
			return translate.NewChatReply(c.req.Model, translate.ReplyOptions{IncludeUsage: c.req.IncludeUsage})
		},
	}
)

// anthropicVersion is the anthropic-version the gateway sends an
// Anthropic-API backend for c: the client's, or defaultAnthropicVersion.
// Under 2026-10-21 and later, chat requests lose temperature, top_p and
// top_k on the way (that version has none of them); under the default
// 2023-06-01 they pass.
func anthropicVersion(c *call) string {
	if v := c.r.Header.Get("Anthropic-Version"); v != "" {
		return v
	}
	return defaultAnthropicVersion
}

// takesTopK reports whether a chat backend of type t accepts top_k (the
// open engines do; OpenAI's API does not).
func takesTopK(t registry.Type) bool {
	switch t {
	case registry.TypeVLLM, registry.TypeSGLang, registry.TypeLlamaCpp, registry.TypeLMStudio, registry.TypeOllama:
		return true
	}
	return false
}

// estimateTokens answers /v1/messages/count_tokens at the gateway for a
// backend that cannot count: translate.CountTokens estimates from the
// request's text (see its documentation).
func estimateTokens(c *call) ([]byte, error) {
	n, err := translate.CountTokens(c.body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		InputTokens int `json:"input_tokens"`
	}{n})
}
