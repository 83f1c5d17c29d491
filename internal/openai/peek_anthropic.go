package openai

// PeekMessages validates body as an Anthropic Messages request and reads
// its routing facts. model (a string) and messages (a non-empty array of
// message objects) are required; max_tokens is not checked (the backend
// decides), nor are unknown members and content block types. Read:
// stream, tools (non-empty: Tools), image blocks, also inside tool results
// (Vision), metadata.user_id (User), thinking unless "disabled"
// (Thinking) and the size of the system prompt and message text.
func PeekMessages(body []byte) (Request, error) {
	return peekAnthropic(body, true)
}

// PeekCountTokens validates body as an Anthropic count_tokens request:
// model and messages are required, as for PeekMessages, whose facts it
// reads; Stream is always false (the answer is one JSON object).
func PeekCountTokens(body []byte) (Request, error) {
	return peekAnthropic(body, false)
}

func peekAnthropic(body []byte, stream bool) (Request, error) {
	var req Request
	var haveModel, haveMessages bool
	text := 0
	err := peekBody(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "stream":
			if stream {
				return peekStream(val, &req)
			}
		case "messages":
			haveMessages = true
			if val[0] != '[' {
				return badRequest("messages", "'messages' must be an array")
			}
			if isEmptyArray(val) {
				return badRequest("messages", "'messages' must contain at least one message")
			}
			n, vision, ok := peekAnthropicMessages(val)
			if !ok {
				return badRequest("messages", "'messages' must be an array of message objects")
			}
			text += n
			req.Vision = req.Vision || vision
		case "system":
			switch val[0] {
			case '"':
				text += len(val) - 2
			case '[':
				n, _ := peekBlocks(val, 0)
				text += n
			}
		case "tools":
			req.Tools = val[0] == '[' && !isEmptyArray(val)
		case "metadata":
			if v := objectMember(val, "user_id"); len(v) > 0 {
				setString(&req.User, v)
			}
		case "thinking":
			if val[0] == '{' {
				req.Thinking = !strEquals(objectMember(val, "type"), "disabled")
			}
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	req.EstimatedTokens = text / 4
	if err := requireModel(&req, haveModel); err != nil {
		return req, err
	}
	if !haveMessages {
		return req, required("messages")
	}
	return req, nil
}

// peekAnthropicMessages reads a messages array: its text bytes and
// whether it holds an image. ok is false when an element is not an object.
func peekAnthropicMessages(val []byte) (text int, vision, ok bool) {
	w := walker{buf: val}
	w.open('[')
	for w.more(']') {
		if w.peek() != '{' {
			return 0, false, false
		}
		w.pos++
		for w.more('}') {
			k, ok := w.key()
			if !ok {
				return text, vision, true
			}
			v := w.value()
			if !k.exact("content") || len(v) == 0 {
				continue
			}
			switch v[0] {
			case '"':
				text += len(v) - 2
			case '[':
				n, image := peekBlocks(v, 0)
				text += n
				vision = vision || image
			}
		}
	}
	return text, vision, true
}

// peekBlocks reads an array of content blocks: the bytes of their text,
// thinking, tool inputs and tool results (whose own blocks it reads, one
// level deep), and whether one is an image.
func peekBlocks(arr []byte, depth int) (text int, image bool) {
	w := walker{buf: arr}
	w.open('[')
	for w.more(']') {
		if w.peek() != '{' {
			w.value()
			continue
		}
		w.pos++
		for w.more('}') {
			k, ok := w.key()
			if !ok {
				return text, image
			}
			v := w.value()
			switch {
			case len(v) == 0:
			case k.exact("type"):
				image = image || strEquals(v, "image")
			case k.exact("text"), k.exact("thinking"):
				if v[0] == '"' {
					text += len(v) - 2
				}
			case k.exact("input"):
				text += len(v)
			case k.exact("content"):
				switch {
				case v[0] == '"':
					text += len(v) - 2
				case v[0] == '[' && depth == 0:
					n, img := peekBlocks(v, depth+1)
					text += n
					image = image || img
				}
			}
		}
	}
	return text, image
}

// objectMember returns the span of the member key of the object val (the
// last one), or nil.
func objectMember(val []byte, key string) []byte {
	w := walker{buf: val}
	if !w.open('{') {
		return nil
	}
	var found []byte
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return nil
		}
		v := w.value()
		if k.exact(key) {
			found = v
		}
	}
	return found
}
