package limits

import (
	"fmt"
	"net/netip"
)

// AdminAllowed reports whether a request may use the admin API (its writes):
// with keys configured, only with an admin key (p is the request's principal,
// nil if it has none); with no keys (k nil or empty), only from a loopback
// client address (127.0.0.0/8 or ::1, also IPv4-mapped). remoteAddr is
// http.Request.RemoteAddr, "host:port" or a bare address; a malformed one is
// refused. When it refuses, the message explains how to get access, for the
// body of a 403.
func (k *Keyring) AdminAllowed(p *Principal, remoteAddr string) (bool, string) {
	if k.Len() > 0 {
		switch {
		case p != nil && p.role == RoleAdmin:
			return true, ""
		case p != nil:
			return false, fmt.Sprintf("The key %q has role %q; admin operations need a key with role %q.", p.name, p.role, RoleAdmin)
		}
		return false, fmt.Sprintf("Admin operations need an API key with role %q, sent as 'Authorization: Bearer <key>'.", RoleAdmin)
	}
	if loopback(remoteAddr) {
		return true, ""
	}
	return false, fmt.Sprintf("Admin operations are accepted only from the gateway's own host while it has no API keys. "+
		"To allow remote admin, configure a key with role = %q in [[keys]] and send it as 'Authorization: Bearer <key>'.", RoleAdmin)
}

// loopback reports whether addr ("ip:port" or "ip") is a loopback address.
func loopback(addr string) bool {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		ip = ap.Addr()
	} else if ip, err = netip.ParseAddr(addr); err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}
