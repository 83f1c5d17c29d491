package openai

// PeekResponses validates body as an OpenAI Responses request and reads
// its routing facts. model (a string) is required, and input (a string or
// an array of items) unless the request continues or names other input:
// previous_response_id, conversation or prompt (a stored prompt). It is
// lenient, as clients such as Codex send members and item kinds of their
// own (client_metadata, include, namespaced tools, developer items with
// ids): only model, input, stream and previous_response_id are checked.
// Read: stream, previous_response_id, prompt_cache_key, user, tools
// (non-empty: Tools), reasoning (present: Thinking), text.format
// (json_object or json_schema: JSONMode), input_image parts (Vision) and
// the size of instructions and input text.
func PeekResponses(body []byte) (Request, error) {
	var req Request
	var haveModel, haveInput, otherInput bool
	text := 0
	err := peekBody(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "stream":
			return peekStream(val, &req)
		case "input":
			switch val[0] {
			case '"':
				text += len(val) - 2
			case '[':
				n, vision := peekItems(val)
				text += n
				req.Vision = req.Vision || vision
			case 'n':
				return nil
			default:
				return badRequest("input", "'input' must be a string or an array of input items")
			}
			haveInput = true
		case "previous_response_id":
			switch {
			case val[0] == '"':
				setString(&req.PreviousResponseID, val)
				otherInput = otherInput || len(val) > 2
			case !isNull(val):
				return badRequest("previous_response_id", "'previous_response_id' must be a string")
			}
		case "conversation", "prompt":
			otherInput = otherInput || !isNull(val)
		case "instructions":
			if val[0] == '"' {
				text += len(val) - 2
			}
		case "prompt_cache_key":
			setString(&req.PromptCacheKey, val)
		case "user":
			setString(&req.User, val)
		case "tools":
			req.Tools = val[0] == '[' && !isEmptyArray(val)
		case "reasoning":
			req.Thinking = !isNull(val)
		case "text":
			if typ, ok := textFormatType(val); ok {
				req.JSONMode = strEquals(typ, "json_object") || strEquals(typ, "json_schema")
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
	if !haveInput && !otherInput {
		return req, required("input")
	}
	return req, nil
}

// peekItems reads a Responses input array: the text bytes of message
// contents (strings or parts), of tool outputs and call arguments, and
// whether a part is an image. Elements it does not know are skipped.
func peekItems(val []byte) (text int, vision bool) {
	w := walker{buf: val}
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
				return text, vision
			}
			v := w.value()
			switch {
			case len(v) == 0:
			case k.exact("content"):
				switch v[0] {
				case '"':
					text += len(v) - 2
				case '[':
					if n, image, ok := peekParts(v); ok {
						text += n
						vision = vision || image
					}
				}
			case k.exact("output"), k.exact("arguments"), k.exact("text"):
				if v[0] == '"' {
					text += len(v) - 2
				}
			case k.exact("type"):
				vision = vision || strEquals(v, "input_image")
			}
		}
	}
	return text, vision
}

// textFormatType returns the span of text.format.type in a Responses
// "text" member; ok is false when there is none.
func textFormatType(val []byte) (typ []byte, ok bool) {
	w := walker{buf: val}
	if !w.open('{') {
		return nil, false
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return nil, false
		}
		v := w.value()
		if k.exact("format") && len(v) > 0 && v[0] == '{' {
			typ, ok = formatType(v)
			if ok && typ != nil {
				return typ, true
			}
		}
	}
	return nil, false
}
