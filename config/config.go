// Package config loads a nexus.toml file and NEXUS_* environment variables
// into a nexus.Config: defaults < file < environment; flags are the
// caller's. It owns the TOML parser, so an embedder that fills in a
// nexus.Config itself does not link it.
//
// Parse and Load decode a file over nexus.DefaultConfig, warn about keys
// they do not know and canonicalise spellings ("TRACE" → "debug",
// "llama.cpp" → "llamacpp"); ApplyEnv overlays the environment. Neither
// validates: call the result's Validate (nexus.New does too). Every name is
// checked by the package that uses it (registry, routing, logging), so the
// file, the environment, the admin API and the CLI accept the same values.
package config

import (
	_ "embed" // for the example configuration
	"errors"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"

	"github.com/nexusllm/nexus"
)

//go:embed nexus.example.toml
var example string

// Example returns the annotated example configuration written by
// `nexus config init`. The caller owns the returned slice.
func Example() []byte { return []byte(example) }

// Load reads and parses the TOML file at path (see Parse). A missing file
// yields an error wrapping fs.ErrNotExist; any other error names the path.
func Load(path string) (nexus.Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nexus.Config{}, nil, fmt.Errorf("read config: %w", err)
	}
	cfg, warnings, err := Parse(data)
	if err != nil {
		return nexus.Config{}, warnings, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, warnings, nil
}

// Parse decodes TOML data over nexus.DefaultConfig. Durations such as
// server.connect_timeout are strings ("5s"); a [[backends]] entry without
// priority gets nexus.DefaultBackendPriority. It returns warnings for keys
// it does not know, each naming the full key (`unknown config key
// "backends[0].nmae"`). A syntax error reports its line and column and
// wraps the toml.ParseError. The result is not validated; call Validate.
func Parse(data []byte) (nexus.Config, []string, error) {
	cfg := nexus.DefaultConfig()
	doc := string(data)
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		return nexus.Config{}, nil, wrapTOMLError(err)
	}
	// A generic view of the same document tells which array-of-tables
	// element holds a key; the typed MetaData only knows key names.
	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
		return nexus.Config{}, nil, wrapTOMLError(err)
	}
	for i := range cfg.Backends {
		if t := tableAt(raw["backends"], i); t == nil || t["priority"] == nil {
			cfg.Backends[i].Priority = nexus.DefaultBackendPriority
		}
	}
	normalize(&cfg)
	return cfg, unknownKeyWarnings(md.Undecoded(), raw), nil
}

// syntaxError is a TOML parse error rewritten as "line L, column C: msg".
type syntaxError struct{ pe toml.ParseError }

func (e *syntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.pe.Position.Line, e.pe.Position.Col, e.pe.Message)
}

func (e *syntaxError) Unwrap() error { return e.pe }

func wrapTOMLError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &syntaxError{pe: pe}
	}
	return err
}
