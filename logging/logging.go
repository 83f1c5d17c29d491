// Package logging builds the slog loggers Nexus uses: text or JSON output,
// a base level, and per-component levels. Components are named by a
// "component" attribute (logger.With("component", "health")); a record from
// a logger carrying one is filtered by that component's level instead of the
// base level.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ComponentKey is the attribute that names a component.
const ComponentKey = "component"

// Config describes a logger.
type Config struct {
	// Level is the base level: debug, info, warn or error ("trace" is
	// debug, "warning" is warn). Empty means info.
	Level string
	// Format is "pretty" (text lines; "text" is accepted) or "json", as
	// ParseFormat reads it. Empty means pretty.
	Format string
	// ComponentLevels maps a component name to its own level.
	ComponentLevels map[string]string
}

// ParseLevel parses a level name, one of Levels ("trace" is debug,
// "warning" is warn, empty is info); case and surrounding space are ignored.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace", "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown level %q (want %s)", s, strings.Join(Levels(), ", "))
}

// New returns a logger writing to w as cfg says.
func New(w io.Writer, cfg Config) (*slog.Logger, error) {
	base, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	levels := make(map[string]slog.Level, len(cfg.ComponentLevels))
	lowest := base
	for name, l := range cfg.ComponentLevels {
		lv, err := ParseLevel(l)
		if err != nil {
			return nil, fmt.Errorf("logging: component %q: %w", name, err)
		}
		levels[name] = lv
		lowest = min(lowest, lv)
	}
	format, err := ParseFormat(cfg.Format)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lowest}
	var h slog.Handler
	if format == FormatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	if len(levels) == 0 {
		return slog.New(&leveled{h: h, min: base}), nil
	}
	return slog.New(&leveled{h: h, min: base, levels: levels}), nil
}

// leveled filters records by the level of the component its logger was
// given with With, or by the base level.
type leveled struct {
	h      slog.Handler
	min    slog.Level
	levels map[string]slog.Level
}

func (l *leveled) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.h.Enabled(ctx, level)
}

func (l *leveled) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

func (l *leveled) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &leveled{h: l.h.WithAttrs(attrs), min: l.min, levels: l.levels}
	for _, a := range attrs {
		if a.Key != ComponentKey {
			continue
		}
		if lv, ok := l.levels[a.Value.String()]; ok {
			n.min = lv
		}
	}
	return n
}

func (l *leveled) WithGroup(name string) slog.Handler {
	return &leveled{h: l.h.WithGroup(name), min: l.min, levels: l.levels}
}
