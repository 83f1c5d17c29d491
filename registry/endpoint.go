package registry

import (
	"net/url"
	"strings"
)

// Endpoint is one inference API a backend may serve natively. Endpoints
// are bits, so a set of them is an EndpointSet.
type Endpoint uint8

// The inference endpoints, in the order Endpoints lists them.
const (
	EndpointChat        Endpoint = 1 << iota // POST /v1/chat/completions
	EndpointCompletions                      // POST /v1/completions (with suffix: fill-in-the-middle)
	EndpointEmbeddings                       // POST /v1/embeddings
	EndpointRerank                           // POST /v1/rerank
	EndpointResponses                        // POST /v1/responses and /v1/responses/{id}
	EndpointMessages                         // POST /v1/messages (Anthropic), with /v1/messages/count_tokens
)

// endpointInfo is the one table of endpoint names and upstream paths.
var endpointInfo = [...]struct {
	e    Endpoint
	name string
	path string
}{
	{EndpointChat, "chat", "/v1/chat/completions"},
	{EndpointCompletions, "completions", "/v1/completions"},
	{EndpointEmbeddings, "embeddings", "/v1/embeddings"},
	{EndpointRerank, "rerank", "/v1/rerank"},
	{EndpointResponses, "responses", "/v1/responses"},
	{EndpointMessages, "messages", "/v1/messages"},
}

// endpointIndex returns e's position in endpointInfo, or -1.
func endpointIndex(e Endpoint) int {
	for i, info := range endpointInfo {
		if info.e == e {
			return i
		}
	}
	return -1
}

// String returns the endpoint's configuration name, such as "chat".
func (e Endpoint) String() string {
	if i := endpointIndex(e); i >= 0 {
		return endpointInfo[i].name
	}
	return "unknown"
}

// Path returns the endpoint's path on a backend, such as
// "/v1/chat/completions" ("" for an unknown endpoint).
func (e Endpoint) Path() string {
	if i := endpointIndex(e); i >= 0 {
		return endpointInfo[i].path
	}
	return ""
}

// ParseEndpoint returns the endpoint named s ("chat", "completions",
// "embeddings", "rerank", "responses", "messages"). ok is false for any
// other name.
func ParseEndpoint(s string) (e Endpoint, ok bool) {
	for _, info := range endpointInfo {
		if info.name == s {
			return info.e, true
		}
	}
	return 0, false
}

// EndpointNames lists every endpoint name, in a fixed order.
func EndpointNames() []string {
	out := make([]string, len(endpointInfo))
	for i, info := range endpointInfo {
		out[i] = info.name
	}
	return out
}

// EndpointSet is a set of endpoints. The zero set is empty; in a Config it
// means "the type's defaults" (see DefaultEndpoints).
type EndpointSet uint8

// Has reports whether e is in the set.
func (s EndpointSet) Has(e Endpoint) bool { return s&EndpointSet(e) != 0 }

// With returns the set with e added.
func (s EndpointSet) With(e ...Endpoint) EndpointSet {
	for _, x := range e {
		s |= EndpointSet(x)
	}
	return s
}

// Names lists the set's endpoint names in the fixed order of EndpointNames.
func (s EndpointSet) Names() []string {
	out := []string{}
	for _, info := range endpointInfo {
		if s.Has(info.e) {
			out = append(out, info.name)
		}
	}
	return out
}

// String joins Names with commas.
func (s EndpointSet) String() string { return strings.Join(s.Names(), ",") }

// ParseEndpoints builds a set from names; it returns the first unknown name
// when there is one.
func ParseEndpoints(names []string) (s EndpointSet, unknown string) {
	for _, n := range names {
		e, ok := ParseEndpoint(n)
		if !ok {
			return 0, n
		}
		s = s.With(e)
	}
	return s, ""
}

// allOpenAI is what an OpenAI-compatible server of each kind serves at
// least.
const allOpenAI = EndpointSet(EndpointChat | EndpointCompletions | EndpointEmbeddings | EndpointResponses)

// DefaultEndpoints returns the endpoints a server of type t serves natively
// in its current releases: vLLM every one; SGLang and llama.cpp server no
// Responses API (llama.cpp serves Anthropic Messages, SGLang does not);
// Ollama (≥ 0.14) and LM Studio (≥ 0.4.1) everything but rerank; exo chat
// only; OpenAI-compatible clouds and generic servers OpenAI's own set (chat,
// completions, embeddings, responses); an Anthropic-API backend only
// Messages. A backend's configured endpoints replace these.
func DefaultEndpoints(t Type) EndpointSet {
	switch t {
	case TypeVLLM:
		return allOpenAI.With(EndpointRerank, EndpointMessages)
	case TypeSGLang:
		return EndpointSet(EndpointChat | EndpointCompletions | EndpointEmbeddings | EndpointRerank)
	case TypeLlamaCpp:
		return EndpointSet(EndpointChat | EndpointCompletions | EndpointEmbeddings | EndpointRerank | EndpointMessages)
	case TypeOllama, TypeLMStudio:
		return allOpenAI.With(EndpointMessages)
	case TypeExo:
		return EndpointSet(EndpointChat)
	case TypeAnthropic:
		return EndpointSet(EndpointMessages)
	}
	return allOpenAI
}

// endpointURLs holds a backend's parsed endpoint URLs, one per entry of
// endpointInfo (nil where the URL does not parse).
type endpointURLs [len(endpointInfo)]*url.URL

func newEndpointURLs(base string) *endpointURLs {
	var u endpointURLs
	for i, info := range endpointInfo {
		u[i], _ = url.Parse(base + info.path)
	}
	return &u
}
