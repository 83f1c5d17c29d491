package openai

import (
	"bytes"
)

// Usage is the token accounting a backend reports, in OpenAI's terms
// whatever the API: PromptTokens counts every input token, cached or not.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
	// CachedTokens is the part of PromptTokens the backend served from its
	// prompt cache; zero when it did not say.
	CachedTokens int64 `json:"-"`
}

// ChunkInfo is what the gateway needs to know about one stream chunk.
type ChunkInfo struct {
	// Content is true when a choice carries text, reasoning
	// (reasoning_content or reasoning), a refusal or tool calls.
	Content bool
	// Finished is true when a choice has a finish_reason.
	Finished bool
	// UsageOnly is true for the final usage chunk ("choices": []).
	UsageOnly bool
	// Error is true when the chunk is an error object.
	Error bool
	// Usage is the chunk's token usage, when HasUsage: a top-level "usage"
	// object whose counts are integers (what ParseUsage returns).
	Usage    Usage
	HasUsage bool
}

// InspectChunk classifies a chat.completion.chunk payload. ok is false when
// data is not a JSON object, or not of a chunk's shape (for example a
// "choices" that is not an array). It validates data fully: use it for the
// event that decides whether a stream is committed, and ScanChunk after.
func InspectChunk(data []byte) (info ChunkInfo, ok bool) {
	if len(data) == 0 || data[0] != '{' || !Valid(data) {
		return info, false
	}
	return ScanChunk(data)
}

// ScanChunk is InspectChunk without the full validation: one pass over
// data, no allocation. It is safe on any input; on data that is not valid
// JSON its answer is a best effort (ok is false when it notices).
func ScanChunk(data []byte) (info ChunkInfo, ok bool) {
	if len(data) == 0 || data[0] != '{' {
		return info, false
	}
	t := scanTop(data, true)
	info.Usage, info.HasUsage = t.usage(data)
	if t.w.bad || t.typeErr {
		return info, false
	}
	info.Error = t.errLast
	info.UsageOnly = t.usageLast && t.choices == 0
	info.Content = t.content
	info.Finished = t.finished
	return info, true
}

// ReplyInfo is what the gateway needs to know about a non-streaming reply.
type ReplyInfo struct {
	// Error is true when the reply has a non-null top-level "error"
	// member (the first one, as HasMember sees it).
	Error bool
	// Usage is the reply's token usage, when HasUsage (as ParseUsage).
	Usage    Usage
	HasUsage bool
	// ID is the id of a Responses API response object ("" for anything
	// else).
	ID string
}

// InspectReply reads the error and usage members of a chat completion in
// one pass. body must be valid JSON (json.Valid).
func InspectReply(body []byte) ReplyInfo {
	t := scanTop(body, false)
	var ri ReplyInfo
	ri.Error = t.errFirst == errNonNull
	ri.Usage, ri.HasUsage = t.usage(body)
	return ri
}

var usageKey = []byte(`"usage"`)

// ParseUsage extracts a non-null top-level "usage" object from a JSON
// response or stream chunk.
func ParseUsage(body []byte) (Usage, bool) {
	if !bytes.Contains(body, usageKey) {
		return Usage{}, false
	}
	t := scanTop(body, false)
	return t.usage(body)
}

const (
	errAbsent = iota
	errNull
	errNonNull
)

// top is what one pass over a chunk or reply object found. Member names
// are matched the way each former decoder matched them: the chunk fields
// like encoding/json (case-insensitively, the last one wins), "usage" for
// ParseUsage and "error" for HasMember exactly and the first one only.
type top struct {
	w         walker
	errFirst  int  // first "error": errAbsent, errNull or errNonNull
	errLast   bool // last "error" (any case) is not null
	usageLast bool // last "usage" (any case) is not null
	usageSpan []byte
	usageEsc  bool // the first "usage" name was written with escapes
	typeErr   bool // a chunk field of the wrong JSON type
	choices   int  // elements of the last "choices"
	content   bool
	finished  bool
}

// scanTop walks the object in data once; with chunk set it also reads
// "choices".
func scanTop(data []byte, chunk bool) top {
	t := top{w: walker{buf: data}}
	w := &t.w
	if !w.open('{') {
		w.bad = true
		return t
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			break
		}
		switch {
		case chunk && k.is("choices"):
			t.readChoices()
		case k.is("usage"):
			v := w.value()
			t.usageLast = !isNull(v)
			if t.usageSpan == nil && k.exact("usage") {
				t.usageSpan, t.usageEsc = v, !k.plain
			}
		case k.is("error"):
			v := w.value()
			t.errLast = !isNull(v)
			if t.errFirst == errAbsent && k.exact("error") {
				t.errFirst = errNull
				if t.errLast {
					t.errFirst = errNonNull
				}
			}
		default:
			w.value()
		}
	}
	return t
}

// usage decodes the first "usage" member as ParseUsage always did.
func (t *top) usage(data []byte) (Usage, bool) {
	v := t.usageSpan
	if len(v) == 0 || v[0] != '{' {
		return Usage{}, false
	}
	if t.usageEsc && !bytes.Contains(data, usageKey) {
		return Usage{}, false
	}
	return decodeUsage(v)
}

// decodeUsage reads a usage object as json.Unmarshal into Usage would: the
// three counts must be integers that fit int64 (or null); any other
// member is ignored. CachedTokens, which that decode did not know, is read
// from prompt_tokens_details.cached_tokens on a best-effort basis: a
// malformed one leaves it zero and does not fail the usage.
func decodeUsage(v []byte) (u Usage, ok bool) {
	w := walker{buf: v}
	w.open('{')
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return Usage{}, false
		}
		var dst *int64
		switch {
		case k.is("prompt_tokens"):
			dst = &u.PromptTokens
		case k.is("completion_tokens"):
			dst = &u.CompletionTokens
		case k.is("total_tokens"):
			dst = &u.TotalTokens
		case k.is("prompt_tokens_details"):
			u.CachedTokens = cachedTokens(w.value())
			continue
		}
		val := w.value()
		if dst == nil || isNull(val) {
			continue
		}
		n, ok := parseInt(val)
		if !ok {
			return Usage{}, false
		}
		*dst = n
	}
	if w.bad {
		return Usage{}, false
	}
	return u, true
}

// cachedTokens reads the cached_tokens count of a usage details object
// (prompt_tokens_details, input_tokens_details); 0 when there is none.
func cachedTokens(v []byte) int64 {
	w := walker{buf: v}
	if !w.open('{') {
		return 0
	}
	var n int64
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return 0
		}
		val := w.value()
		if k.is("cached_tokens") {
			n, _ = parseInt(val)
		}
	}
	if w.bad {
		return 0
	}
	return n
}

// parseInt parses a JSON number that is an integer in the int64 range, as
// strconv.ParseInt(s, 10, 64) does, without allocating.
func parseInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	const limit = 1 << 63
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	switch {
	case neg && n <= limit:
		return -int64(n), true
	case !neg && n < limit:
		return int64(n), true
	}
	return 0, false
}

// String states of a *string field: absent or null, "", or non-empty.
const (
	strNil = iota
	strEmpty
	strSet
)

// readChoices reads the "choices" value: null or an array of choice
// objects (or nulls). A later "choices" replaces an earlier one.
func (t *top) readChoices() {
	w := &t.w
	t.choices, t.content, t.finished = 0, false, false
	switch w.peek() {
	case '[':
		w.pos++
		for w.more(']') {
			t.choices++
			switch w.peek() {
			case '{':
				t.readChoice()
			case 'n':
				if !isNull(w.value()) {
					t.typeErr = true
				}
			default:
				t.typeErr = true
				w.value()
			}
		}
	case 'n':
		if !isNull(w.value()) {
			t.typeErr = true
		}
	default:
		t.typeErr = true
		w.value()
	}
}

// readChoice reads one choice object. Within it the last value of each
// field wins, and "delta" objects merge, as json.Unmarshal fills a struct.
func (t *top) readChoice() {
	w := &t.w
	var content, refusal, text, finish int
	tools, reasoningContent, reasoning := false, false, false
	w.open('{')
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return
		}
		switch {
		case k.is("delta"):
			switch w.peek() {
			case '{':
				w.pos++
				for w.more('}') {
					dk, ok := w.key()
					if !ok {
						return
					}
					switch {
					case dk.is("content"):
						content = t.strState(w.value())
					case dk.is("refusal"):
						refusal = t.strState(w.value())
					case dk.is("tool_calls"):
						tools = !isNull(w.value())
					case dk.is("reasoning_content"):
						// Fields the decoder did not know, read leniently:
						// a non-empty string counts, any other value not.
						reasoningContent = nonEmptyString(w.value())
					case dk.is("reasoning"):
						reasoning = nonEmptyString(w.value())
					default:
						w.value()
					}
				}
			case 'n': // a null delta leaves the struct as it was
				if !isNull(w.value()) {
					t.typeErr = true
				}
			default:
				t.typeErr = true
				w.value()
			}
		case k.is("text"):
			text = t.strState(w.value())
		case k.is("finish_reason"):
			finish = t.strState(w.value())
		default:
			w.value()
		}
	}
	if content == strSet || refusal == strSet || text == strSet || tools || reasoningContent || reasoning {
		t.content = true
	}
	if finish == strSet {
		t.finished = true
	}
}

func nonEmptyString(v []byte) bool { return len(v) > 2 && v[0] == '"' }

// strState classifies the value of a *string field; any JSON type but a
// string or null is a type error.
func (t *top) strState(v []byte) int {
	switch {
	case len(v) >= 2 && v[0] == '"':
		if len(v) == 2 {
			return strEmpty
		}
		return strSet
	case isNull(v):
		return strNil
	}
	t.typeErr = true
	return strNil
}
