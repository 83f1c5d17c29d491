package nexus

import (
	"net"
	"net/netip"
	"sync"
)

// defaultUploadsPerClient bounds the bodies one client address may be
// sending at once when server.max_uploads_per_client is 0.
const defaultUploadsPerClient = 32

// uploadGuard bounds how many request bodies one client address may be
// sending at once. Reading a body holds no concurrency slot (a slow upload
// must not block other clients), so this is what stops one address from
// holding many connections in the middle of an upload. A nil guard admits
// everything.
type uploadGuard struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int // uploads in progress per address; no zero entries
}

// newUploadGuard returns nil for max < 0 (no bound).
func newUploadGuard(max int) *uploadGuard {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = defaultUploadsPerClient
	}
	return &uploadGuard{max: max, n: make(map[netip.Addr]int)}
}

// enter counts one upload from remoteAddr; false when the address already
// has max in progress. Every true must be paired with leave.
func (u *uploadGuard) enter(remoteAddr string) (netip.Addr, bool) {
	if u == nil {
		return netip.Addr{}, true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, true // not an IP (a unix socket, a test): no bound
	}
	a = a.Unmap()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[a] >= u.max {
		return a, false
	}
	u.n[a]++
	return a, true
}

// leave ends an upload counted by enter.
func (u *uploadGuard) leave(a netip.Addr) {
	if u == nil || !a.IsValid() {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[a] <= 1 {
		delete(u.n, a)
		return
	}
	u.n[a]--
}
