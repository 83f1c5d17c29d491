package openai

import (
	"bytes"
	"strings"
)

// Typed streams are those of the OpenAI Responses API and of Anthropic
// Messages: every event names its type ("event: <type>", repeated as the
// "type" member of its JSON data). Unlike chat chunks, most events can be
// classified by their name alone; the data is walked only when the name is
// missing or the event carries what the gateway records (usage, errors).

// UsageFields is a set of Usage counts a report carries.
type UsageFields uint8

// The counts of a Usage.
const (
	UsagePrompt UsageFields = 1 << iota
	UsageCompletion
	UsageTotal
	UsageCached
)

// Apply sets the counts of u that set names to their values in from.
func (u *Usage) Apply(from Usage, set UsageFields) {
	if set&UsagePrompt != 0 {
		u.PromptTokens = from.PromptTokens
	}
	if set&UsageCompletion != 0 {
		u.CompletionTokens = from.CompletionTokens
	}
	if set&UsageTotal != 0 {
		u.TotalTokens = from.TotalTokens
	}
	if set&UsageCached != 0 {
		u.CachedTokens = from.CachedTokens
	}
}

// EventInfo is what the gateway needs to know about one event of a typed
// stream.
type EventInfo struct {
	// Content is true for an event that carries generated output (a
	// Responses "response.*.delta", an Anthropic content_block_delta): the
	// first one marks the time to first token.
	Content bool
	// Terminal is true for the stream's last event: response.completed,
	// response.failed or response.incomplete; message_stop.
	Terminal bool
	// Error is true for an error event ("error", a top-level non-null
	// "error" member, or response.failed, which is also Terminal).
	Error bool
	// Ping is true for a keep-alive event (Anthropic "ping").
	Ping bool
	// Usage holds the counts named by UsageSet (zero when none): the
	// terminal response's usage (Responses), message_start's input and
	// message_delta's cumulative counts (Anthropic).
	Usage    Usage
	UsageSet UsageFields
	// ResponseID is the id of the response a Responses terminal event
	// carries ("" otherwise): the gateway remembers which backend holds it.
	ResponseID string
}

// evType is the type of an event: its name, or when it has none the
// "type" member of its data (unquoted).
type evType struct {
	name string
	data []byte
}

func typeOf(name string, f *objFacts) evType {
	t := evType{name: name}
	if name == "" && len(f.typ) >= 2 && f.typ[0] == '"' {
		t.data = f.typ[1 : len(f.typ)-1]
	}
	return t
}

func (t evType) is(s string) bool {
	if t.name != "" {
		return t.name == s
	}
	return string(t.data) == s
}

// isDelta reports a Responses "response.*.delta" type.
func (t evType) isDelta() bool {
	if t.name != "" {
		return strings.HasPrefix(t.name, "response.") && strings.HasSuffix(t.name, ".delta")
	}
	return bytes.HasPrefix(t.data, []byte("response.")) && bytes.HasSuffix(t.data, []byte(".delta"))
}

func (t evType) responsesTerminal() bool {
	return t.is("response.completed") || t.is("response.failed") || t.is("response.incomplete")
}

// InspectResponsesEvent classifies one event of an OpenAI Responses stream
// (name is its "event:" field, "" when none). It reads data only when the
// name is missing or the event may carry usage or an error, and never
// allocates. data need not be valid JSON: on malformed data the answer is
// a best effort.
func InspectResponsesEvent(name string, data []byte) EventInfo {
	var info EventInfo
	var f, resp objFacts
	if name == "" || name == "error" || (evType{name: name}).responsesTerminal() {
		f.scan(data, &resp)
	}
	typ := typeOf(name, &f)
	switch {
	case typ.is("error"):
		info.Error = true
	case typ.responsesTerminal():
		info.Terminal = true
		info.Error = typ.is("response.failed")
		if len(resp.usage) > 0 {
			info.Usage, info.UsageSet = decodeTypedUsage(resp.usage, false)
		}
		info.ResponseID, _ = decodeString(resp.id)
	case typ.isDelta():
		info.Content = true
	}
	if f.err {
		info.Error = true
	}
	return info
}

// InspectAnthropicEvent classifies one event of an Anthropic Messages
// stream as InspectResponsesEvent does for Responses.
func InspectAnthropicEvent(name string, data []byte) EventInfo {
	var info EventInfo
	switch name {
	case "content_block_delta":
		info.Content = true
		return info
	case "ping":
		info.Ping = true
		return info
	case "message_stop":
		info.Terminal = true
		return info
	case "content_block_start", "content_block_stop":
		return info
	}
	var f, msg objFacts
	f.scan(data, &msg)
	typ := typeOf(name, &f)
	switch {
	case typ.is("error"):
		info.Error = true
	case typ.is("ping"):
		info.Ping = true
	case typ.is("message_stop"):
		info.Terminal = true
	case typ.is("content_block_delta"):
		info.Content = true
	case typ.is("message_start"):
		if len(msg.usage) > 0 {
			info.Usage, info.UsageSet = decodeTypedUsage(msg.usage, true)
		}
	case typ.is("message_delta"):
		if len(f.usage) > 0 {
			info.Usage, info.UsageSet = decodeTypedUsage(f.usage, true)
		}
	}
	if f.err {
		info.Error = true
	}
	return info
}

// InspectResponsesReply reads a plain Responses reply (a response object,
// or a deletion or other object of that API) in one pass: Error when it
// has a non-null top-level "error", is an error object ("type":"error"),
// or is a response whose "status" is "failed"; the usage from
// usage.input_tokens, output_tokens, total_tokens and
// input_tokens_details.cached_tokens. body must be valid JSON.
func InspectResponsesReply(body []byte) ReplyInfo {
	var f objFacts
	f.scan(body, nil)
	var ri ReplyInfo
	ri.Error = f.err || strEquals(f.typ, "error") || strEquals(f.status, "failed")
	if strEquals(f.object, "response") {
		ri.ID, _ = decodeString(f.id)
	}
	if len(f.usage) > 0 {
		var set UsageFields
		ri.Usage, set = decodeTypedUsage(f.usage, false)
		ri.HasUsage = set != 0
	}
	return ri
}

// InspectAnthropicReply reads a plain Anthropic reply (a message, a token
// count) in one pass: Error when it is an error object ("type":"error" or
// a non-null top-level "error"); the usage from usage.input_tokens (plus
// the cache reads and writes, which Anthropic counts apart),
// output_tokens and cache_read_input_tokens (CachedTokens). body must be
// valid JSON.
func InspectAnthropicReply(body []byte) ReplyInfo {
	var f objFacts
	f.scan(body, nil)
	var ri ReplyInfo
	ri.Error = f.err || strEquals(f.typ, "error")
	if len(f.usage) > 0 {
		var set UsageFields
		ri.Usage, set = decodeTypedUsage(f.usage, true)
		ri.HasUsage = set != 0
		ri.Usage.TotalTokens = ri.Usage.PromptTokens + ri.Usage.CompletionTokens
	}
	return ri
}

// objFacts is what one pass over an object of a typed API found: the spans
// of its "type", "status" and "usage" members (the last of each) and
// whether it has a non-null "error". Names match exactly.
type objFacts struct {
	typ, status, usage, id, object []byte
	err                            bool
}

// scan walks the object data; with nested set, a "response" or "message"
// object member is scanned into nested in the same pass.
func (f *objFacts) scan(data []byte, nested *objFacts) {
	w := walker{buf: data}
	if !w.open('{') {
		return
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return
		}
		if nested != nil && (k.exact("response") || k.exact("message")) && w.peek() == '{' {
			start := w.pos
			w.value()
			nested.scan(data[start:w.pos], nil)
			continue
		}
		v := w.value()
		switch {
		case k.exact("type"):
			f.typ = v
		case k.exact("status"):
			f.status = v
		case k.exact("usage"):
			f.usage = v
		case k.exact("id"):
			f.id = v
		case k.exact("object"):
			f.object = v
		case k.exact("error"):
			f.err = len(v) > 0 && !isNull(v)
		}
	}
}

// decodeTypedUsage reads a Responses usage object (input_tokens,
// output_tokens, total_tokens, input_tokens_details.cached_tokens) or,
// with anthropic set, an Anthropic one (input_tokens,
// cache_creation_input_tokens and cache_read_input_tokens, which together
// are PromptTokens, the last also CachedTokens; output_tokens). A count
// that is not an integer is left out; set names the counts found.
func decodeTypedUsage(v []byte, anthropic bool) (u Usage, set UsageFields) {
	w := walker{buf: v}
	if !w.open('{') {
		return u, 0
	}
	var input, created, read int64
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return Usage{}, 0
		}
		val := w.value()
		n, isInt := parseInt(val)
		switch {
		case k.exact("input_tokens") && isInt:
			input, set = n, set|UsagePrompt
		case k.exact("output_tokens") && isInt:
			u.CompletionTokens, set = n, set|UsageCompletion
		case !anthropic && k.exact("total_tokens") && isInt:
			u.TotalTokens, set = n, set|UsageTotal
		case !anthropic && k.exact("input_tokens_details"):
			if c := cachedTokens(val); c != 0 {
				u.CachedTokens, set = c, set|UsageCached
			}
		case anthropic && k.exact("cache_creation_input_tokens") && isInt:
			created = n
		case anthropic && k.exact("cache_read_input_tokens") && isInt:
			read, set = n, set|UsageCached
		}
	}
	if w.bad {
		return Usage{}, 0
	}
	u.PromptTokens = input
	if anthropic {
		u.CachedTokens = read
		if set&UsagePrompt != 0 {
			u.PromptTokens += created + read
		}
	}
	return u, set
}
