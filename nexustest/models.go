package nexustest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fixed values so that replies are reproducible.
const (
	modelCreated    = 1700000000 // "created" of every /v1/models entry
	modelModifiedAt = "2024-01-01T00:00:00Z"
	modelSize       = 4_000_000_000
)

// probe applies the probe failure and delay, then runs h.
func (b *Backend) probe(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if !wait(r.Context(), time.Duration(b.probeDelay.Load())) {
		return
	}
	if s := b.probeFail.Load(); failing(s) {
		d := openAIDialect
		if b.cfg.anthropic {
			d = anthropicDialect
		}
		b.injectFailure(w, d, int(s))
		return
	}
	h(w, r)
}

type openAIModelList struct {
	Object string        `json:"object"`
	Data   []openAIModel `json:"data"`
}

type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// listModels answers GET /v1/models in OpenAI's shape (OpenAI, vLLM, LM
// Studio, ...) or, with Anthropic, in Anthropic's.
func (b *Backend) listModels(w http.ResponseWriter, _ *http.Request) {
	ids := b.models.Load().ids
	if b.cfg.anthropic {
		list := anthropicModelList{Data: make([]anthropicModel, 0, len(ids))}
		for _, id := range ids {
			list.Data = append(list.Data, newAnthropicModel(id))
		}
		if len(ids) > 0 {
			list.FirstID, list.LastID = &ids[0], &ids[len(ids)-1]
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	list := openAIModelList{Object: "list", Data: make([]openAIModel, 0, len(ids))}
	for _, id := range ids {
		list.Data = append(list.Data, newOpenAIModel(id))
	}
	writeJSON(w, http.StatusOK, list)
}

// modelByID answers GET /v1/models/{id}: one entry of the list, or 404.
func (b *Backend) modelByID(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	switch {
	case !b.models.Load().has[id] && b.cfg.anthropic:
		b.notFound(w, anthropicDialect, "", "model: "+id)
	case !b.models.Load().has[id]:
		b.notFound(w, openAIDialect, "model_not_found",
			fmt.Sprintf("nexustest %s: the model '%s' does not exist", b.cfg.name, id))
	case b.cfg.anthropic:
		writeJSON(w, http.StatusOK, newAnthropicModel(id))
	default:
		writeJSON(w, http.StatusOK, newOpenAIModel(id))
	}
}

func newOpenAIModel(id string) openAIModel {
	return openAIModel{ID: id, Object: "model", Created: modelCreated, OwnedBy: "nexustest"}
}

// anthropicModelList is the shape of Anthropic's GET /v1/models.
type anthropicModelList struct {
	Data    []anthropicModel `json:"data"`
	HasMore bool             `json:"has_more"`
	FirstID *string          `json:"first_id"`
	LastID  *string          `json:"last_id"`
}

type anthropicModel struct {
	Type        string `json:"type"` // always "model"
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"` // RFC 3339
}

func newAnthropicModel(id string) anthropicModel {
	return anthropicModel{Type: "model", ID: id, DisplayName: id, CreatedAt: modelModifiedAt}
}

type ollamaTagList struct {
	Models []ollamaTag `json:"models"`
}

type ollamaTag struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	ModifiedAt string        `json:"modified_at"`
	Size       int64         `json:"size"`
	Digest     string        `json:"digest"`
	Details    ollamaDetails `json:"details"`
}

type ollamaDetails struct {
	Format            string `json:"format"`
	Family            string `json:"family"`
	ParameterSize     string `json:"parameter_size"`
	QuantizationLevel string `json:"quantization_level"`
}

func fakeDetails() ollamaDetails {
	return ollamaDetails{Format: "gguf", Family: "llama", ParameterSize: "7B", QuantizationLevel: "Q4_0"}
}

// ollamaTags answers GET /api/tags (Ollama's model list).
func (b *Backend) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	ids := b.models.Load().ids
	list := ollamaTagList{Models: make([]ollamaTag, 0, len(ids))}
	for _, id := range ids {
		sum := sha256.Sum256([]byte(id))
		list.Models = append(list.Models, ollamaTag{
			Name:       id,
			Model:      id,
			ModifiedAt: modelModifiedAt,
			Size:       modelSize,
			Digest:     hex.EncodeToString(sum[:]),
			Details:    fakeDetails(),
		})
	}
	writeJSON(w, http.StatusOK, list)
}

type ollamaShowRequest struct {
	Name  string `json:"name"`
	Model string `json:"model"`
}

type ollamaShowReply struct {
	Capabilities []string       `json:"capabilities"`
	ModelInfo    map[string]any `json:"model_info"`
	Details      ollamaDetails  `json:"details"`
}

// ollamaError is Ollama's own error shape: {"error":"..."}.
type ollamaError struct {
	Error string `json:"error"`
}

// ollamaShow answers POST /api/show with the model's capabilities and
// context length (see ModelInfo).
func (b *Backend) ollamaShow(w http.ResponseWriter, body []byte) {
	var req ollamaShowRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ollamaError{Error: fmt.Sprintf("nexustest %s: invalid JSON body: %v", b.cfg.name, err)})
		return
	}
	id := req.Model
	if id == "" {
		id = req.Name
	}
	if !b.models.Load().has[id] {
		writeJSON(w, http.StatusNotFound, ollamaError{Error: fmt.Sprintf("model '%s' not found", id)})
		return
	}
	info, ok := b.cfg.modelInfo[id]
	if !ok {
		info = modelInfo{contextLength: DefaultContextLength, caps: []string{"completion"}}
	}
	writeJSON(w, http.StatusOK, ollamaShowReply{
		Capabilities: info.caps,
		ModelInfo: map[string]any{
			"general.architecture": "llama",
			"llama.context_length": info.contextLength,
		},
		Details: fakeDetails(),
	})
}

type llamaStatus struct {
	Status string `json:"status"`
}

// llamaHealth answers GET /health the way llama.cpp's server does when ready.
func llamaHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, llamaStatus{Status: "ok"})
}
