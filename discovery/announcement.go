package discovery

import (
	"context"
	"net/netip"
	"strings"
)

// Announcement is one service instance seen on the network: what a DNS-SD
// resolve yields (PTR → SRV, TXT, A/AAAA).
type Announcement struct {
	// Instance is the service instance's name, the first label of its DNS-SD
	// name without escapes (for example "GPU box" in
	// "GPU\ box._ollama._tcp.local."). It is the identity that stays the
	// same when the host's address or port changes.
	Instance string
	// Service is the service type, for example "_ollama._tcp.local.".
	Service string
	// Host is the target host of the SRV record (for example
	// "gpu-box.local."); informational only.
	Host string
	// Addrs are the host's addresses. An IPv6 link-local address carries
	// its zone when the browser knows the interface; without one it is
	// unusable and skipped.
	Addrs []netip.Addr
	// Port is the SRV port; 0 means the record had none (malformed).
	Port int
	// TXT holds the TXT record's key=value pairs, keys in lower case. A key
	// without "=" maps to "".
	TXT map[string]string
}

// Browser finds service instances on the network. It is the seam between
// the Discoverer and the wire: tests inject announcements through it.
type Browser interface {
	// Browse looks for instances of each service type (for example
	// "_ollama._tcp.local.") and calls found for every instance it
	// resolves, again each time it sees it again, from any goroutine, until
	// ctx is done. It returns nil once ctx is done and every goroutine it
	// started has stopped, or an error when browsing cannot work at all.
	Browse(ctx context.Context, serviceTypes []string, found func(Announcement)) error
}

// BrowserFunc adapts a function to the Browser interface.
type BrowserFunc func(ctx context.Context, serviceTypes []string, found func(Announcement)) error

// Browse calls f.
func (f BrowserFunc) Browse(ctx context.Context, serviceTypes []string, found func(Announcement)) error {
	return f(ctx, serviceTypes, found)
}

// ParseTXT turns TXT record strings ("key=value") into a map with lower-case
// keys, as RFC 6763 §6.4 reads them: the first "=" splits, a string without
// one is a boolean attribute (value ""), an empty key is dropped, and the
// first occurrence of a key wins.
func ParseTXT(fields []string) map[string]string {
	if len(fields) == 0 {
		return nil
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if k == "" {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// canonicalService writes a service type as "_name._proto.domain.": lower
// case, with a trailing dot, and "local." when the domain is missing.
func canonicalService(s string) string {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" {
		return ""
	}
	if strings.HasSuffix(s, "._tcp") || strings.HasSuffix(s, "._udp") {
		s += ".local"
	}
	return s + "."
}

// splitService splits a canonical service type into the service part
// ("_ollama._tcp") and the domain ("local").
func splitService(s string) (service, domain string) {
	s = strings.TrimSuffix(s, ".")
	for _, proto := range []string{"._tcp.", "._udp."} {
		if i := strings.Index(s, proto); i >= 0 {
			return s[:i+len(proto)-1], s[i+len(proto):]
		}
	}
	return s, "local"
}

// unescapeLabel undoes the presentation-format escapes of a DNS label
// ("\ " and "\." and "\DDD").
func unescapeLabel(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

// firstLabel returns the first label of a presentation-format DNS name,
// honouring escaped dots.
func firstLabel(name string) string {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			return name[:i]
		}
	}
	return name
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
