package translate

import (
	"encoding/json"
	"strings"
)

// MessagesRequestToChat translates an Anthropic Messages request into an
// OpenAI chat completions request for a backend described by opt.
//
// system (a string or text blocks; cache_control ignored) becomes the
// first system message; role "system" messages inside messages are added
// to it, after a blank line each, or with opt.SystemInPlace stay system
// messages where they are. Text and image blocks become content parts (a base64 image a
// data: URL); tool_use blocks tool_calls with the input as a JSON string;
// tool_result blocks role "tool" messages placed before the rest of their
// user message. stop_sequences become stop; max_tokens, temperature, top_p
// pass; top_k only with opt.TopK; metadata.user_id becomes user; thinking
// is passed as opt.Thinking says; stream asks for the usage chunk too.
// Members chat has no use for are dropped. A malformed request is a
// *RequestError.
func MessagesRequestToChat(body []byte, opt RequestOptions) ([]byte, error) {
	var in msgRequest
	if err := decode("", body, &in); err != nil {
		return nil, err
	}
	if in.Messages == nil {
		return nil, badParam("messages", "field required")
	}
	out := chatRequest{
		Model:       in.Model,
		Messages:    make([]chatMessage, 0, len(in.Messages)+1),
		MaxTokens:   in.MaxTokens,
		Stop:        in.StopSequences,
		Temperature: in.Temperature,
		TopP:        in.TopP,
		Stream:      in.Stream,
	}
	if opt.TopK {
		out.TopK = in.TopK
	}
	if in.Metadata != nil && in.Metadata.UserID != nil {
		out.User = *in.Metadata.UserID
	}
	if in.Stream {
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	system, err := systemText("system", in.System)
	if err != nil {
		return nil, err
	}
	out.Messages = append(out.Messages, chatMessage{Role: "system"}) // its content is set below
	for i, raw := range in.Messages {
		if out.Messages, err = appendMessage(out.Messages, index("messages", i), raw); err != nil {
			return nil, err
		}
	}
	if !opt.SystemInPlace {
		system = hoistSystem(out.Messages[1:], system)
		kept := out.Messages[:1]
		for _, m := range out.Messages[1:] {
			if m.Role != "system" {
				kept = append(kept, m)
			}
		}
		out.Messages = kept
	}
	if system == "" {
		out.Messages = out.Messages[1:]
	} else {
		out.Messages[0].Content = system
	}
	if err := translateTools(&out, &in); err != nil {
		return nil, err
	}
	thinkingToChat(&out, &in, opt.Thinking)
	return marshal(&out)
}

// systemText joins a system member (a string or text blocks) into one
// string.
func systemText(path string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if isString(raw) {
		var s string
		return s, decode(path, raw, &s)
	}
	blocks, err := decodeBlocks(path, raw)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, bl := range blocks {
		if bl.Type != "text" {
			return "", badParam(index(path, i)+".type", "want text, got %q", bl.Type)
		}
		if bl.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(bl.Text)
	}
	return b.String(), nil
}

// hoistSystem returns system followed by the text of msgs' system
// messages, each after a blank line.
func hoistSystem(msgs []chatMessage, system string) string {
	for _, m := range msgs {
		text, _ := m.Content.(string)
		if m.Role != "system" || text == "" {
			continue
		}
		if system != "" {
			system += "\n\n"
		}
		system += text
	}
	return system
}

// appendMessage appends the chat messages made of one Messages message.
func appendMessage(dst []chatMessage, path string, raw json.RawMessage) ([]chatMessage, error) {
	var m msgMessage
	if err := decode(path, raw, &m); err != nil {
		return nil, err
	}
	cpath := join(path, "content")
	if m.Role == "system" {
		s, err := systemText(cpath, m.Content)
		if err != nil {
			return nil, err
		}
		return append(dst, chatMessage{Role: "system", Content: s}), nil
	}
	if m.Role != "user" && m.Role != "assistant" {
		return nil, badParam(join(path, "role"), "want user, assistant or system, got %q", m.Role)
	}
	if isNull(m.Content) {
		return nil, badParam(cpath, "field required")
	}
	if isString(m.Content) {
		var s string
		if err := decode(cpath, m.Content, &s); err != nil {
			return nil, err
		}
		return append(dst, chatMessage{Role: m.Role, Content: s}), nil
	}
	blocks, err := decodeBlocks(cpath, m.Content)
	if err != nil {
		return nil, err
	}
	if m.Role == "assistant" {
		return appendAssistant(dst, cpath, blocks)
	}
	return appendUser(dst, cpath, blocks)
}

// appendAssistant turns assistant blocks into one assistant message: text
// joined, tool_use blocks as tool calls; thinking and blocks of other
// types dropped. A message left empty is dropped.
func appendAssistant(dst []chatMessage, path string, blocks []msgBlock) ([]chatMessage, error) {
	var text strings.Builder
	var calls []chatToolCall
	for i, bl := range blocks {
		switch bl.Type {
		case "text":
			if bl.Text == "" {
				continue
			}
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(bl.Text)
		case "tool_use":
			if bl.ID == "" || bl.Name == "" {
				return nil, badParam(index(path, i), "tool_use needs id and name")
			}
			calls = append(calls, chatToolCall{ID: bl.ID, Type: "function",
				Function: chatFunctionCall{Name: bl.Name, Arguments: string(appendCompact(nil, bl.Input))}})
		}
	}
	if text.Len() == 0 && len(calls) == 0 {
		return dst, nil
	}
	msg := chatMessage{Role: "assistant", ToolCalls: calls}
	if text.Len() > 0 {
		msg.Content = text.String()
	}
	return append(dst, msg), nil
}

// appendUser turns user blocks into role tool messages, one per
// tool_result, followed by one user message with the rest.
func appendUser(dst []chatMessage, path string, blocks []msgBlock) ([]chatMessage, error) {
	var parts []chatPart
	for i, bl := range blocks {
		bpath := index(path, i)
		switch bl.Type {
		case "text":
			if bl.Text != "" {
				parts = append(parts, chatPart{Type: "text", Text: bl.Text})
			}
		case "image", "document":
			p, err := mediaPart(bpath, bl)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		case "tool_result":
			if bl.ToolUseID == "" {
				return nil, badParam(join(bpath, "tool_use_id"), "field required")
			}
			text, images, err := toolResultContent(join(bpath, "content"), bl.Content)
			if err != nil {
				return nil, err
			}
			if bl.IsError {
				text = "Error: " + text
			}
			dst = append(dst, chatMessage{Role: "tool", ToolCallID: bl.ToolUseID, Content: text})
			parts = append(parts, images...)
		}
	}
	switch {
	case len(parts) == 0:
		return dst, nil
	case len(parts) == 1 && parts[0].Type == "text":
		return append(dst, chatMessage{Role: "user", Content: parts[0].Text}), nil
	}
	return append(dst, chatMessage{Role: "user", Content: parts}), nil
}

// mediaPart turns an image or document block into a content part: images
// as image_url (base64 as a data: URL), PDFs as a file part, plain text
// documents as text.
func mediaPart(path string, bl msgBlock) (chatPart, error) {
	src := bl.Source
	if src == nil {
		return chatPart{}, badParam(join(path, "source"), "field required")
	}
	switch {
	case bl.Type == "image" && src.Type == "base64":
		if src.MediaType == "" || src.Data == "" {
			return chatPart{}, badParam(join(path, "source"), "base64 source needs media_type and data")
		}
		return chatPart{Type: "image_url", ImageURL: &chatImageURL{URL: "data:" + src.MediaType + ";base64," + src.Data}}, nil
	case bl.Type == "image" && src.Type == "url":
		if src.URL == "" {
			return chatPart{}, badParam(join(path, "source.url"), "field required")
		}
		return chatPart{Type: "image_url", ImageURL: &chatImageURL{URL: src.URL}}, nil
	case bl.Type == "document" && src.Type == "text":
		return chatPart{Type: "text", Text: src.Data}, nil
	case bl.Type == "document" && src.Type == "base64" && src.Data != "":
		mt := src.MediaType
		if mt == "" {
			mt = "application/pdf"
		}
		return chatPart{Type: "file", File: &chatFile{Filename: "document.pdf", FileData: "data:" + mt + ";base64," + src.Data}}, nil
	}
	return chatPart{}, badParam(join(path, "source.type"), "%s source %q cannot be sent to a chat completions backend", bl.Type, src.Type)
}

// toolResultContent splits the content of a tool_result (a string or
// blocks) into its text, lines joined, and its images.
func toolResultContent(path string, raw json.RawMessage) (string, []chatPart, error) {
	if isNull(raw) {
		return "", nil, nil
	}
	if isString(raw) {
		var s string
		return s, nil, decode(path, raw, &s)
	}
	blocks, err := decodeBlocks(path, raw)
	if err != nil {
		return "", nil, err
	}
	var text strings.Builder
	var images []chatPart
	for i, bl := range blocks {
		switch bl.Type {
		case "text":
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(bl.Text)
		case "image", "document":
			p, err := mediaPart(index(path, i), bl)
			if err != nil {
				return "", nil, err
			}
			images = append(images, p)
		}
	}
	return text.String(), images, nil
}

// knownBlocks are the block types translation reads; blocks of other types
// are dropped, whatever their members.
var knownBlocks = map[string]bool{"text": true, "image": true, "document": true, "tool_use": true, "tool_result": true, "thinking": true}

// decodeBlocks decodes an array of content blocks. A block of a type
// translation does not read may have members of any shape; a known block
// with a member of the wrong type is an error naming it.
func decodeBlocks(path string, raw json.RawMessage) ([]msgBlock, error) {
	var blocks []msgBlock
	err := json.Unmarshal(raw, &blocks)
	if err == nil {
		return blocks, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, decodeError(path, err)
	}
	blocks = blocks[:0]
	for i, e := range elems {
		var b msgBlock
		if err := json.Unmarshal(e, &b); err != nil {
			var typ struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(e, &typ) == nil && !knownBlocks[typ.Type] {
				continue
			}
			return nil, decodeError(index(path, i), err)
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}
