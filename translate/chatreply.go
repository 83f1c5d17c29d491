package translate

import (
	"strings"
	"time"
)

// ChatReply translates an Anthropic Messages reply, plain or streamed,
// into a chat completions reply for a client that asked for model. One
// value serves one request; it is not safe for concurrent use.
type ChatReply struct {
	model   string
	opt     ReplyOptions
	created int64 // the created member of every object: the construction time
	s       chatStream
}

// NewChatReply returns the translator of one reply; model is the model the
// client asked for, which the reply names.
func NewChatReply(model string, opt ReplyOptions) *ChatReply {
	return &ChatReply{model: model, opt: opt, created: time.Now().Unix()}
}

// msgReplyIn is a Messages reply as a backend sends it.
type msgReplyIn struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Content    []msgBlock  `json:"content"`
	StopReason *string     `json:"stop_reason"`
	Usage      *msgUsageIn `json:"usage"`
}

// msgUsageIn is usage as a backend reports it; nil counts are absent.
type msgUsageIn struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// merge takes the counts u reports into dst.
func (u *msgUsageIn) merge(dst *msgUsage) {
	set := func(d *int64, s *int64) {
		if s != nil {
			*d = *s
		}
	}
	set(&dst.InputTokens, u.InputTokens)
	set(&dst.OutputTokens, u.OutputTokens)
	set(&dst.CacheCreationInputTokens, u.CacheCreationInputTokens)
	set(&dst.CacheReadInputTokens, u.CacheReadInputTokens)
}

// chatUsageOf maps Messages usage to chat usage: prompt tokens include
// cache reads and writes.
func chatUsageOf(u msgUsage) chatUsage {
	prompt := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	c := chatUsage{PromptTokens: prompt, CompletionTokens: u.OutputTokens, TotalTokens: prompt + u.OutputTokens}
	c.PromptTokensDetails = &struct {
		CachedTokens int64 `json:"cached_tokens"`
	}{u.CacheReadInputTokens}
	return c
}

// chatID is the chat id of a reply with Messages id id.
func chatID(id string) string {
	if id == "" {
		return randomID("chatcmpl-")
	}
	return "chatcmpl-" + strings.TrimPrefix(id, "msg_")
}

type chatReplyOut struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []chatChoiceOut `json:"choices"`
	Usage   *chatUsage      `json:"usage,omitempty"`
}

type chatChoiceOut struct {
	Index        int            `json:"index"`
	Message      chatMessageOut `json:"message"`
	Logprobs     *struct{}      `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
}

type chatMessageOut struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []chatToolCall `json:"tool_calls,omitempty"`
}

// Reply converts a whole Messages reply into a chat.completion: text
// blocks joined as content (null when there is none), thinking blocks as
// reasoning_content, tool_use blocks as tool_calls with the input as the
// arguments string; the stop reason and usage mapped.
func (r *ChatReply) Reply(body []byte) ([]byte, error) {
	var in msgReplyIn
	if err := decodeLenient(body, &in); err != nil {
		return nil, err
	}
	if in.Type == "error" {
		return nil, errUpstream
	}
	var text, thinking strings.Builder
	msg := chatMessageOut{Role: "assistant"}
	for _, b := range in.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			if b.Thinking != nil {
				thinking.WriteString(*b.Thinking)
			}
		case "tool_use":
			msg.ToolCalls = append(msg.ToolCalls, chatToolCall{ID: b.ID, Type: "function",
				Function: chatFunctionCall{Name: b.Name, Arguments: string(appendCompact(nil, b.Input))}})
		}
	}
	if text.Len() > 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = thinking.String()
	stop := ""
	if in.StopReason != nil {
		stop = *in.StopReason
	}
	var u msgUsage
	if in.Usage != nil {
		in.Usage.merge(&u)
	}
	cu := chatUsageOf(u)
	out := chatReplyOut{ID: chatID(in.ID), Object: "chat.completion", Created: r.created, Model: r.model,
		Choices: []chatChoiceOut{{Message: msg, FinishReason: finishReason(stop)}}, Usage: &cu}
	return marshal(&out)
}
