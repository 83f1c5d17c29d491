package health

import (
	"strings"

	"github.com/nexusllm/nexus/registry"
)

// Name fragments ('|'-separated) that reveal a capability. They are matched
// against the lower-cased model name with '-', '_' and ' ' removed, so
// "Llama-3.1-8B" matches "llama3.1" and "minicpm-v" matches "minicpmv". The
// lists are the upstream ones plus a few well-known families.
const (
	visionHints = "llava|vision|llama4|pixtral|moondream|bakllava|minicpmv|" +
		"qwen2vl|qwen2.5vl|qwen3vl|internvl"
	toolHints = "mistral|llama3.1|llama3.2|llama3.3|llama4|qwen2.5|qwen3|commandr|firefunction|" +
		"mixtral|hermes3|granite3|gptoss|devstral|qwq"
	// gemma3Sizes are the Gemma 3 sizes that take images (1b does not).
	gemma3Sizes = "4b|12b|27b"
)

// guessCapabilities infers vision and tool support from a model name. A
// match gives CapYes; no match leaves CapUnknown (never CapNo), so a model
// the heuristics do not know is still allowed to receive such requests.
func guessCapabilities(name string) (vision, tools registry.Capability) {
	lower := strings.ToLower(name)
	compact := compactName(lower)
	if containsAny(compact, visionHints) || isGemma3Vision(lower, compact) {
		vision = registry.CapYes
	}
	if containsAny(compact, toolHints) {
		tools = registry.CapYes
	}
	return vision, tools
}

// compactName drops '-', '_' and ' ' from s.
func compactName(s string) string {
	if !strings.ContainsAny(s, "-_ ") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && c != '_' && c != ' ' {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// containsAny reports whether s contains one of the '|'-separated hints.
func containsAny(s, hints string) bool {
	for h := range strings.SplitSeq(hints, "|") {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

// isGemma3Vision reports a Gemma 3 model of a size that takes images, in
// Ollama ("gemma3:27b") or Hugging Face ("google/gemma-3-4b-it") spelling.
func isGemma3Vision(lower, compact string) bool {
	if !strings.Contains(compact, "gemma3") || strings.Contains(compact, "gemma3n") {
		return false
	}
	for size := range strings.SplitSeq(gemma3Sizes, "|") {
		for i := 0; ; {
			j := strings.Index(lower[i:], size)
			if j < 0 {
				break
			}
			j += i
			end := j + len(size)
			if j > 0 && isSeparator(lower[j-1]) && (end == len(lower) || !isAlnum(lower[end])) {
				return true
			}
			i = j + 1
		}
	}
	return false
}

func isSeparator(c byte) bool {
	return c == ':' || c == '-' || c == '_' || c == '/' || c == '.' || c == ' '
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
