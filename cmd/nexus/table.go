package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// ANSI colours. Every code has the same length, so a column whose cells are
// all painted stays aligned: tabwriter counts the escape bytes as width.
const (
	ansiGreen   = "\x1b[32m"
	ansiRed     = "\x1b[31m"
	ansiYellow  = "\x1b[33m"
	ansiDefault = "\x1b[39m"
	ansiReset   = "\x1b[0m"
)

// painter colours text when enabled (--color) and leaves it alone
// otherwise.
type painter struct{ on bool }

// paint wraps s in code when colours are on.
func (p painter) paint(code, s string) string {
	if !p.on {
		return s
	}
	return code + s + ansiReset
}

// status colours a backend status: healthy green, unhealthy red, anything
// else yellow.
func (p painter) status(s string) string { return p.paint(statusColour(s), s) }

// plain paints s in the default colour, so that it lines up with painted
// cells of the same column.
func (p painter) plain(s string) string { return p.paint(ansiDefault, s) }

func statusColour(s string) string {
	switch s {
	case "healthy":
		return ansiGreen
	case "unhealthy":
		return ansiRed
	}
	return ansiYellow
}

// statusMark is the one-character sign of a status in `nexus health`.
func statusMark(s string) string {
	switch s {
	case "healthy":
		return "✓"
	case "unhealthy":
		return "✗"
	case "draining":
		return "~"
	}
	return "?"
}

// table writes rows aligned in columns separated by two spaces.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds one row. Cells must not contain tabs or newlines: pass text
// from the server through clean first.
func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// clean replaces control characters (tabs, newlines, terminal escapes) in
// text received from the server, so that it cannot break the layout or
// drive the terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// flush writes the aligned table.
func (t *table) flush() error { return t.tw.Flush() }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// formatLatency shows a latency in milliseconds: one decimal below 10 ms,
// whole milliseconds above, "-" when none was measured.
func formatLatency(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// formatCount shows a non-negative count, "-" for zero.
func formatCount(n int) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
