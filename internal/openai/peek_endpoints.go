package openai

// Peeks for the OpenAI endpoints beside chat: completions, embeddings and
// rerank. Each validates the body as one JSON object (valid UTF-8, nesting
// bounded as encoding/json bounds it), checks the members routing relies
// on and reads the routing facts in one walk; every other member passes
// untouched. A missing or invalid member is a *RequestError naming it.

// peekBody validates body as a JSON object and calls fn for each of its
// members, as PeekChat does.
func peekBody(body []byte, fn func(key, val []byte) error) error {
	if err := validObject(body); err != nil {
		return err
	}
	return members(body, fn)
}

// requireModel is the error for a request without a model.
func requireModel(req *Request, have bool) error {
	if !have || req.Model == "" {
		return badRequest("model", "you must provide a model parameter")
	}
	return nil
}

func required(param string) error {
	return badRequest(param, "'%s' is a required property", param)
}

// PeekCompletions validates body as a (legacy) completions request: model
// (a string) and prompt (a string, or a non-empty array of strings, of
// token integers or of non-empty token arrays) are required; stream,
// stream_options, suffix and user are read.
func PeekCompletions(body []byte) (Request, error) {
	var req Request
	var haveModel, havePrompt bool
	err := peekBody(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "stream":
			return peekStream(val, &req)
		case "stream_options":
			req.HasStreamOptions = true
			if v, ok := includeUsage(val); ok {
				req.IncludeUsage = v
			}
		case "prompt":
			havePrompt = true
			n, err := peekPrompt("prompt", val, true)
			req.EstimatedTokens = n
			return err
		case "suffix":
			switch {
			case val[0] == '"':
				req.Suffix = len(val) > 2
			case !isNull(val):
				return badRequest("suffix", "'suffix' must be a string")
			}
		case "user":
			setString(&req.User, val)
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	if err := requireModel(&req, haveModel); err != nil {
		return req, err
	}
	if !havePrompt {
		return req, required("prompt")
	}
	return req, nil
}

// PeekEmbeddings validates body as an embeddings request: model and input
// (a non-empty string, or a non-empty array of strings, of token integers
// or of non-empty token arrays) are required; user is read. Nothing else
// is checked: encoding_format, dimensions and the rest pass untouched.
func PeekEmbeddings(body []byte) (Request, error) {
	var req Request
	var haveModel, haveInput bool
	err := peekBody(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "input":
			haveInput = true
			n, err := peekPrompt("input", val, false)
			req.EstimatedTokens = n
			return err
		case "user":
			setString(&req.User, val)
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	if err := requireModel(&req, haveModel); err != nil {
		return req, err
	}
	if !haveInput {
		return req, required("input")
	}
	return req, nil
}

// PeekRerank validates body as a rerank request (Cohere, Jina, vLLM):
// model, query (a string) and documents (a non-empty array of strings or
// objects) are required. top_n and the rest pass untouched.
func PeekRerank(body []byte) (Request, error) {
	var req Request
	var haveModel, haveQuery, haveDocs bool
	var text int
	err := peekBody(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "query":
			haveQuery = true
			if val[0] != '"' {
				return badRequest("query", "'query' must be a string")
			}
			text += len(val) - 2
		case "documents":
			haveDocs = true
			n, err := peekDocuments(val)
			text += n
			return err
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	req.EstimatedTokens = text / 4
	switch err := requireModel(&req, haveModel); {
	case err != nil:
		return req, err
	case !haveQuery:
		return req, required("query")
	case !haveDocs:
		return req, required("documents")
	}
	return req, nil
}

// peekDocuments checks a rerank documents array and returns its text
// bytes (string documents as written, objects by their size).
func peekDocuments(val []byte) (int, error) {
	bad := func() error {
		return badRequest("documents", "'documents' must be a non-empty array of strings or objects")
	}
	if val[0] != '[' || isEmptyArray(val) {
		return 0, bad()
	}
	w := walker{buf: val}
	w.open('[')
	n := 0
	for w.more(']') {
		c := w.peek()
		v := w.value()
		if c != '"' && c != '{' {
			return 0, bad()
		}
		n += len(v) - 2
	}
	return n, nil
}

// Kinds of prompt array elements.
const (
	elemNone = iota
	elemString
	elemToken
	elemTokens
)

// peekPrompt checks a completions prompt or an embeddings input (param):
// a string (empty only with allowEmpty), or a non-empty array whose
// elements are all strings, all integers (tokens) or all non-empty integer
// arrays. It returns the size estimate in tokens: text bytes / 4 plus one
// per token.
func peekPrompt(param string, val []byte, allowEmpty bool) (int, error) {
	bad := func() error {
		return badRequest(param, "'%s' must be a string, or an array of strings, of integers or of integer arrays", param)
	}
	switch val[0] {
	case '"':
		if len(val) == 2 && !allowEmpty {
			return 0, badRequest(param, "'%s' must not be empty", param)
		}
		return (len(val) - 2) / 4, nil
	case '[':
	default:
		return 0, bad()
	}
	if isEmptyArray(val) {
		return 0, badRequest(param, "'%s' must not be an empty array", param)
	}
	w := walker{buf: val}
	w.open('[')
	kind, text, tokens := elemNone, 0, 0
	for w.more(']') {
		k := elemToken
		switch w.peek() {
		case '"':
			k = elemString
		case '[':
			k = elemTokens
		}
		if kind != elemNone && k != kind {
			return 0, bad()
		}
		kind = k
		v := w.value()
		switch k {
		case elemString:
			text += len(v) - 2
		case elemToken:
			if _, ok := parseInt(v); !ok {
				return 0, bad()
			}
			tokens++
		case elemTokens:
			n, ok := tokenArray(v)
			if !ok {
				return 0, bad()
			}
			tokens += n
		}
	}
	return text/4 + tokens, nil
}

// tokenArray checks a non-empty array of integers and returns its length.
func tokenArray(v []byte) (int, bool) {
	if isEmptyArray(v) {
		return 0, false
	}
	w := walker{buf: v}
	w.open('[')
	n := 0
	for w.more(']') {
		if _, ok := parseInt(w.value()); !ok {
			return 0, false
		}
		n++
	}
	return n, !w.bad
}
