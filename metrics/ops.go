package metrics

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Values of the outcome label of nexus_queue_wait_seconds: how a request
// left the gateway's queue. Any other value is recorded as OtherLabel.
const (
	QueueServed    = "served"    // a slot freed and the request went on
	QueueTimeout   = "timeout"   // it waited the longest allowed
	QueueRejected  = "rejected"  // the queue was full
	QueueCancelled = "cancelled" // the client went away first
)

// numOutcomes counts the outcome label values, OtherLabel included.
const numOutcomes = 5

func outcomeIndex(outcome string) int {
	switch outcome {
	case QueueServed:
		return 0
	case QueueTimeout:
		return 1
	case QueueRejected:
		return 2
	case QueueCancelled:
		return 3
	}
	return numOutcomes - 1
}

func outcomeLabels() [numOutcomes]string {
	return [numOutcomes]string{QueueServed, QueueTimeout, QueueRejected, QueueCancelled, OtherLabel}
}

// Values of the result label of nexus_config_reloads_total.
const (
	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// RecordQueueWait observes how long one request waited in the gateway's
// queue, and how it left (QueueServed, QueueTimeout, QueueRejected or
// QueueCancelled; others are recorded as OtherLabel). Negative waits
// count as 0.
func (m *Metrics) RecordQueueWait(ctx context.Context, d time.Duration, outcome string) {
	if m == nil {
		return
	}
	m.ext.queueWait.Record(ctx, nonNegative(d).Seconds(), m.queueOpts[outcomeIndex(outcome)]...)
}

func newQueueOpts() [numOutcomes][]metric.RecordOption {
	var o [numOutcomes][]metric.RecordOption
	for i, label := range outcomeLabels() {
		o[i] = recOpts(attribute.String(keyOutcome, label))
	}
	return o
}

// SetQueueDepth sets the function nexus_queue_depth is observed from at
// each collection (nil removes it, and the gauge is then not exported). It
// runs under the SDK's collection lock, so it must be quick and must not
// record metrics.
func (m *Metrics) SetQueueDepth(depth func() int64) {
	if m == nil {
		return
	}
	m.queueDepth.Store(&depth)
}

// RecordReload counts one configuration reload: a success when err is
// nil, else a failure.
func (m *Metrics) RecordReload(_ context.Context, err error) {
	if m == nil {
		return
	}
	if err == nil {
		m.reloads[0].add(1)
	} else {
		m.reloads[1].add(1)
	}
}

func newReloadCounters() [2]*obsCounter {
	return [2]*obsCounter{
		newObsCounter(attribute.String(keyResult, ReloadSuccess)),
		newObsCounter(attribute.String(keyResult, ReloadFailure)),
	}
}

// RecordLogSuppressed counts n log lines that sampling dropped, by kind:
// one of the ErrorType values (others are recorded as OtherLabel). n of 0
// or less records nothing.
func (m *Metrics) RecordLogSuppressed(_ context.Context, kind string, n int64) {
	if m == nil || n <= 0 {
		return
	}
	t := ErrorType(kind)
	if !t.Valid() {
		t = OtherLabel
	}
	m.logSuppressed.get(t, OtherLabel, buildLogKind).add(n)
}

func buildLogKind(t ErrorType) (ErrorType, *obsCounter) {
	return t, newObsCounter(attribute.String(keyKind, string(t)))
}
