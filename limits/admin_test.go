package limits

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminAllowed(t *testing.T) {
	t.Parallel()
	ring, err := New([]Key{{Name: "ops", Secret: "sk-ops", Role: RoleAdmin}, {Name: "team-a", Secret: "sk-a"}})
	require.NoError(t, err)
	admin, user := principal(t, ring, "sk-ops"), principal(t, ring, "sk-a")
	empty, err := New(nil)
	require.NoError(t, err)

	tests := []struct {
		name    string
		ring    *Keyring
		p       *Principal
		addr    string
		allowed bool
		msg     string
	}{
		{"admin key, remote", ring, admin, "203.0.113.9:51000", true, ""},
		{"admin key, loopback", ring, admin, "127.0.0.1:51000", true, ""},
		{"user key", ring, user, "127.0.0.1:51000", false, `The key "team-a" has role "user"; admin operations need a key with role "admin".`},
		{"keys but none sent, even from loopback", ring, nil, "[::1]:8000", false, `need an API key with role "admin"`},
		{"no keys, IPv4 loopback", empty, nil, "127.0.0.1:40000", true, ""},
		{"no keys, other 127/8", empty, nil, "127.8.9.10:40000", true, ""},
		{"no keys, IPv6 loopback", empty, nil, "[::1]:40000", true, ""},
		{"no keys, IPv4-mapped loopback", empty, nil, "[::ffff:127.0.0.1]:40000", true, ""},
		{"no keys, bare address", empty, nil, "::1", true, ""},
		{"nil keyring, loopback", nil, nil, "127.0.0.1:1", true, ""},
		{"no keys, remote IPv4", empty, nil, "192.168.1.20:40000", false, `configure a key with role = "admin" in [[keys]]`},
		{"no keys, remote IPv6", empty, nil, "[2001:db8::1]:40000", false, "only from the gateway's own host"},
		{"no keys, unspecified", empty, nil, "0.0.0.0:1", false, "only from"},
		{"no keys, hostname", empty, nil, "localhost:8000", false, "only from"},
		{"no keys, empty", empty, nil, "", false, "only from"},
		{"no keys, garbage", empty, nil, "[::1:80", false, "only from"},
		{"no keys, unix socket", empty, nil, "@", false, "only from"},
	}
	for _, tc := range tests {
		ok, msg := tc.ring.AdminAllowed(tc.p, tc.addr)
		assert.Equal(t, tc.allowed, ok, tc.name)
		if tc.msg == "" {
			assert.Empty(t, msg, tc.name)
		} else {
			assert.Contains(t, msg, tc.msg, tc.name)
		}
	}
}
