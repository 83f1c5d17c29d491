package limits

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Role
		wantErr string
	}{
		{"user", RoleUser, ""},
		{"admin", RoleAdmin, ""},
		{" Admin ", RoleAdmin, ""},
		{"USER", RoleUser, ""},
		{"", RoleUser, ""},
		{"root", RoleUser, `unknown role "root" (want "user" or "admin")`},
		{"admins", RoleUser, "unknown role"},
	}
	for _, tc := range tests {
		got, err := ParseRole(tc.in)
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestRoleText(t *testing.T) {
	t.Parallel()
	for _, r := range []Role{RoleUser, RoleAdmin} {
		text, err := r.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, r.String(), string(text))
		var back Role
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, r, back)
	}
	assert.Equal(t, "Role(7)", Role(7).String())
	_, err := Role(7).MarshalText()
	assert.Error(t, err)
	r := RoleAdmin
	assert.Error(t, r.UnmarshalText([]byte("superuser")))
	assert.Equal(t, RoleAdmin, r, "a failed UnmarshalText leaves the role alone")
}
