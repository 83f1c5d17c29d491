package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// Values of the limit label of nexus_rate_limited_total: which per-key
// limit refused a request. Any other value is recorded as OtherLabel.
const (
	LimitRequests    = "requests"    // requests per window
	LimitTokens      = "tokens"      // tokens per window
	LimitConcurrency = "concurrency" // requests in flight
)

// NoKeyLabel is the key label of a rate-limit refusal recorded with no key
// (RecordRateLimited with key "").
const NoKeyLabel = "none"

// keyStatusKey identifies a nexus_key_requests_total series by accepted
// key name (or OtherLabel) and normalised status.
type keyStatusKey struct {
	key    string
	status int
}

// keyTypeKey identifies a nexus_key_tokens_total series.
type keyTypeKey struct {
	key    string
	prompt bool
}

// keyLimitKey identifies a nexus_rate_limited_total series; limit is one
// of the Limit constants or OtherLabel.
type keyLimitKey struct {
	key, limit string
}

// SetKnownKeys replaces the set of API key names accepted as values of the
// key label (the names of the keys in the gateway's configuration, never
// the secrets). Requests and refusals with other names are recorded as
// OtherLabel.
func (m *Metrics) SetKnownKeys(names []string) {
	if m == nil {
		return
	}
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		if n != "" {
			set[n] = struct{}{}
		}
	}
	m.knownKeys.Store(&set)
}

// acceptKey returns name if it was passed to SetKnownKeys, else OtherLabel.
func (m *Metrics) acceptKey(name string) string {
	if _, ok := (*m.knownKeys.Load())[name]; ok {
		return name
	}
	return OtherLabel
}

// recordKey records the key families of one request with a key.
func (m *Metrics) recordKey(r *Request, status int) {
	key := m.acceptKey(r.Key)
	m.keyRequests.get(keyStatusKey{key, status}, keyStatusKey{OtherLabel, status}, m.buildKeyStatus).add(1)
	if r.HasUsage {
		if r.PromptTokens > 0 {
			m.keyTokens.get(keyTypeKey{key, true}, keyTypeKey{OtherLabel, true}, m.buildKeyType).add(r.PromptTokens)
		}
		if r.CompletionTokens > 0 {
			m.keyTokens.get(keyTypeKey{key, false}, keyTypeKey{OtherLabel, false}, m.buildKeyType).add(r.CompletionTokens)
		}
	}
}

func (m *Metrics) buildKeyStatus(k keyStatusKey) (keyStatusKey, *obsCounter) {
	c := newObsCounter(attribute.String(keyKey, m.keyNames.labelOf(k.key)), attribute.String(keyStatus, statusLabel(k.status)))
	k.key = cloneName(k.key)
	return k, c
}

func (m *Metrics) buildKeyType(k keyTypeKey) (keyTypeKey, *obsCounter) {
	typ := tokenCompletion
	if k.prompt {
		typ = tokenPrompt
	}
	c := newObsCounter(attribute.String(keyKey, m.keyNames.labelOf(k.key)), attribute.String(keyType, typ))
	k.key = cloneName(k.key)
	return k, c
}

// RecordRateLimited counts one request refused by a per-key limit: key is
// the key's configured name ("" for a request without a key, recorded as
// NoKeyLabel; unknown names as OtherLabel) and limit one of LimitRequests,
// LimitTokens and LimitConcurrency (others are recorded as OtherLabel).
func (m *Metrics) RecordRateLimited(_ context.Context, key, limit string) {
	if m == nil {
		return
	}
	switch limit {
	case LimitRequests, LimitTokens, LimitConcurrency:
	default:
		limit = OtherLabel
	}
	if key == "" {
		key = NoKeyLabel
	} else {
		key = m.acceptKey(key)
	}
	m.rateLimited.get(keyLimitKey{key, limit}, keyLimitKey{OtherLabel, limit}, m.buildKeyLimit).add(1)
}

func (m *Metrics) buildKeyLimit(k keyLimitKey) (keyLimitKey, *obsCounter) {
	label := NoKeyLabel
	if k.key != NoKeyLabel {
		label = m.keyNames.labelOf(k.key)
	}
	c := newObsCounter(attribute.String(keyKey, label), attribute.String(keyLimit, k.limit))
	k.key = cloneName(k.key)
	return k, c
}
