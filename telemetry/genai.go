package telemetry

import (
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

const codeError = codes.Error

// Attribute keys of the gateway's own span attributes, beside the GenAI,
// HTTP and server semantic conventions.
const (
	KeyBackend       = attribute.Key("nexus.backend")        // backend name
	KeyRouteReason   = attribute.Key("nexus.route_reason")   // X-Nexus-Route-Reason
	KeyAttempt       = attribute.Key("nexus.attempt")        // attempt number, from 1
	KeyAttempts      = attribute.Key("nexus.attempts")       // attempts a request made
	KeyFallback      = attribute.Key("nexus.fallback")       // a fallback model served
	KeyRequestID     = attribute.Key("nexus.request_id")     // X-Request-Id
	KeyEndpoint      = attribute.Key("nexus.endpoint")       // metrics' endpoint name
	KeyTranslated    = attribute.Key("nexus.translated")     // the request was translated
	KeyPromptPreview = attribute.Key("nexus.prompt_preview") // only with content logging
)

// Operation returns gen_ai.operation.name for a gateway endpoint name (the
// metrics package's endpoint names): chat and messages are "chat",
// completions "text_completion", embeddings "embeddings", responses
// "chat"; other endpoints keep their own name (rerank, count_tokens).
func Operation(endpoint string) string {
	switch endpoint {
	case "chat", "messages", "responses":
		return semconv.GenAIOperationNameChat.Value.AsString()
	case "completions":
		return semconv.GenAIOperationNameTextCompletion.Value.AsString()
	case "embeddings":
		return semconv.GenAIOperationNameEmbeddings.Value.AsString()
	}
	return endpoint
}

// Provider returns gen_ai.provider.name for a backend type (registry type
// names): "openai" and "anthropic" are the convention's own values; other
// engines (vllm, ollama, llamacpp, ...) are named by their type, as the
// convention allows for providers it does not list.
func Provider(backendType string) string {
	if backendType == "" {
		return "generic"
	}
	return backendType
}

// Request is what the server span of a request records at its start.
type Request struct {
	Method    string // HTTP method, "POST"
	Route     string // the endpoint's path, "/v1/chat/completions"
	Endpoint  string // endpoint name (nexus.endpoint)
	Operation string // gen_ai.operation.name, see Operation
	RequestID string // X-Request-Id
}

func (r Request) attributes() []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.HTTPRoute(r.Route),
		semconv.GenAIOperationNameKey.String(r.Operation),
		KeyEndpoint.String(r.Endpoint),
		KeyRequestID.String(r.RequestID),
	}
}

// Outcome is what the server span of a request records at its end.
type Outcome struct {
	Status int // HTTP status the client got
	// Error is the error the client got, "" on success; ErrorType its
	// kind (a metrics error type), "" when none is known.
	Error, ErrorType string
	// RequestModel is the model the client asked for; ResponseModel the
	// model that served it ("" when no backend answered).
	RequestModel, ResponseModel string
	// Provider is gen_ai.provider.name of the backend that answered.
	Provider    string
	Backend     string
	RouteReason string
	Attempts    int
	Fallback    bool
	Translated  bool
	// Usage as the backend reported it, when HasUsage.
	InputTokens, OutputTokens int64
	HasUsage                  bool
	// Prompt is a preview of the prompt; recorded only when the Tracer
	// allows content (Config.ContentInSpans).
	Prompt string
}

func (o Outcome) attributes(content bool) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 14)
	kv = append(kv, semconv.HTTPResponseStatusCode(o.Status))
	if o.RequestModel != "" {
		kv = append(kv, semconv.GenAIRequestModel(o.RequestModel))
	}
	if o.ResponseModel != "" {
		kv = append(kv, semconv.GenAIResponseModel(o.ResponseModel))
	}
	if o.Provider != "" {
		kv = append(kv, semconv.GenAIProviderNameKey.String(o.Provider))
	}
	if o.Backend != "" {
		kv = append(kv, KeyBackend.String(o.Backend), KeyRouteReason.String(o.RouteReason),
			KeyAttempts.Int(o.Attempts), KeyFallback.Bool(o.Fallback))
	}
	if o.Translated {
		kv = append(kv, KeyTranslated.Bool(true))
	}
	if o.HasUsage {
		kv = append(kv, semconv.GenAIUsageInputTokens(int(o.InputTokens)), semconv.GenAIUsageOutputTokens(int(o.OutputTokens)))
	}
	if o.Error != "" || o.Status >= 500 {
		kv = append(kv, semconv.ErrorTypeKey.String(errorType(o.ErrorType, o.Status)))
	}
	if content && o.Prompt != "" {
		kv = append(kv, KeyPromptPreview.String(o.Prompt))
	}
	return kv
}

// errorType is error.type: the known kind, else the status code.
func errorType(kind string, status int) string {
	if kind != "" {
		return kind
	}
	return strconv.Itoa(status)
}

// Attempt is what the client span of one backend attempt records at its
// start.
type Attempt struct {
	Operation   string   // gen_ai.operation.name
	Model       string   // the model sent to the backend (gen_ai.request.model)
	Provider    string   // gen_ai.provider.name, see Provider
	Backend     string   // backend name
	RouteReason string   // why the router chose it
	Number      int      // attempt number, from 1
	Fallback    bool     // Model is a fallback of the requested model
	Target      *url.URL // the backend URL: server.address and server.port
}

func (a Attempt) spanName() string {
	if a.Model == "" {
		return a.Operation
	}
	return a.Operation + " " + a.Model
}

func (a Attempt) attributes() []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 10)
	kv = append(kv,
		semconv.GenAIOperationNameKey.String(a.Operation),
		semconv.GenAIRequestModel(a.Model),
		semconv.GenAIProviderNameKey.String(a.Provider),
		KeyBackend.String(a.Backend),
		KeyRouteReason.String(a.RouteReason),
		KeyAttempt.Int(a.Number),
		KeyFallback.Bool(a.Fallback),
	)
	if u := a.Target; u != nil {
		kv = append(kv, semconv.ServerAddress(u.Hostname()))
		if port := serverPort(u); port > 0 {
			kv = append(kv, semconv.ServerPort(port))
		}
	}
	return kv
}

// serverPort is the URL's port, or its scheme's default.
func serverPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch u.Scheme {
	case "https":
		return 443
	case "http":
		return 80
	}
	return 0
}

// AttemptResult is what the client span of an attempt records at its end.
type AttemptResult struct {
	// Status is the backend's HTTP status, 0 when it sent none.
	Status int
	// Err is the attempt's failure, nil on success; ErrorType its kind
	// (error.type), e.g. "connect", "timeout", "status".
	Err       error
	ErrorType string
	// ResponseModel is the model that answered (on success).
	ResponseModel string
	// Usage as the backend reported it, when HasUsage.
	InputTokens, OutputTokens int64
	HasUsage                  bool
}

func (r AttemptResult) attributes() []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 5)
	if r.Status > 0 {
		kv = append(kv, semconv.HTTPResponseStatusCode(r.Status))
	}
	if r.Err != nil {
		kv = append(kv, semconv.ErrorTypeKey.String(errorType(r.ErrorType, r.Status)))
		return kv
	}
	if r.ResponseModel != "" {
		kv = append(kv, semconv.GenAIResponseModel(r.ResponseModel))
	}
	if r.HasUsage {
		kv = append(kv, semconv.GenAIUsageInputTokens(int(r.InputTokens)), semconv.GenAIUsageOutputTokens(int(r.OutputTokens)))
	}
	return kv
}
