package health

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultInterval          = 30 * time.Second
	DefaultTimeout           = 5 * time.Second
	DefaultFailureThreshold  = 3
	DefaultRecoveryThreshold = 2
)

// showConcurrency bounds the Ollama /api/show requests of one probe.
const showConcurrency = 4

// maxBody bounds how much of a probe response is read; model lists of large
// hosted providers stay well below it.
const maxBody = 16 << 20

// Config tunes a Checker. The zero value is usable: every zero field takes
// its default.
type Config struct {
	// Interval is the time between two rounds of probes; default 30s.
	Interval time.Duration
	// Timeout bounds one probe; default 5s. The Ollama /api/show
	// enrichment that follows a successful /api/tags gets its own budget
	// of the same length.
	Timeout time.Duration
	// FailureThreshold is the number of consecutive failed probes that
	// move a healthy backend to unhealthy; default 3.
	FailureThreshold int
	// RecoveryThreshold is the number of consecutive successful probes
	// that move a backend the checker marked unhealthy back to healthy;
	// default 2.
	RecoveryThreshold int
	// Client sends the probes. nil means a private client with its own
	// Transport, whose idle connections are closed when Run returns or
	// Close is called.
	Client *http.Client
	// Logger receives status transitions at Info and routine probes at
	// Debug. nil discards.
	Logger *slog.Logger
	// OnProbe, if set, is called for every probe that got an HTTP answer
	// (whatever its status) with the probe's round-trip time; it feeds
	// the backend latency histogram.
	OnProbe func(b *registry.Backend, latency time.Duration)
	// OnChange, if set, is called after every status transition the
	// checker makes.
	//
	// Both callbacks run synchronously on the probing goroutine: they must
	// be quick and must not call Check for the same backend (that Check
	// would wait for the probe that is calling them).
	OnChange func(b *registry.Backend, from, to registry.Status)
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.RecoveryThreshold <= 0 {
		c.RecoveryThreshold = DefaultRecoveryThreshold
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// newClient returns a client with a private Transport sized for probes.
// Requests carry their own deadlines, so the client has no Timeout.
func newClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   showConcurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}
