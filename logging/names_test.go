package logging_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/logging"
)

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"pretty", logging.FormatPretty, false},
		{" Text ", logging.FormatPretty, false},
		{"", logging.FormatPretty, false},
		{"JSON", logging.FormatJSON, false},
		{"xml", "", true},
		{"logfmt", "", true},
	}
	for _, tt := range tests {
		got, err := logging.ParseFormat(tt.in)
		if tt.wantErr {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), "(want pretty, json)")
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// TestNamesAreAccepted checks that every listed name parses, so a list
// used in an error message never offers a value the parser rejects.
func TestNamesAreAccepted(t *testing.T) {
	t.Parallel()
	for _, name := range logging.Levels() {
		lv, err := logging.ParseLevel(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, strings.ToLower(lv.String()), "a level's name is its slog name")
	}
	for _, name := range logging.Formats() {
		got, err := logging.ParseFormat(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, got)
	}
	_, err := logging.ParseLevel("loud")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(want debug, info, warn, error)")

	// The caller owns the returned slices.
	logging.Levels()[0], logging.Formats()[0] = "x", "x"
	assert.Equal(t, "debug", logging.Levels()[0])
	assert.Equal(t, "pretty", logging.Formats()[0])
}
