package nexus

import (
	"sync"
	"time"
)

// logLinesPerSecond is how many warning lines of one kind the gateway
// writes per second; the rest are reported with the next line of that kind
// (attribute "suppressed") and counted at once in
// nexus_log_lines_suppressed_total.
const logLinesPerSecond = 10

// logSampler limits repeated warning lines per kind (a bounded set: the
// metrics' error types), so that a failing backend or a misbehaving client
// cannot flood the log. It is safe for concurrent use.
type logSampler struct {
	perSecond int
	now       func() time.Time
	mu        sync.Mutex
	kinds     map[string]*sampleWindow
}

type sampleWindow struct {
	second     int64 // unix second of the window
	written    int
	suppressed int64
}

func newLogSampler(perSecond int) *logSampler {
	return &logSampler{perSecond: perSecond, now: time.Now, kinds: make(map[string]*sampleWindow)}
}

// allow reports whether a line of kind may be written now, and how many
// lines of that kind were suppressed since the last one written (to report
// with it).
func (s *logSampler) allow(kind string) (ok bool, suppressed int64) {
	sec := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.kinds[kind]
	if w == nil {
		w = &sampleWindow{}
		s.kinds[kind] = w
	}
	if w.second != sec {
		w.second, w.written = sec, 0
	}
	if w.written >= s.perSecond {
		w.suppressed++
		return false, 0
	}
	w.written++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}
