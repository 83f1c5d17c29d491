package health

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nexusllm/nexus/registry"
)

// tagModel is one entry of Ollama's GET /api/tags.
type tagModel struct {
	Name       string `json:"name"`
	Model      string `json:"model"`
	Digest     string `json:"digest"`
	ModifiedAt string `json:"modified_at"`
}

// id returns the name clients use for the model.
func (t tagModel) id() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Model
}

// version identifies one build of the model; a changed version needs a
// new /api/show.
func (t tagModel) version() string { return t.Digest + "|" + t.ModifiedAt }

// parseTags parses an Ollama /api/tags body. ok is false when the body is
// not JSON or has no "models" array. Entries without a name are dropped and
// duplicates keep their first occurrence.
func parseTags(body []byte) (tags []tagModel, ok bool) {
	var doc struct {
		Models *[]tagModel `json:"models"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Models == nil {
		return nil, false
	}
	seen := make(map[string]struct{}, len(*doc.Models))
	tags = make([]tagModel, 0, len(*doc.Models))
	for _, t := range *doc.Models {
		id := t.id()
		if id == "" {
			continue
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		tags = append(tags, t)
	}
	return tags, true
}

// openAIModel is one entry of an OpenAI-style GET /v1/models. Besides the
// id, the context window is read from whichever field the server uses:
// context_length (OpenRouter and others), max_model_len (vLLM) or
// context_window (Groq).
type openAIModel struct {
	ID            string     `json:"id"`
	ContextLength lenientInt `json:"context_length"`
	MaxModelLen   lenientInt `json:"max_model_len"`
	ContextWindow lenientInt `json:"context_window"`
}

// parseOpenAIModels parses an OpenAI-style /v1/models body. ok is false when
// the body is not JSON or has no "data" array.
func parseOpenAIModels(body []byte) (models []registry.Model, ok bool) {
	var doc struct {
		Data *[]openAIModel `json:"data"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Data == nil {
		return nil, false
	}
	models = make([]registry.Model, 0, len(*doc.Data))
	seen := make(map[string]struct{}, len(*doc.Data))
	for _, e := range *doc.Data {
		if _, dup := seen[e.ID]; dup || e.ID == "" {
			continue
		}
		seen[e.ID] = struct{}{}
		m := registry.Model{ID: e.ID}
		m.Vision, m.Tools = guessCapabilities(e.ID)
		for _, n := range []lenientInt{e.ContextLength, e.MaxModelLen, e.ContextWindow} {
			if n > 0 {
				m.ContextLength = int(n)
				break
			}
		}
		models = append(models, m)
	}
	return models, true
}

// parseLlamaHealth parses a llama.cpp /health body. ok is false when the
// body is not JSON or has no string "status".
func parseLlamaHealth(body []byte) (status string, ok bool) {
	var doc struct {
		Status *string `json:"status"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Status == nil {
		return "", false
	}
	return *doc.Status, true
}

// showInfo is what Ollama's POST /api/show says about a model.
type showInfo struct {
	capabilities []string // nil when the server does not report them
	contextLen   int
}

// parseShow parses an Ollama /api/show body. The context length is the
// "<architecture>.context_length" entry of model_info, or else the first
// (in sorted order) key ending in ".context_length".
func parseShow(body []byte) (showInfo, bool) {
	var doc struct {
		Capabilities []string                   `json:"capabilities"`
		ModelInfo    map[string]json.RawMessage `json:"model_info"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return showInfo{}, false
	}
	info := showInfo{capabilities: doc.Capabilities}
	keys := make([]string, 0, 4)
	for k := range doc.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var arch string
	if raw, ok := doc.ModelInfo["general.architecture"]; ok {
		_ = json.Unmarshal(raw, &arch)
	}
	if i := slices.Index(keys, arch+".context_length"); i > 0 {
		keys[0], keys[i] = keys[i], keys[0]
	}
	for _, k := range keys {
		var n lenientInt
		_ = n.UnmarshalJSON(doc.ModelInfo[k])
		if n > 0 {
			info.contextLen = int(n)
			break
		}
	}
	return info, true
}

// lenientInt decodes a JSON number (or a numeric string) and ignores
// anything else, so one odd field never makes a whole model list
// unparseable.
type lenientInt int

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (n *lenientInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(bytes.TrimSpace(b), `"`)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > math.MaxInt32 || math.IsNaN(f) {
		*n = 0
		return nil
	}
	*n = lenientInt(f)
	return nil
}
