package registry

import (
	"net/url"
	"sync/atomic"
	"time"
)

// Type is the kind of inference server behind a backend. It decides how the
// backend is probed and how its models are listed.
type Type string

// Backend types understood by Nexus.
const (
	TypeOllama   Type = "ollama"
	TypeVLLM     Type = "vllm"
	TypeLlamaCpp Type = "llamacpp"
	TypeExo      Type = "exo"
	TypeOpenAI   Type = "openai"
	TypeLMStudio Type = "lmstudio"
	TypeSGLang   Type = "sglang"
	// TypeAnthropic is an Anthropic-API server (Anthropic's cloud or a
	// proxy of it): keys go in x-api-key and it serves /v1/messages.
	TypeAnthropic Type = "anthropic"
	TypeGeneric   Type = "generic"
)

// types is the one list of backend types, in the order Types returns them.
var types = [...]Type{TypeOllama, TypeVLLM, TypeLlamaCpp, TypeSGLang, TypeExo, TypeOpenAI, TypeLMStudio, TypeAnthropic, TypeGeneric}

// Types lists every backend type.
func Types() []Type { return append([]Type(nil), types[:]...) }

// ParseType returns the Type named by s ("llama.cpp" is accepted for
// llamacpp). ok is false for an unknown name.
func ParseType(s string) (t Type, ok bool) {
	if s == "llama.cpp" {
		return TypeLlamaCpp, true
	}
	for _, t := range types {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Status is a backend's health as seen by the gateway. Only StatusHealthy
// backends receive traffic.
type Status int32

// Backend statuses.
const (
	StatusUnknown Status = iota
	StatusHealthy
	StatusUnhealthy
	StatusDraining
)

// String returns the lower-case name used in JSON and logs.
func (s Status) String() string {
	switch s {
	case StatusHealthy:
		return "healthy"
	case StatusUnhealthy:
		return "unhealthy"
	case StatusDraining:
		return "draining"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseStatus is the inverse of Status.String.
func ParseStatus(s string) (Status, bool) {
	switch s {
	case "unknown":
		return StatusUnknown, true
	case "healthy":
		return StatusHealthy, true
	case "unhealthy":
		return StatusUnhealthy, true
	case "draining":
		return StatusDraining, true
	}
	return StatusUnknown, false
}

// Source says how a backend entered the registry.
type Source string

// Backend sources.
const (
	SourceStatic Source = "static"
	SourceMDNS   Source = "mdns"
	SourceManual Source = "manual"
)

// Config describes a backend to add to a Registry.
type Config struct {
	// ID identifies the backend; empty means Name.
	ID string
	// Name is the human name, shown in headers, tables and metrics.
	Name string
	// URL is the base URL, without a trailing slash or "/v1".
	URL string
	// Type is the kind of server; empty means TypeGeneric.
	Type Type
	// Priority orders backends; lower is preferred.
	Priority int
	// APIKey is sent to the backend as a bearer token. It never appears in
	// any listing, log or metric.
	APIKey string
	// Source says how the backend was found; empty means SourceStatic.
	Source Source
	// Models lists what the backend serves, if known in advance.
	Models []Model
	// Status is the initial status (StatusUnknown when zero).
	Status Status
	// Metadata holds free-form facts (for example an mDNS instance name).
	Metadata map[string]string
	// Endpoints are the inference APIs the backend serves natively; the
	// empty set means DefaultEndpoints(Type).
	Endpoints EndpointSet
	// MaxConcurrency is how many requests the backend serves at once; 0
	// means not configured (then the engine's reported slots are used).
	MaxConcurrency int
}

// Backend is one inference server and its live state. Identity fields are
// fixed once the backend is added; live state is read and written with
// atomic operations, so every method is safe for concurrent use.
// A Backend must not be copied.
type Backend struct {
	ID       string
	Name     string
	URL      string
	Type     Type
	Priority int
	Source   Source
	Metadata map[string]string

	apiKey         string
	maxConcurrency int                  // Config.MaxConcurrency
	load           atomic.Pointer[Load] // last load reading; nil before the first

	status    atomic.Int32
	pending   atomic.Int64
	total     atomic.Uint64
	failures  atomic.Int64 // consecutive failed requests (passive health)
	latencyUS atomic.Int64 // EWMA of probe latency in microseconds
	lastCheck atomic.Int64 // unix nanoseconds of the last status transition or check
	lastError atomic.Pointer[string]
	models    atomic.Pointer[modelSet]

	// Passive ejection: when ejectedUntil (unix nanoseconds) is set, the
	// backend was taken out by failed requests and may be tried again by
	// one request (trial) once that time has passed.
	ejectedUntil atomic.Int64
	trial        atomic.Bool

	endpoints EndpointSet
	urls      *endpointURLs // URL + each endpoint's path, parsed once
}

func newBackend(c Config) *Backend {
	b := &Backend{
		ID:       c.ID,
		Name:     c.Name,
		URL:      c.URL,
		Type:     c.Type,
		Priority: c.Priority,
		Source:   c.Source,
		Metadata: c.Metadata,
		apiKey:   c.APIKey,

		maxConcurrency: c.MaxConcurrency,
	}
	if b.ID == "" {
		b.ID = b.Name
	}
	if b.Type == "" {
		b.Type = TypeGeneric
	}
	if b.Source == "" {
		b.Source = SourceStatic
	}
	b.endpoints = c.Endpoints
	if b.endpoints == 0 {
		b.endpoints = DefaultEndpoints(b.Type)
	}
	b.urls = newEndpointURLs(b.URL)
	b.status.Store(int32(c.Status))
	b.models.Store(newModelSet(c.Models))
	b.lastCheck.Store(time.Now().UnixNano())
	return b
}

// EndpointURL returns URL + the endpoint's path (for example
// "/v1/chat/completions"), parsed once when the backend was added and then
// shared: callers must not modify it. It is nil when that URL does not
// parse or e is not a single known endpoint.
func (b *Backend) EndpointURL(e Endpoint) *url.URL {
	if i := endpointIndex(e); i >= 0 {
		return b.urls[i]
	}
	return nil
}

// Endpoints returns the inference APIs the backend serves natively.
func (b *Backend) Endpoints() EndpointSet { return b.endpoints }

// ServesEndpoint reports whether the backend serves e natively.
func (b *Backend) ServesEndpoint(e Endpoint) bool { return b.endpoints.Has(e) }

// APIKey returns the key the gateway sends to this backend ("" for none).
func (b *Backend) APIKey() string { return b.apiKey }

// Status returns the current status.
func (b *Backend) Status() Status { return Status(b.status.Load()) }

// Healthy reports whether the backend may receive traffic.
func (b *Backend) Healthy() bool { return b.Status() == StatusHealthy }

// SetStatus moves the backend to s and reports whether that changed it. A
// non-empty lastErr is remembered as the reason; moving to StatusHealthy
// clears it.
func (b *Backend) SetStatus(s Status, lastErr string) (changed bool) {
	old := Status(b.status.Swap(int32(s)))
	b.afterStatus(s, lastErr)
	return old != s
}

// afterStatus records what goes with a status change.
func (b *Backend) afterStatus(s Status, lastErr string) {
	b.lastCheck.Store(time.Now().UnixNano())
	switch {
	case s == StatusHealthy:
		b.lastError.Store(nil)
		b.failures.Store(0)
		b.ejectedUntil.Store(0)
		b.trial.Store(false)
	case lastErr != "":
		b.lastError.Store(&lastErr)
	}
}

// CompareAndSwapStatus moves the backend from old to s only if its status
// is still old, and reports whether it did; lastErr is kept as SetStatus
// keeps it. A prober uses it so that a status set meanwhile (an operator's
// draining) is not overwritten by a probe that finished at the same moment.
func (b *Backend) CompareAndSwapStatus(old, s Status, lastErr string) bool {
	if !b.status.CompareAndSwap(int32(old), int32(s)) {
		return false
	}
	b.afterStatus(s, lastErr)
	return true
}

// LastError returns the reason of the last failure ("" for none).
func (b *Backend) LastError() string {
	if p := b.lastError.Load(); p != nil {
		return *p
	}
	return ""
}

// LastCheck returns when the status was last set.
func (b *Backend) LastCheck() time.Time { return time.Unix(0, b.lastCheck.Load()) }

// Pending returns the number of requests in flight to this backend.
func (b *Backend) Pending() int64 { return b.pending.Load() }

// Begin counts one request in flight. Every Begin must be paired with End.
func (b *Backend) Begin() { b.pending.Add(1) }

// End ends one request started with Begin and counts it in Requests.
func (b *Backend) End() {
	if b.pending.Add(-1) < 0 {
		b.pending.Store(0)
	}
	b.total.Add(1)
}

// Requests returns how many requests this backend has completed.
func (b *Backend) Requests() uint64 { return b.total.Load() }

// ObserveLatency feeds a probe round-trip into the latency average, an
// exponentially weighted moving average with alpha 0.2 whose first sample is
// taken as is.
func (b *Backend) ObserveLatency(d time.Duration) {
	sample := d.Microseconds()
	if sample <= 0 {
		sample = 1
	}
	for {
		old := b.latencyUS.Load()
		next := sample
		if old != 0 {
			next = (sample + 4*old) / 5
		}
		if b.latencyUS.CompareAndSwap(old, next) {
			return
		}
	}
}

// Latency returns the latency average (0 until the first observation).
func (b *Backend) Latency() time.Duration {
	return time.Duration(b.latencyUS.Load()) * time.Microsecond
}

// RecordFailure counts one failed request and returns the number of
// consecutive failures so far.
func (b *Backend) RecordFailure() int64 { return b.failures.Add(1) }

// RecordSuccess resets the count of consecutive failed requests.
func (b *Backend) RecordSuccess() {
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
}

// Failures returns the number of consecutive failed requests.
func (b *Backend) Failures() int64 { return b.failures.Load() }

// Models returns the models the backend serves. The slice is shared and must
// not be modified.
func (b *Backend) Models() []Model { return b.models.Load().list }

// Model returns the backend's entry for the model id.
func (b *Backend) Model(id string) (Model, bool) {
	ms := b.models.Load()
	i, ok := ms.index[id]
	if !ok {
		return Model{}, false
	}
	return ms.list[i], true
}

// Serves reports whether the backend lists the model id.
func (b *Backend) Serves(id string) bool {
	_, ok := b.models.Load().index[id]
	return ok
}

// Eject takes a healthy backend out of rotation after failed requests
// (passive health), until the cool-down ends: then one request may try it
// (see HalfOpenReady and BeginTrial), and success readmits it. It reports
// whether the backend was healthy and is now ejected. A backend whose trial
// failed is ejected again with Eject as well.
func (b *Backend) Eject(cooldown time.Duration, reason string) bool {
	st := b.Status()
	if st != StatusHealthy && !(st == StatusUnhealthy && b.ejectedUntil.Load() != 0) {
		return false
	}
	b.ejectedUntil.Store(time.Now().Add(cooldown).UnixNano())
	b.trial.Store(false)
	if st == StatusUnhealthy {
		b.afterStatus(StatusUnhealthy, reason)
		return false
	}
	return b.CompareAndSwapStatus(StatusHealthy, StatusUnhealthy, reason)
}

// HalfOpenReady reports whether a passively ejected backend's cool-down
// has ended and no trial request is in flight: routing may choose it for
// one request. It is false for a backend its prober took out.
func (b *Backend) HalfOpenReady() bool {
	until := b.ejectedUntil.Load()
	return until != 0 && !b.trial.Load() && b.Status() == StatusUnhealthy && time.Now().UnixNano() >= until
}

// BeginTrial claims the one trial request of a half-open backend; false
// when another request already has it. The trial ends with Readmit on
// success or Eject on failure.
func (b *Backend) BeginTrial() bool {
	return b.HalfOpenReady() && b.trial.CompareAndSwap(false, true)
}

// Readmit ends a successful trial: the backend is healthy again. It
// reports whether it was in a trial.
func (b *Backend) Readmit() bool {
	if !b.trial.Load() {
		return false
	}
	return b.CompareAndSwapStatus(StatusUnhealthy, StatusHealthy, "")
}
