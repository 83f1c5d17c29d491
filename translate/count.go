package translate

import "encoding/json"

// mediaTokens is the estimate for one image or document: Anthropic's
// figure for an image of about 1.15 megapixels, the size clients scale
// images to.
const mediaTokens = 1600

// CountTokens estimates the input tokens of a Messages request (the body
// of /v1/messages/count_tokens or of /v1/messages) for a backend that
// cannot count them: the bytes of all text the model reads — system,
// message text, thinking, tool_use names and inputs, tool_result text, and
// the tools' names, descriptions and schemas — divided by four and rounded
// up, plus 1600 per image or document. It validates the request as
// MessagesRequestToChat does, so a request it accepts translates.
func CountTokens(body []byte) (int, error) {
	if _, err := MessagesRequestToChat(body, RequestOptions{}); err != nil {
		return 0, err
	}
	var in msgRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, decodeError("", err)
	}
	var c counter
	if sys, err := systemText("system", in.System); err == nil {
		c.text += len(sys)
	}
	for _, raw := range in.Messages {
		var m msgMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		c.content(m.Content)
	}
	for _, raw := range in.Tools {
		var t msgTool
		if json.Unmarshal(raw, &t) != nil || (t.Type != "" && t.Type != "custom") {
			continue
		}
		c.text += len(t.Name) + len(t.Description) + len(t.InputSchema)
	}
	return (c.text+3)/4 + c.media*mediaTokens, nil
}

// counter sums text bytes and media blocks.
type counter struct {
	text, media int
}

// content counts content: a string or blocks.
func (c *counter) content(raw json.RawMessage) {
	if isString(raw) {
		var s string
		_ = json.Unmarshal(raw, &s)
		c.text += len(s)
		return
	}
	blocks, err := decodeBlocks("", raw)
	if err != nil {
		return
	}
	for _, b := range blocks {
		switch b.Type {
		case "text":
			c.text += len(b.Text)
		case "image", "document":
			c.media++
		case "thinking":
			if b.Thinking != nil {
				c.text += len(*b.Thinking)
			}
		case "tool_use":
			c.text += len(b.Name) + len(b.Input)
		case "tool_result":
			c.content(b.Content)
		}
	}
}
