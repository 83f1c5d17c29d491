package logging

import (
	"fmt"
	"strings"
)

// Output formats, as ParseFormat returns them.
const (
	// FormatPretty is slog's text handler: one key=value line per record.
	FormatPretty = "pretty"
	// FormatJSON is slog's JSON handler: one JSON object per record.
	FormatJSON = "json"
)

// Levels returns the level names ParseLevel accepts, lowest first. It
// also accepts "trace" (debug), "warning" (warn) and empty (info). The
// caller owns the returned slice.
func Levels() []string { return []string{"debug", "info", "warn", "error"} }

// Formats returns the format names ParseFormat accepts, default first. It
// also accepts "text" (pretty) and empty (pretty). The caller owns the
// returned slice.
func Formats() []string { return []string{FormatPretty, FormatJSON} }

// ParseFormat returns the canonical name of an output format, FormatPretty
// or FormatJSON. Case and surrounding space are ignored; "text" and the
// empty string mean FormatPretty.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "text", FormatPretty:
		return FormatPretty, nil
	case FormatJSON:
		return FormatJSON, nil
	}
	return "", fmt.Errorf("logging: unknown format %q (want %s)", s, strings.Join(Formats(), ", "))
}
