package metrics

import (
	"cmp"
	"maps"
	"slices"
)

// EndpointStats describes the requests of one inference endpoint.
type EndpointStats struct {
	// Name is an Endpoint constant or OtherLabel.
	Name string `json:"name"`
	// Requests and Errors count nexus_endpoint_requests_total (errors:
	// non-2xx statuses).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// AverageDurationMs, P50DurationMs and P95DurationMs describe
	// nexus_endpoint_request_duration_seconds.
	AverageDurationMs float64 `json:"average_duration_ms"`
	P50DurationMs     float64 `json:"p50_duration_ms"`
	P95DurationMs     float64 `json:"p95_duration_ms"`
	// PromptTokens and CompletionTokens sum nexus_endpoint_tokens_total.
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
}

// KeyStats describes the requests of one API key.
type KeyStats struct {
	// Name is the key's configured name (not sanitised), OtherLabel or
	// NoKeyLabel.
	Name string `json:"name"`
	// Requests and Errors count nexus_key_requests_total (errors: non-2xx
	// statuses).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// PromptTokens and CompletionTokens sum nexus_key_tokens_total.
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
	// RateLimited counts the key's refusals by any limit.
	RateLimited uint64 `json:"rate_limited"`
}

// QueueStats summarises nexus_queue_depth and nexus_queue_wait_seconds.
type QueueStats struct {
	// Depth is the live queue depth; 0 when no depth function is set.
	Depth int64 `json:"depth"`
	// Waited counts every recorded wait, whatever its outcome, and
	// AverageWaitMs and P95WaitMs describe those waits.
	Waited        uint64  `json:"waited"`
	AverageWaitMs float64 `json:"average_wait_ms"`
	P95WaitMs     float64 `json:"p95_wait_ms"`
	// Served, Timeouts, Rejected and Cancelled count waits by outcome
	// (waits with an unknown outcome are only in Waited).
	Served    uint64 `json:"served"`
	Timeouts  uint64 `json:"timeouts"`
	Rejected  uint64 `json:"rejected"`
	Cancelled uint64 `json:"cancelled"`
}

// ReloadStats counts configuration reloads by result.
type ReloadStats struct {
	Success uint64 `json:"success"`
	Failure uint64 `json:"failure"`
}

// buildGateway fills the parts of s beyond the seed's.
func (m *Metrics) buildGateway(f *fold, s *Stats) {
	s.Endpoints = make([]EndpointStats, 0, len(f.endpoints))
	for name, a := range f.endpoints {
		s.Endpoints = append(s.Endpoints, EndpointStats{
			Name:              name,
			Requests:          a.requests,
			Errors:            a.errors,
			AverageDurationMs: a.duration.avgMs(),
			P50DurationMs:     a.duration.quantileMs(0.5),
			P95DurationMs:     a.duration.quantileMs(0.95),
			PromptTokens:      a.prompt,
			CompletionTokens:  a.completion,
		})
	}
	slices.SortFunc(s.Endpoints, func(a, b EndpointStats) int { return cmp.Compare(a.Name, b.Name) })
	s.Keys = m.buildKeys(f)
	s.RateLimited = f.rateLimited
	s.LogLinesSuppressed = f.logSuppressed
	s.Reloads = f.reloads
	s.Queue = f.queue
	s.Queue.Waited = f.queueWait.count
	s.Queue.AverageWaitMs = f.queueWait.avgMs()
	s.Queue.P95WaitMs = f.queueWait.quantileMs(0.95)
}

func (m *Metrics) buildKeys(f *fold) []KeyStats {
	known := *m.knownKeys.Load()
	out := make([]KeyStats, 0, len(known)+len(f.keys))
	claimed := make(map[string]bool, len(known))
	for _, name := range slices.Sorted(maps.Keys(known)) {
		label := SanitizeLabel(name)
		if claimed[label] {
			// Two configured names share a label: show the series once,
			// under the first name.
			continue
		}
		claimed[label] = true
		ks := keyStats(f.keys[label])
		ks.Name = name
		out = append(out, ks)
	}
	for label, a := range f.keys {
		if claimed[label] {
			continue
		}
		ks := keyStats(a)
		ks.Name = m.keyNames.originalOf(label)
		out = append(out, ks)
	}
	slices.SortFunc(out, func(a, b KeyStats) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func keyStats(a *keyAgg) KeyStats {
	if a == nil {
		return KeyStats{}
	}
	return KeyStats{
		Requests:         a.requests,
		Errors:           a.errors,
		PromptTokens:     a.prompt,
		CompletionTokens: a.completion,
		RateLimited:      a.rateLimited,
	}
}
