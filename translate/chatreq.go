package translate

import (
	"encoding/json"
	"strings"
)

// chatIn is a chat request as a client sends it.
type chatIn struct {
	Model               string            `json:"model"`
	Messages            []json.RawMessage `json:"messages"`
	MaxTokens           *int64            `json:"max_tokens"`
	MaxCompletionTokens *int64            `json:"max_completion_tokens"`
	Stop                json.RawMessage   `json:"stop"`
	Temperature         *float64          `json:"temperature"`
	TopP                *float64          `json:"top_p"`
	TopK                *int64            `json:"top_k"`
	User                string            `json:"user"`
	Tools               []json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls"`
	ReasoningEffort     string            `json:"reasoning_effort"`
	Stream              bool              `json:"stream"`
	N                   *int              `json:"n"`
}

// chatInMessage is one message of a chat request.
type chatInMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// chatInPart is a content part of a chat request.
type chatInPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// messagesOut is a Messages request as translation writes it.
type messagesOut struct {
	Model         string            `json:"model"`
	MaxTokens     int64             `json:"max_tokens"`
	System        string            `json:"system,omitempty"`
	Messages      []messageOut      `json:"messages"`
	StopSequences []string          `json:"stop_sequences,omitempty"`
	Temperature   *float64          `json:"temperature,omitempty"`
	TopP          *float64          `json:"top_p,omitempty"`
	TopK          *int64            `json:"top_k,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Tools         []msgTool         `json:"tools,omitempty"`
	ToolChoice    *msgToolChoice    `json:"tool_choice,omitempty"`
	Thinking      *msgThinking      `json:"thinking,omitempty"`
	Stream        bool              `json:"stream,omitempty"`
}

type messageOut struct {
	Role    string     `json:"role"`
	Content []msgBlock `json:"content"`
}

// ChatRequestToMessages translates an OpenAI chat completions request into
// an Anthropic Messages request.
//
// system and developer messages, wherever they are, are joined into
// system; consecutive messages of one role are merged (tool messages into
// one user message of tool_result blocks). image_url parts become image
// blocks (a data: URL a base64 source, another URL a url source); assistant
// tool_calls tool_use blocks with the arguments parsed. stop becomes
// stop_sequences; max_completion_tokens or max_tokens max_tokens (else
// opt.DefaultMaxTokens); temperature is clamped to Anthropic's 0–1 and
// wins over top_p (current Claude models refuse both); user becomes
// metadata.user_id; reasoning_effort enables thinking with a budget (low
// 2048, medium 8192, high 24576 tokens, at most half of max_tokens, off
// below Anthropic's minimum of 1024; none or minimal: off), and then
// temperature, top_p and top_k, which Anthropic rejects with thinking, are
// dropped. With opt.NoSampling (Anthropic API version 2026-10-21)
// temperature, top_p and top_k are always dropped. n above 1 and
// unsupported content parts are a *RequestError.
func ChatRequestToMessages(body []byte, opt RequestOptions) ([]byte, error) {
	var in chatIn
	if err := decode("", body, &in); err != nil {
		return nil, err
	}
	if len(in.Messages) == 0 {
		return nil, badParam("messages", "field required")
	}
	if in.N != nil && *in.N > 1 {
		return nil, badParam("n", "only 1 choice is supported by this backend")
	}
	out := messagesOut{Model: in.Model, Stream: in.Stream, TopK: in.TopK, TopP: in.TopP, Temperature: in.Temperature}
	switch {
	case in.MaxCompletionTokens != nil:
		out.MaxTokens = *in.MaxCompletionTokens
	case in.MaxTokens != nil:
		out.MaxTokens = *in.MaxTokens
	case opt.DefaultMaxTokens > 0:
		out.MaxTokens = int64(opt.DefaultMaxTokens)
	default:
		out.MaxTokens = defaultMaxTokens
	}
	if t := out.Temperature; t != nil {
		if *t > 1 {
			one := 1.0
			out.Temperature = &one
		}
		out.TopP = nil // current Claude models take one of the two
	}
	if opt.NoSampling {
		out.Temperature, out.TopP, out.TopK = nil, nil, nil
	}
	if in.User != "" {
		out.Metadata = map[string]string{"user_id": in.User}
	}
	var err error
	if out.StopSequences, err = stopList(in.Stop); err != nil {
		return nil, err
	}
	var system []string
	for i, raw := range in.Messages {
		if system, err = addChatMessage(&out, system, index("messages", i), raw); err != nil {
			return nil, err
		}
	}
	out.System = strings.Join(system, "\n\n")
	if err := chatToolsToMessages(&out, &in); err != nil {
		return nil, err
	}
	effortToThinking(&out, in.ReasoningEffort)
	return marshal(&out)
}

// stopList reads stop: a string, an array of strings or null. Empty
// strings are dropped, Anthropic rejecting them.
func stopList(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var list []string
	if isString(raw) {
		var s string
		if err := decode("stop", raw, &s); err != nil {
			return nil, err
		}
		list = []string{s}
	} else if err := decode("stop", raw, &list); err != nil {
		return nil, err
	}
	kept := list[:0]
	for _, s := range list {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// addChatMessage adds one chat message to out, or its text to system.
func addChatMessage(out *messagesOut, system []string, path string, raw json.RawMessage) ([]string, error) {
	var m chatInMessage
	if err := decode(path, raw, &m); err != nil {
		return nil, err
	}
	cpath := join(path, "content")
	var blocks []msgBlock
	role := m.Role
	switch m.Role {
	case "system", "developer":
		text, err := chatText(cpath, m.Content)
		if err != nil {
			return nil, err
		}
		if text != "" {
			system = append(system, text)
		}
		return system, nil
	case "user":
		var err error
		if blocks, err = chatContentBlocks(cpath, m.Content); err != nil {
			return nil, err
		}
	case "assistant":
		text, err := chatText(cpath, m.Content)
		if err != nil {
			return nil, err
		}
		if text != "" {
			blocks = append(blocks, msgBlock{Type: "text", Text: text})
		}
		for j, tc := range m.ToolCalls {
			if tc.Function.Name == "" {
				return nil, badParam(index(join(path, "tool_calls"), j)+".function.name", "field required")
			}
			input := json.RawMessage(strings.TrimSpace(tc.Function.Arguments))
			if len(input) == 0 || !json.Valid(input) || input[0] != '{' {
				input = wrapArguments(tc.Function.Arguments)
			}
			blocks = append(blocks, msgBlock{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Function.Name, Input: input})
		}
	case "tool", "function":
		text, err := chatText(cpath, m.Content)
		if err != nil {
			return nil, err
		}
		if m.ToolCallID == "" {
			return nil, badParam(join(path, "tool_call_id"), "field required")
		}
		role = "user"
		b := msgBlock{Type: "tool_result", ToolUseID: toolID(m.ToolCallID)}
		if text != "" {
			b.Content, _ = json.Marshal(text)
		}
		blocks = append(blocks, b)
	default:
		return nil, badParam(join(path, "role"), "want system, developer, user, assistant or tool, got %q", m.Role)
	}
	if len(blocks) == 0 {
		return system, nil
	}
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		last := &out.Messages[n-1]
		last.Content = append(last.Content, blocks...)
		return system, nil
	}
	out.Messages = append(out.Messages, messageOut{Role: role, Content: blocks})
	return system, nil
}

// wrapArguments is the input of a tool call whose arguments are not a
// JSON object: {} when empty, else the text kept under _raw_arguments.
func wrapArguments(args string) json.RawMessage {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}")
	}
	return append(appendString([]byte(`{"_raw_arguments":`), args), '}')
}

// toolID makes a tool call id acceptable to Anthropic, which allows only
// [a-zA-Z0-9_-]: other bytes become '_'. The same id maps the same way in
// tool_use and tool_result blocks.
func toolID(id string) string {
	if id == "" {
		return "toolu_"
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if !idByte(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return id
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// chatText reads content that may hold only text: a string, null, or
// text parts, joined.
func chatText(path string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if isString(raw) {
		var s string
		return s, decode(path, raw, &s)
	}
	var parts []chatInPart
	if err := decode(path, raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" && p.Type != "refusal" {
			return "", badParam(index(path, i)+".type", "only text parts are allowed here, got %q", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// chatContentBlocks turns user content into text and image blocks.
func chatContentBlocks(path string, raw json.RawMessage) ([]msgBlock, error) {
	if isNull(raw) {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if err := decode(path, raw, &s); err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return []msgBlock{{Type: "text", Text: s}}, nil
	}
	var parts []chatInPart
	if err := decode(path, raw, &parts); err != nil {
		return nil, err
	}
	blocks := make([]msgBlock, 0, len(parts))
	for i, p := range parts {
		ppath := index(path, i)
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, msgBlock{Type: "text", Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, badParam(join(ppath, "image_url.url"), "field required")
			}
			src, err := imageSource(join(ppath, "image_url.url"), p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, msgBlock{Type: "image", Source: src})
		default:
			return nil, badParam(join(ppath, "type"), "content part %q cannot be sent to an Anthropic backend", p.Type)
		}
	}
	return blocks, nil
}

// imageSource turns an image URL into an image source: a base64 data: URL
// into a base64 source, an http(s) URL into a url source.
func imageSource(path, url string) (*msgSource, error) {
	if rest, ok := strings.CutPrefix(url, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mediaType == "" {
			return nil, badParam(path, "want a data:<media type>;base64,<data> URL")
		}
		return &msgSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://") {
		return &msgSource{Type: "url", URL: url}, nil
	}
	return nil, badParam(path, "want an http(s) or data: URL")
}

// chatToolsToMessages sets the tools and tool_choice of out.
func chatToolsToMessages(out *messagesOut, in *chatIn) error {
	for i, raw := range in.Tools {
		path := index("tools", i)
		var t chatTool
		if err := decode(path, raw, &t); err != nil {
			return err
		}
		if t.Type != "function" {
			return badParam(join(path, "type"), "only function tools can be sent to an Anthropic backend, got %q", t.Type)
		}
		if t.Function.Name == "" {
			return badParam(join(path, "function.name"), "field required")
		}
		schema := t.Function.Parameters
		if isNull(schema) || isEmptyObject(schema) {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, msgTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if len(out.Tools) == 0 {
		return nil
	}
	var tc *msgToolChoice
	switch {
	case isNull(in.ToolChoice):
	case isString(in.ToolChoice):
		var s string
		if err := decode("tool_choice", in.ToolChoice, &s); err != nil {
			return err
		}
		switch s {
		case "auto":
			tc = &msgToolChoice{Type: "auto"}
		case "required":
			tc = &msgToolChoice{Type: "any"}
		case "none":
			tc = &msgToolChoice{Type: "none"}
		default:
			return badParam("tool_choice", "want auto, required, none or a function, got %q", s)
		}
	default:
		var obj struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if err := decode("tool_choice", in.ToolChoice, &obj); err != nil {
			return err
		}
		if obj.Function.Name == "" {
			return badParam("tool_choice.function.name", "field required")
		}
		tc = &msgToolChoice{Type: "tool", Name: obj.Function.Name}
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls && (tc == nil || tc.Type != "none") {
		if tc == nil {
			tc = &msgToolChoice{Type: "auto"}
		}
		tc.DisableParallelToolUse = true
	}
	out.ToolChoice = tc
	return nil
}

// effortToThinking enables thinking for a reasoning_effort, with a budget
// of at most half of max_tokens, which counts thinking too (Anthropic's
// minimum budget is 1024: with less room thinking stays off).
func effortToThinking(out *messagesOut, effort string) {
	var budget int64
	switch effort {
	case "low":
		budget = 2048
	case "medium":
		budget = 8192
	case "high", "xhigh":
		budget = 24576
	default:
		return
	}
	budget = min(budget, out.MaxTokens/2)
	if budget < 1024 {
		return
	}
	out.Thinking = &msgThinking{Type: "enabled", BudgetTokens: budget}
	out.Temperature, out.TopP, out.TopK = nil, nil, nil
}
