package limits

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// A model pattern is a glob: '*' matches any run of characters, including
// '/' and ':' (model names such as "meta-llama/Llama-3-8B" or "qwen2.5:7b"
// contain them), '?' matches exactly one character, and every other
// character matches itself, case-sensitively. There are no character
// classes or escapes.

// globKind selects the matcher of a compiled pattern; the common shapes are
// plain string operations.
type globKind uint8

const (
	globExact   globKind = iota // no wildcard: equality
	globAny                     // "*"
	globPrefix                  // "abc*": strings.HasPrefix
	globSuffix                  // "*abc": strings.HasSuffix
	globGeneral                 // anything else: matchGlob
)

// glob is a compiled model pattern.
type glob struct {
	kind    globKind
	lit     string // the literal part for exact, prefix and suffix
	pattern string
}

// errEmptyPattern is returned for an empty model pattern, which would match
// nothing.
var errEmptyPattern = errors.New("empty model pattern")

// compileGlob classifies pattern.
func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, errEmptyPattern
	}
	g := glob{kind: globGeneral, pattern: pattern}
	switch wild := strings.Count(pattern, "*") + strings.Count(pattern, "?"); {
	case wild == 0:
		g.kind, g.lit = globExact, pattern
	case pattern == "*":
		g.kind = globAny
	case wild == 1 && pattern[len(pattern)-1] == '*':
		g.kind, g.lit = globPrefix, pattern[:len(pattern)-1]
	case wild == 1 && pattern[0] == '*':
		g.kind, g.lit = globSuffix, pattern[1:]
	}
	return g, nil
}

// match reports whether s matches the pattern.
func (g *glob) match(s string) bool {
	switch g.kind {
	case globExact:
		return s == g.lit
	case globAny:
		return true
	case globPrefix:
		return strings.HasPrefix(s, g.lit)
	case globSuffix:
		return strings.HasSuffix(s, g.lit)
	}
	return matchGlob(g.pattern, s)
}

// matchGlob reports whether s matches pattern. It walks both strings once,
// going back only to the last '*' seen, so it takes O(len(pattern)*len(s))
// at worst and allocates nothing.
func matchGlob(pattern, s string) bool {
	px, sx := 0, 0
	star, starS := -1, 0 // the last '*' in pattern and where its match ends in s
	for sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				star, starS = px, sx
				px++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px, sx = px+1, sx+n
				continue
			default:
				if c == s[sx] {
					px, sx = px+1, sx+1
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last star swallow one more character and retry after it.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		px, sx = star+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
