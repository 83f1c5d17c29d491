package discovery

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nexusllm/nexus/registry"
)

// Metadata keys a discovered backend carries (registry.Backend.Metadata).
const (
	// MetaInstance is the announced instance name (upstream's key).
	MetaInstance = "mdns_instance"
	// MetaService is the service type it was found under.
	MetaService = "mdns_service"
	// MetaVersion is the TXT "version" value, when announced.
	MetaVersion = "version"
)

// Bounds on what an announcement may bring into the registry.
const (
	// MaxNameLen bounds a discovered backend's name in bytes.
	MaxNameLen = 128
	// maxMetaLen bounds each metadata value in bytes.
	maxMetaLen = 128
	// maxAPIPathLen bounds the TXT api_path.
	maxAPIPathLen = 256
)

// Reasons an announcement is not usable; resolve wraps them.
var (
	errNoInstance = errors.New("no instance name")
	errNoPort     = errors.New("no valid port")
	errNoAddr     = errors.New("no usable address")
	errBadTXT     = errors.New("bad TXT record")
)

// target is what an announcement resolves to: the registry entry to keep.
type target struct {
	key     string // service + instance: the identity
	name    string
	altName string // used when name is taken by another backend
	url     string
	typ     registry.Type
	meta    map[string]string
}

// same reports whether t and u describe the same backend.
func (t target) same(u target) bool {
	return t.url == u.url && t.typ == u.typ && t.meta[MetaVersion] == u.meta[MetaVersion]
}

// resolve turns an announcement into the backend it describes, or an error
// saying why it is not usable.
func resolve(a Announcement) (target, error) {
	inst := cleanText(a.Instance, maxMetaLen)
	if inst == "" {
		return target{}, errNoInstance
	}
	if a.Port <= 0 || a.Port > 65535 {
		return target{}, fmt.Errorf("%w: %d", errNoPort, a.Port)
	}
	addr, ok := pickAddr(a.Addrs)
	if !ok {
		return target{}, fmt.Errorf("%w among %v", errNoAddr, a.Addrs)
	}
	path, err := basePath(a.TXT["api_path"])
	if err != nil {
		return target{}, err
	}
	version := strings.TrimSpace(a.TXT["version"])
	if version != cleanText(version, maxMetaLen) {
		return target{}, fmt.Errorf("%w: version %q", errBadTXT, version)
	}
	service := canonicalService(a.Service)
	url, err := registry.CheckURL("http://" + hostPort(addr, a.Port) + path)
	if err != nil {
		return target{}, fmt.Errorf("%w: %v", errBadTXT, err)
	}
	meta := map[string]string{MetaInstance: inst, MetaService: service}
	if version != "" {
		meta[MetaVersion] = version
	}
	name := nameChars(a.Instance)
	if name == "" {
		// Nothing printable: a stable name from the bytes.
		h := fnv.New64a()
		h.Write([]byte(a.Instance))
		name = strconv.FormatUint(h.Sum64(), 16)
	}
	name = truncate("mdns-"+name, MaxNameLen)
	alt := truncate(name, MaxNameLen-1-len(serviceLabel(service))) + "-" + serviceLabel(service)
	return target{
		key:     service + "\x00" + a.Instance,
		name:    name,
		altName: alt,
		url:     url,
		typ:     backendType(a.TXT["type"], service),
		meta:    meta,
	}, nil
}

// pickAddr prefers the first IPv4 address, else the first usable IPv6 one.
// Unspecified, multicast and zone-less link-local IPv6 addresses are not
// usable.
func pickAddr(addrs []netip.Addr) (netip.Addr, bool) {
	var v6 netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case !a.IsValid() || a.IsUnspecified() || a.IsMulticast():
			continue
		case a.Is4():
			return a.WithZone(""), true
		case a.IsLinkLocalUnicast() && !validZone(a.Zone()):
			continue
		case !v6.IsValid():
			if !a.IsLinkLocalUnicast() {
				a = a.WithZone("")
			}
			v6 = a
		}
	}
	return v6, v6.IsValid()
}

// validZone reports whether an IPv6 zone is present and looks like an
// interface name or index, safe to put in a URL.
func validZone(z string) bool {
	if z == "" || len(z) > 64 {
		return false
	}
	for _, c := range []byte(z) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// hostPort writes addr and port for a URL: "10.0.0.2:11434",
// "[2001:db8::1]:8000", or "[fe80::1%25eth0]:8000" with the zone
// percent-encoded as RFC 6874 asks.
func hostPort(addr netip.Addr, port int) string {
	p := strconv.Itoa(port)
	if addr.Is4() {
		return addr.String() + ":" + p
	}
	h := addr.WithZone("").String()
	if z := addr.Zone(); z != "" {
		h += "%25" + z
	}
	return "[" + h + "]:" + p
}

// basePath turns a TXT api_path into the base path of the backend URL:
// "" for "", "/" and "/v1" (the gateway appends "/v1/..." itself, so a
// trailing "/v1" is dropped and never doubled), "/api" for "/api/v1/",
// "/openai" for "openai". It refuses characters a URL path cannot carry
// as is, "." and ".." segments, and over-long values.
func basePath(p string) (string, error) {
	if len(p) > maxAPIPathLen {
		return "", fmt.Errorf("%w: api_path longer than %d bytes", errBadTXT, maxAPIPathLen)
	}
	p = strings.Trim(p, "/")
	for _, c := range []byte(p) {
		if !isPathChar(c) {
			return "", fmt.Errorf("%w: api_path %q", errBadTXT, p)
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." || (seg == "" && p != "") {
			return "", fmt.Errorf("%w: api_path %q", errBadTXT, p)
		}
	}
	for p == "v1" || strings.HasSuffix(p, "/v1") {
		p = strings.TrimSuffix(strings.TrimSuffix(p, "v1"), "/")
	}
	if p == "" {
		return "", nil
	}
	return "/" + p, nil
}

// isPathChar reports whether c may stand unescaped in a URL path segment
// (RFC 3986 unreserved and sub-delims, ':' and '@', and '/').
func isPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// backendType reads the TXT "type" value; an unknown or missing one falls
// back to the service type's default: ollama for _ollama._tcp, else
// generic.
func backendType(txt, service string) registry.Type {
	if t, ok := registry.ParseType(strings.ToLower(strings.TrimSpace(txt))); ok {
		return t
	}
	if strings.HasPrefix(service, "_ollama._tcp.") {
		return registry.TypeOllama
	}
	return registry.TypeGeneric
}

// serviceLabel is the short name of a service type: "ollama" for
// "_ollama._tcp.local.".
func serviceLabel(service string) string {
	s, _ := splitService(service)
	s, _, _ = strings.Cut(strings.TrimPrefix(s, "_"), ".")
	if s = nameChars(s); s == "" {
		return "svc"
	}
	return truncate(s, 32)
}

// nameChars keeps letters and digits (any script), '-', '_' and '.', and
// turns every other run of characters (space, punctuation, control
// characters, invalid UTF-8) into one '-', trimmed at both ends.
func nameChars(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// cleanText drops control characters and invalid UTF-8 from s, trims
// space, and bounds it to max bytes.
func cleanText(s string, max int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
	return truncate(s, max)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quoteShort is s quoted for a log line, bounded.
func quoteShort(s string) string { return strconv.Quote(truncate(s, 64)) }
