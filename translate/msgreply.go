package translate

import (
	"encoding/json"
	"errors"
	"strings"
)

// MessagesReply translates a chat completions reply, plain or streamed,
// into an Anthropic Messages reply for a client that asked for model. One
// value serves one request; it is not safe for concurrent use.
type MessagesReply struct {
	model string
	s     msgStream
}

// NewMessagesReply returns the translator of one reply; model is the model
// the client asked for, which the reply names.
func NewMessagesReply(model string) *MessagesReply {
	return &MessagesReply{model: model}
}

// errUpstream is returned for a reply that is an error envelope.
var errUpstream = errors.New("translate: the backend's reply is an error")

// Reply converts a whole chat.completion body into a Messages reply: the
// id msg_ + the chat id, reasoning as a first thinking block (signature
// ""), then the text, refusal text and one tool_use block per tool call
// (arguments that are not a JSON object kept as described in the package
// doc); the stop reason and usage mapped.
func (r *MessagesReply) Reply(body []byte) ([]byte, error) {
	var in chatReplyBody
	if err := decodeLenient(body, &in); err != nil {
		return nil, err
	}
	if !isNull(in.Error) {
		return nil, errUpstream
	}
	out := msgReply{ID: messageID(in.ID), Type: "message", Role: "assistant", Model: r.model, Content: []msgBlock{}}
	finish := ""
	var vllmStop json.RawMessage
	var tools bool
	if len(in.Choices) > 0 {
		c := &in.Choices[0]
		m := &c.Message
		if c.FinishReason != nil {
			finish = *c.FinishReason
		}
		vllmStop = c.StopReason
		if th := m.reasoning(); th != "" {
			sig := ""
			out.Content = append(out.Content, msgBlock{Type: "thinking", Thinking: &th, Signature: &sig})
		}
		var text strings.Builder
		if m.Content != nil {
			text.WriteString(*m.Content)
		}
		if m.Refusal != nil && *m.Refusal != "" {
			text.WriteString(*m.Refusal)
		}
		if text.Len() > 0 {
			out.Content = append(out.Content, msgBlock{Type: "text", Text: text.String()})
		}
		for _, tc := range m.ToolCalls {
			tools = true
			id := tc.ID
			if id == "" {
				id = randomID("toolu_")
			}
			args := strings.TrimSpace(tc.Function.Arguments)
			input := json.RawMessage(args)
			if args == "" || args[0] != '{' || !json.Valid(input) {
				input = wrapArguments(tc.Function.Arguments)
			}
			out.Content = append(out.Content, msgBlock{Type: "tool_use", ID: id, Name: tc.Function.Name, Input: input})
		}
	}
	reason, seq := stopReason(finish, vllmStop, tools)
	out.StopReason, out.StopSequence = &reason, seq
	if in.Usage != nil {
		out.Usage = messagesUsage(in.Usage)
	}
	return marshal(&out)
}

// messageID is the Messages id of a reply with chat id id.
func messageID(id string) string {
	if id == "" {
		return randomID("msg_")
	}
	return "msg_" + id
}

// messagesUsage maps chat usage, whose prompt tokens include cache reads,
// to Messages usage, whose input tokens do not.
func messagesUsage(u *chatUsage) msgUsage {
	cached := min(max(u.cached(), 0), max(u.PromptTokens, 0))
	return msgUsage{
		InputTokens:          u.PromptTokens - cached,
		OutputTokens:         u.CompletionTokens,
		CacheReadInputTokens: cached,
	}
}
