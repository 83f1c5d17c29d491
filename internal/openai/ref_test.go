package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// Straightforward json.Unmarshal-based versions of the scanner code, the
// way the package first did it. The fuzz tests compare the two.

// refPeekChat is PeekChat with every member decoded by encoding/json.
func refPeekChat(body []byte) (Request, error) {
	var req Request
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return req, badRequest("", "We could not parse the JSON body of your request: the body is empty. (HINT: send a JSON object with model and messages.)")
	case !json.Valid(trimmed):
		var raw json.RawMessage
		err := json.Unmarshal(trimmed, &raw)
		msg := "invalid JSON"
		if err != nil {
			msg = err.Error()
		}
		return req, badRequest("", "We could not parse the JSON body of your request: %s", msg)
	case !utf8.Valid(trimmed):
		return req, badRequest("", "We could not parse the JSON body of your request: it is not valid UTF-8")
	case trimmed[0] != '{':
		return req, badRequest("", "The request body must be a JSON object")
	}
	// The members are read from the body as sent, after JSON white space
	// only: "\f{}" trims to a valid object but is not one.
	start := bytes.TrimLeft(body, " \t\r\n")
	if len(start) == 0 || start[0] != '{' {
		return req, badRequest("", "The request body must be a JSON object")
	}
	var haveModel, haveMessages bool
	err := refMembers(trimmed, func(key string, val []byte) error {
		switch key {
		case "model":
			haveModel = true
			var m string
			if val[0] != '"' || json.Unmarshal(val, &m) != nil {
				return badRequest("model", "'model' must be a string")
			}
			if len(m) > MaxModelBytes {
				return badRequest("model", "'model' is longer than %d bytes", MaxModelBytes)
			}
			req.Model = m
		case "stream":
			switch string(val) {
			case "true":
				req.Stream = true
			case "false", "null":
			default:
				return badRequest("stream", "'stream' must be a boolean")
			}
		case "user", "prompt_cache_key":
			var v string
			if val[0] == '"' && json.Unmarshal(val, &v) == nil {
				if key == "user" {
					req.User = v
				} else {
					req.PromptCacheKey = v
				}
			}
		case "stream_options":
			req.HasStreamOptions = true
			var so struct {
				IncludeUsage bool `json:"include_usage"`
			}
			if val[0] == '{' && json.Unmarshal(val, &so) == nil {
				req.IncludeUsage = so.IncludeUsage
			}
		case "messages":
			haveMessages = true
			if val[0] != '[' {
				return badRequest("messages", "'messages' must be an array")
			}
			return refPeekMessages(val, &req)
		case "tools":
			req.Tools = val[0] == '[' && len(bytes.TrimSpace(val[1:len(val)-1])) > 0
		case "response_format":
			var rf struct {
				Type string `json:"type"`
			}
			if val[0] == '{' && json.Unmarshal(val, &rf) == nil {
				req.JSONMode = rf.Type == "json_object" || rf.Type == "json_schema"
			}
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	switch {
	case !haveModel || req.Model == "":
		return req, badRequest("model", "you must provide a model parameter")
	case !haveMessages:
		return req, badRequest("messages", "'messages' is a required property")
	}
	return req, nil
}

func refPeekMessages(val []byte, req *Request) error {
	var msgs []struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(val, &msgs); err != nil {
		return badRequest("messages", "'messages' must be an array of message objects")
	}
	textBytes := 0
	for _, m := range msgs {
		c := bytes.TrimSpace(m.Content)
		if len(c) == 0 {
			continue
		}
		switch c[0] {
		case '"':
			textBytes += len(c) - 2
		case '[':
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if json.Unmarshal(c, &parts) != nil {
				continue
			}
			for _, p := range parts {
				switch p.Type {
				case "image_url", "input_image":
					req.Vision = true
				default:
					textBytes += len(p.Text)
				}
			}
		}
	}
	req.EstimatedTokens = textBytes / 4
	return nil
}

// refMembers calls fn with every top-level member of the valid JSON object
// body, in order and with repeats, using json.Decoder.
func refMembers(body []byte, fn func(key string, val []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("key %v", tok)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	if err == io.EOF {
		err = nil
	}
	return err
}

// refInspectChunk is InspectChunk by json.Unmarshal into a struct.
func refInspectChunk(data []byte) (info ChunkInfo, ok bool) {
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return info, false
	}
	var c struct {
		Choices []struct {
			Delta struct {
				Content   *string         `json:"content"`
				Refusal   *string         `json:"refusal"`
				ToolCalls json.RawMessage `json:"tool_calls"`
				// Read leniently: a non-empty string, the last one.
				ReasoningContent json.RawMessage `json:"reasoning_content"`
				Reasoning        json.RawMessage `json:"reasoning"`
			} `json:"delta"`
			Text         *string `json:"text"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &c) != nil {
		return info, false
	}
	info.Error = len(c.Error) > 0 && string(c.Error) != "null"
	hasUsage := len(c.Usage) > 0 && string(c.Usage) != "null"
	info.UsageOnly = hasUsage && len(c.Choices) == 0
	for _, ch := range c.Choices {
		d := ch.Delta
		if (d.Content != nil && *d.Content != "") || (d.Refusal != nil && *d.Refusal != "") ||
			(len(d.ToolCalls) > 0 && string(d.ToolCalls) != "null") || (ch.Text != nil && *ch.Text != "") ||
			nonEmptyString(d.ReasoningContent) || nonEmptyString(d.Reasoning) {
			info.Content = true
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			info.Finished = true
		}
	}
	return info, true
}

// refParseUsage is ParseUsage by json.Unmarshal. body must be valid JSON.
func refParseUsage(body []byte) (Usage, bool) {
	var u Usage
	if !bytes.Contains(body, usageKey) {
		return u, false
	}
	var span []byte
	_ = refMembers(body, func(key string, val []byte) error {
		if key == "usage" {
			span = val
			return io.EOF // the first one only
		}
		return nil
	})
	if len(span) == 0 || span[0] != '{' || json.Unmarshal(span, &u) != nil {
		return Usage{}, false
	}
	return u, true
}

// refHasMember reports whether the first top-level member key of the valid
// JSON object body is not null.
func refHasMember(body []byte, key string) bool {
	found := false
	_ = refMembers(body, func(k string, val []byte) error {
		if k == key {
			found = string(val) != "null"
			return io.EOF
		}
		return nil
	})
	return found
}

// repeatsFold reports whether the top level of the valid JSON object body
// has name more than once, compared as encoding/json compares names.
func repeatsFold(body []byte, name string) bool {
	n := 0
	_ = refMembers(body, func(k string, _ []byte) error {
		if bytes.EqualFold([]byte(k), []byte(name)) {
			n++
		}
		return nil
	})
	return n > 1
}

// refWithModel is WithModel with the model encoded by json.Marshal.
func refWithModel(body []byte, model string) []byte {
	quoted, _ := json.Marshal(model)
	var spans [][2]int
	_ = members(body, func(k, v []byte) error {
		if string(k) == "model" && string(v) != string(quoted) {
			start := cap(body) - cap(v)
			spans = append(spans, [2]int{start, start + len(v)})
		}
		return nil
	})
	if len(spans) == 0 {
		return body
	}
	var out []byte
	prev := 0
	for _, sp := range spans {
		out = append(out, body[prev:sp[0]]...)
		out = append(out, quoted...)
		prev = sp[1]
	}
	return append(out, body[prev:]...)
}
