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
	TypeGeneric  Type = "generic"
)

// ParseType returns the Type named by s ("llama.cpp" is accepted for
// llamacpp). ok is false for an unknown name.
func ParseType(s string) (t Type, ok bool) {
	switch s {
	case "ollama", "vllm", "llamacpp", "exo", "openai", "lmstudio", "generic":
		return Type(s), true
	case "llama.cpp":
		return TypeLlamaCpp, true
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

	apiKey string

	status    atomic.Int32
	pending   atomic.Int64
	total     atomic.Uint64
	failures  atomic.Int64 // consecutive failed requests (passive health)
	latencyUS atomic.Int64 // EWMA of probe latency in microseconds
	lastCheck atomic.Int64 // unix nanoseconds of the last status transition or check
	lastError atomic.Pointer[string]
	models    atomic.Pointer[modelSet]
	chatURL   atomic.Pointer[url.URL] // URL + "/v1/chat/completions", parsed once
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
	b.status.Store(int32(c.Status))
	b.models.Store(newModelSet(c.Models))
	b.lastCheck.Store(time.Now().UnixNano())
	return b
}

// ChatURL returns the backend's chat completions endpoint, URL +
// "/v1/chat/completions", parsed on first use and then shared: callers
// must not modify it. It is nil when that URL does not parse.
func (b *Backend) ChatURL() *url.URL {
	if u := b.chatURL.Load(); u != nil {
		return u
	}
	u, err := url.Parse(b.URL + "/v1/chat/completions")
	if err != nil {
		return nil
	}
	b.chatURL.Store(u)
	return u
}

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
	b.lastCheck.Store(time.Now().UnixNano())
	switch {
	case s == StatusHealthy:
		b.lastError.Store(nil)
		b.failures.Store(0)
	case lastErr != "":
		b.lastError.Store(&lastErr)
	}
	return old != s
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
