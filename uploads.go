package nexus

import (
	"net"
	"net/netip"
	"sync"
)

// defaultUploadsPerClient bounds the bodies one client address may be
// sending at once when server.max_uploads_per_client is 0.
const defaultUploadsPerClient = 256

// uploadGuard bounds how many request bodies one client address may be
// sending at once. Reading a body holds no concurrency slot (a slow upload
// must not block other clients), so this is what stops one address from
// holding many connections in the middle of an upload. A nil guard admits
// everything.
type uploadGuard struct {
	max    int
	shards [uploadShards]uploadShard
}

// uploadShards spreads the counters over several locks, so that requests
// from many clients do not all meet on one mutex.
const uploadShards = 32

type uploadShard struct {
	mu sync.Mutex
	n  map[netip.Addr]int // uploads in progress per address; no zero entries
}

// shard returns the shard that counts a.
func (u *uploadGuard) shard(a netip.Addr) *uploadShard {
	b := a.As16()
	h := uint32(2166136261)
	for _, c := range b[8:] {
		h = (h ^ uint32(c)) * 16777619
	}
	return &u.shards[h%uploadShards]
}

// newUploadGuard returns nil for max < 0 (no bound).
func newUploadGuard(max int) *uploadGuard {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = defaultUploadsPerClient
	}
	u := &uploadGuard{max: max}
	for i := range u.shards {
		u.shards[i].n = make(map[netip.Addr]int)
	}
	return u
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
	sh := u.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.n[a] >= u.max {
		return a, false
	}
	sh.n[a]++
	return a, true
}

// leave ends an upload counted by enter.
func (u *uploadGuard) leave(a netip.Addr) {
	if u == nil || !a.IsValid() {
		return
	}
	sh := u.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.n[a] <= 1 {
		delete(sh.n, a)
		return
	}
	sh.n[a]--
}
