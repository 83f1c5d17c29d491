package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Values of Request.Endpoint and of the endpoint label: the inference API a
// request came in on. Any other value, "" included, is recorded as
// OtherLabel.
const (
	EndpointChat        = "chat"         // POST /v1/chat/completions
	EndpointCompletions = "completions"  // POST /v1/completions
	EndpointEmbeddings  = "embeddings"   // POST /v1/embeddings
	EndpointRerank      = "rerank"       // POST /v1/rerank
	EndpointResponses   = "responses"    // /v1/responses and /v1/responses/{id}
	EndpointMessages    = "messages"     // POST /v1/messages (Anthropic)
	EndpointCountTokens = "count_tokens" // POST /v1/messages/count_tokens
	EndpointModels      = "models"       // GET /v1/models, /v1/models/{id}
)

// numEndpoints counts the endpoint label values, OtherLabel included.
const numEndpoints = 9

// endpointLabels returns the endpoint label values by index; OtherLabel is
// last. The array is a copy, so nothing global can be changed.
func endpointLabels() [numEndpoints]string {
	return [numEndpoints]string{
		EndpointChat, EndpointCompletions, EndpointEmbeddings, EndpointRerank, EndpointResponses,
		EndpointMessages, EndpointCountTokens, EndpointModels, OtherLabel,
	}
}

// endpointIndex returns the index of name in endpointLabels; unknown names
// get OtherLabel's.
func endpointIndex(name string) uint8 {
	switch name {
	case EndpointChat:
		return 0
	case EndpointCompletions:
		return 1
	case EndpointEmbeddings:
		return 2
	case EndpointRerank:
		return 3
	case EndpointResponses:
		return 4
	case EndpointMessages:
		return 5
	case EndpointCountTokens:
		return 6
	case EndpointModels:
		return 7
	}
	return numEndpoints - 1
}

// endpointEntry holds the fixed per-endpoint series: the duration
// histogram's options and the two token counters.
type endpointEntry struct {
	rec                []metric.RecordOption // endpoint
	prompt, completion *obsCounter           // endpoint, type
}

// epStatusKey identifies a nexus_endpoint_requests_total series.
type epStatusKey struct {
	ep     uint8
	status int // normalised by normStatus
}

func newEndpointEntries() [numEndpoints]endpointEntry {
	var es [numEndpoints]endpointEntry
	for i, label := range endpointLabels() {
		ek := attribute.String(keyEndpoint, label)
		es[i] = endpointEntry{
			rec:        recOpts(ek),
			prompt:     newObsCounter(ek, attribute.String(keyType, tokenPrompt)),
			completion: newObsCounter(ek, attribute.String(keyType, tokenCompletion)),
		}
	}
	return es
}

// recordEndpoint records the endpoint families of one request.
func (m *Metrics) recordEndpoint(ctx context.Context, r *Request, status int, seconds float64) {
	ep := endpointIndex(r.Endpoint)
	e := &m.endpoints[ep]
	m.epRequests.get(epStatusKey{ep, status}, epStatusKey{ep, 0}, buildEpStatus).add(1)
	m.ext.endpointDuration.Record(ctx, seconds, e.rec...)
	if r.HasUsage {
		e.prompt.add(r.PromptTokens)
		e.completion.add(r.CompletionTokens)
	}
}

func buildEpStatus(k epStatusKey) (epStatusKey, *obsCounter) {
	return k, newObsCounter(attribute.String(keyEndpoint, endpointLabels()[k.ep]), attribute.String(keyStatus, statusLabel(k.status)))
}
