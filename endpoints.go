package nexus

import (
	"net/http"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
)

// apiStyle is the API family of an endpoint: it decides the error envelope
// the client gets.
type apiStyle uint8

const (
	apiOpenAI apiStyle = iota
	apiAnthropic
)

// endpoint is one inference endpoint of the gateway. Every endpoint goes
// through the same pipeline (serveInference): read and peek the body once,
// route, forward with failover before the first byte, record, log. Adding
// an endpoint is an entry here plus its peek function.
type endpoint struct {
	// name is the endpoint's name in metrics, history and logs
	// (metrics.Endpoint*).
	name   string
	method string
	path   string
	api    apiStyle
	// peek validates the body and extracts what routing needs.
	peek func(body []byte) (openai.Request, error)
	// native is the backend endpoint that serves the request as it is, and
	// dialect what such a backend answers in.
	native  registry.Endpoint
	dialect proxy.Dialect
	// translated, when set, lets backends that serve another endpoint
	// serve this one through translation.
	translated *translation
	// generation and embedding are the model kinds the endpoint needs.
	generation, embedding bool
	// askUsage: for a stream, ask the backend for a usage chunk (OpenAI's
	// stream_options.include_usage) so tokens are counted, and drop that
	// chunk again if the client did not ask for it.
	askUsage bool
	// upstreamPath, when set, is appended to native's backend path
	// (count_tokens lives under /v1/messages).
	upstreamPath string
	// estimate, when set, answers the request at the gateway for a
	// backend that does not serve native (or answers it with 404).
	estimate func(c *call) ([]byte, error)
	// serve, when set, replaces the pipeline (requests addressed to one
	// stored object, such as GET /v1/responses/{id}).
	serve func(g *Gateway, w http.ResponseWriter, r *http.Request, ep *endpoint)
}

// endpoints is the table of inference endpoints.
var endpoints = [...]endpoint{
	{
		name: metrics.EndpointChat, method: http.MethodPost, path: "/v1/chat/completions",
		peek: openai.PeekChat, native: registry.EndpointChat, dialect: proxy.DialectChat,
		translated: chatThroughMessages, generation: true, askUsage: true,
	},
	{
		name: metrics.EndpointCompletions, method: http.MethodPost, path: "/v1/completions",
		peek: openai.PeekCompletions, native: registry.EndpointCompletions, dialect: proxy.DialectChat,
		generation: true, askUsage: true,
	},
	{
		name: metrics.EndpointEmbeddings, method: http.MethodPost, path: "/v1/embeddings",
		peek: openai.PeekEmbeddings, native: registry.EndpointEmbeddings, dialect: proxy.DialectChat,
		embedding: true,
	},
	{
		name: metrics.EndpointRerank, method: http.MethodPost, path: "/v1/rerank",
		peek: openai.PeekRerank, native: registry.EndpointRerank, dialect: proxy.DialectChat,
	},
	{
		name: metrics.EndpointResponses, method: http.MethodPost, path: "/v1/responses",
		peek: openai.PeekResponses, native: registry.EndpointResponses, dialect: proxy.DialectResponses,
		generation: true,
	},
	{
		name: metrics.EndpointResponses, method: http.MethodGet, path: "/v1/responses/{id}",
		native: registry.EndpointResponses, dialect: proxy.DialectResponses, serve: (*Gateway).serveResponseByID,
	},
	{
		name: metrics.EndpointResponses, method: http.MethodDelete, path: "/v1/responses/{id}",
		native: registry.EndpointResponses, dialect: proxy.DialectResponses, serve: (*Gateway).serveResponseByID,
	},
	{
		name: metrics.EndpointMessages, method: http.MethodPost, path: "/v1/messages", api: apiAnthropic,
		peek: openai.PeekMessages, native: registry.EndpointMessages, dialect: proxy.DialectAnthropic,
		translated: messagesThroughChat, generation: true,
	},
	{
		name: metrics.EndpointCountTokens, method: http.MethodPost, path: "/v1/messages/count_tokens", api: apiAnthropic,
		peek: openai.PeekCountTokens, native: registry.EndpointMessages, dialect: proxy.DialectAnthropic,
		upstreamPath: "/count_tokens", estimate: estimateTokens,
	},
}

// backendEndpoints is the set of backend endpoints that can serve ep,
// natively or translated.
func (ep *endpoint) backendEndpoints() registry.EndpointSet {
	s := registry.EndpointSet(0).With(ep.native)
	if ep.translated != nil {
		s = s.With(ep.translated.backend)
	}
	if ep.estimate != nil {
		s = 0 // any backend of the model will do
	}
	return s
}
