package config

import (
	"fmt"
	"strconv"

	"github.com/BurntSushi/toml"
)

// tableAt returns element i of an array of tables in its generic decoded
// form (regular or inline array), or nil.
func tableAt(v any, i int) map[string]any {
	switch a := v.(type) {
	case []map[string]any:
		if i < len(a) {
			return a[i]
		}
	case []any:
		if i < len(a) {
			t, _ := a[i].(map[string]any)
			return t
		}
	}
	return nil
}

// unknownKeyWarnings turns undecoded keys into warnings with array indices
// filled in from raw. Keys under an already reported key are skipped.
func unknownKeyWarnings(undecoded []toml.Key, raw map[string]any) []string {
	var warnings []string
	seen := make(map[string]bool)
	for _, k := range undecoded {
		if seen[k.String()] || hasSeenPrefix(k, seen) {
			continue
		}
		seen[k.String()] = true
		paths := expandKey(raw, k, "")
		if len(paths) == 0 {
			paths = []string{k.String()}
		}
		for _, p := range paths {
			warnings = append(warnings, fmt.Sprintf("unknown config key %q", p))
		}
	}
	return warnings
}

func hasSeenPrefix(k toml.Key, seen map[string]bool) bool {
	for n := 1; n < len(k); n++ {
		if seen[k[:n].String()] {
			return true
		}
	}
	return false
}

// expandKey lists every path in node matching key, with "[i]" after each
// array of tables it passes through. Each part is written as TOML writes a
// key: bare when it can be, quoted otherwise.
func expandKey(node any, key toml.Key, prefix string) []string {
	if len(key) == 0 {
		return []string{prefix}
	}
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[key[0]]
		if !ok {
			return nil
		}
		p := key[:1].String()
		if prefix != "" {
			p = prefix + "." + p
		}
		return expandKey(child, key[1:], p)
	case []map[string]any:
		var out []string
		for i, el := range n {
			out = append(out, expandKey(el, key, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case []any:
		var out []string
		for i, el := range n {
			out = append(out, expandKey(el, key, prefix+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}
