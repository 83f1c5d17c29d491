package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// Defaults applied by NewMDNSBrowser to zero MDNSOptions fields.
const (
	DefaultQueryInterval = 15 * time.Second
	DefaultQueryTimeout  = time.Second
)

// MDNSOptions tune an MDNSBrowser. The zero value is usable: every zero
// field takes its default.
type MDNSOptions struct {
	// Interface is the network interface queries are sent on; nil means the
	// system's default multicast interface. Tests pass the loopback
	// interface of a private network namespace.
	Interface *net.Interface
	// DisableIPv4 and DisableIPv6 turn off querying over that family (the
	// addresses announced are kept either way). By default both are used,
	// and a round whose IPv6 query cannot be sent is retried over IPv4
	// alone.
	DisableIPv4, DisableIPv6 bool
	// Interval is the time between two query rounds; default 15s. It must
	// be well below the Discoverer's GracePeriod.
	Interval time.Duration
	// QueryTimeout is how long a round listens for answers; default 1s.
	// Browse returns at most this long after its ctx is done.
	QueryTimeout time.Duration
	// Logger receives query failures (Warn for the first failing round
	// after a good one, else Debug) and the library's own messages
	// (Debug). nil discards.
	Logger *slog.Logger
}

// MDNSBrowser is the Browser on real multicast DNS, built on
// github.com/hashicorp/mdns: each round queries every service type at once
// over IPv4 and IPv6 and reports, when the round's QueryTimeout is over,
// each instance that answered with its SRV, TXT and address records.
type MDNSBrowser struct {
	opts   MDNSOptions
	libLog *log.Logger // the library's logger, writing to opts.Logger
}

// NewMDNSBrowser returns an MDNSBrowser. Zero fields of opts take their
// defaults.
func NewMDNSBrowser(opts MDNSOptions) *MDNSBrowser {
	if opts.Interval <= 0 {
		opts.Interval = DefaultQueryInterval
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &MDNSBrowser{opts: opts, libLog: log.New(slogWriter{opts.Logger}, "", 0)}
}

// Browse queries the service types (empty means DefaultServiceTypes) at
// once and then every Interval until ctx is done, calling found for each
// instance that answers. It returns an error only when the first round
// fails for every service type (no multicast socket can be opened or no
// query sent); later failures are logged and the next round tries again.
func (m *MDNSBrowser) Browse(ctx context.Context, serviceTypes []string, found func(Announcement)) error {
	if len(serviceTypes) == 0 {
		serviceTypes = DefaultServiceTypes()
	}
	if m.opts.DisableIPv4 && m.opts.DisableIPv6 {
		return errors.New("mdns: both IPv4 and IPv6 are disabled")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	healthy := true
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		err := m.round(ctx, serviceTypes, found)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && first:
			return err
		case err != nil && healthy:
			m.opts.Logger.Warn("discovery: mDNS query failed; retrying", "error", err, "in", m.opts.Interval)
		case err != nil:
			m.opts.Logger.Debug("discovery: mDNS query failed", "error", err)
		}
		healthy = err == nil
		timer.Reset(m.opts.Interval)
	}
}

// round queries every service type concurrently and returns an error when
// all of them failed.
func (m *MDNSBrowser) round(ctx context.Context, serviceTypes []string, found func(Announcement)) error {
	errs := make([]error, len(serviceTypes))
	var wg sync.WaitGroup
	for i, st := range serviceTypes {
		wg.Go(func() { errs[i] = m.query(ctx, st, found) })
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// query sends one query for a service type and reports what answers within
// QueryTimeout.
func (m *MDNSBrowser) query(ctx context.Context, serviceType string, found func(Announcement)) error {
	canon := canonicalService(serviceType)
	service, domain := splitService(canon)
	suffix := "." + service + "." + domain + "."

	// The library drops an answer when the channel is full, so a
	// goroutine drains it while the query runs. It keeps writing to an
	// entry after sending it (later records of the same instance), so
	// entries are read only once the query has returned.
	entries := make(chan *mdns.ServiceEntry, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var got []*mdns.ServiceEntry
		for e := range entries {
			got = append(got, e)
		}
		for _, e := range got {
			if a, ok := toAnnouncement(e, canon, suffix); ok {
				found(a)
			}
		}
	}()
	p := &mdns.QueryParam{
		Service:     service,
		Domain:      domain,
		Timeout:     m.opts.QueryTimeout,
		Interface:   m.opts.Interface,
		Entries:     entries,
		DisableIPv4: m.opts.DisableIPv4,
		DisableIPv6: m.opts.DisableIPv6,
		Logger:      m.libLog,
	}
	err := mdns.QueryContext(ctx, p)
	if err != nil && ctx.Err() == nil && !p.DisableIPv4 && !p.DisableIPv6 {
		// A host without an IPv6 route fails the whole query when the IPv6
		// copy cannot be sent: ask again over IPv4 alone.
		m.opts.Logger.Debug("discovery: mDNS query failed; retrying over IPv4 only", "service", canon, "error", err)
		p.DisableIPv6 = true
		err = mdns.QueryContext(ctx, p)
	}
	close(entries)
	<-done
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("mdns query %s: %w", canon, err)
	}
	return nil
}

// toAnnouncement converts the library's entry for the service type whose
// names end in suffix (".<service>.<domain>."). Entries of other service
// types (answers to another query seen on the shared multicast group) are
// dropped.
func toAnnouncement(e *mdns.ServiceEntry, service, suffix string) (Announcement, bool) {
	if len(e.Name) <= len(suffix) || !strings.EqualFold(e.Name[len(e.Name)-len(suffix):], suffix) {
		return Announcement{}, false
	}
	a := Announcement{
		Instance: unescapeLabel(e.Name[:len(e.Name)-len(suffix)]),
		Service:  service,
		Host:     e.Host,
		Port:     e.Port,
		TXT:      ParseTXT(e.InfoFields),
	}
	if ip, ok := netip.AddrFromSlice(e.AddrV4); ok {
		a.Addrs = append(a.Addrs, ip.Unmap())
	}
	if e.AddrV6IPAddr != nil {
		if ip, ok := netip.AddrFromSlice(e.AddrV6IPAddr.IP); ok {
			a.Addrs = append(a.Addrs, ip.WithZone(e.AddrV6IPAddr.Zone))
		}
	} else if ip, ok := netip.AddrFromSlice(e.AddrV6); ok {
		a.Addrs = append(a.Addrs, ip)
	}
	return a, true
}

// slogWriter turns the library's log lines into Debug records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug("discovery: mdns: " + string(bytes.TrimSpace(p)))
	return len(p), nil
}
