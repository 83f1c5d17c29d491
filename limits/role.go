package limits

import (
	"fmt"
	"strings"
)

// Role is what a key may do. The zero Role is RoleUser.
type Role uint8

const (
	// RoleUser may use the inference API and read the operational
	// endpoints.
	RoleUser Role = iota
	// RoleAdmin may also change the gateway through the admin API.
	RoleAdmin

	roleCount = iota
)

// String returns the role's configuration name, "user" or "admin", or
// "Role(n)" for a value out of range.
func (r Role) String() string {
	switch r {
	case RoleUser:
		return "user"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// valid reports whether r is one of the declared roles.
func (r Role) valid() bool { return r < roleCount }

// ParseRole returns the role named s, ignoring case and surrounding space.
// The empty string is RoleUser, the default of a key without a role.
func ParseRole(s string) (Role, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RoleUser, nil
	}
	names := make([]string, 0, roleCount)
	for r := range Role(roleCount) {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
		names = append(names, fmt.Sprintf("%q", r.String()))
	}
	return RoleUser, fmt.Errorf("unknown role %q (want %s)", s, strings.Join(names, " or "))
}

// MarshalText returns the role's name.
func (r Role) MarshalText() ([]byte, error) {
	if !r.valid() {
		return nil, fmt.Errorf("invalid role %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText sets r from a role name as ParseRole reads it, so a Role can
// be decoded straight from TOML or JSON.
func (r *Role) UnmarshalText(text []byte) error {
	v, err := ParseRole(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
