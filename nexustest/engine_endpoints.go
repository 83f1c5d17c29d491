package nexustest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The JSON endpoints of an Engine besides chat: model lists, llama.cpp's
// /slots, /props and /health, Ollama's /api/ps, /api/tags and /api/show.

const (
	engineModelCreated = 1700000000 // "created" of every /v1/models entry
	engineModelSize    = 4_920_000_000
	engineModifiedAt   = "2024-01-01T00:00:00Z"
	engineKeepAlive    = 5 * time.Minute // Ollama's default keep_alive
)

type engineModelList struct {
	Object string             `json:"object"`
	Data   []engineModelEntry `json:"data"`
}

type engineModelEntry struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"`
	Created     int64     `json:"created"`
	OwnedBy     string    `json:"owned_by"`
	Root        string    `json:"root,omitempty"`
	MaxModelLen int       `json:"max_model_len,omitempty"`
	Meta        *struct { // llama.cpp
		NCtxTrain int `json:"n_ctx_train"`
	} `json:"meta,omitempty"`
}

// openAIModels answers GET /v1/models with each engine's owner and context
// field (vLLM and SGLang: max_model_len; llama.cpp: meta.n_ctx_train).
func (e *Engine) openAIModels(w http.ResponseWriter, _ *http.Request) {
	list := engineModelList{Object: "list", Data: make([]engineModelEntry, 0, len(e.order))}
	for _, id := range e.order {
		m := engineModelEntry{ID: id, Object: "model", Created: engineModelCreated, OwnedBy: e.cfg.Type}
		switch e.cfg.Type {
		case EngineVLLM, EngineSGLang:
			m.Root, m.MaxModelLen = id, e.cfg.ContextLength
		case EngineLlamaCpp:
			m.Meta = &struct {
				NCtxTrain int `json:"n_ctx_train"`
			}{e.cfg.ContextLength}
		case EngineOllama:
			m.OwnedBy = "library"
		}
		list.Data = append(list.Data, m)
	}
	engineWriteJSON(w, http.StatusOK, list)
}

// llamaHealth answers GET /health as a ready llama.cpp server.
func (e *Engine) llamaHealth(w http.ResponseWriter, _ *http.Request) {
	engineWriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type engineLlamaSlot struct {
	ID           int                  `json:"id"`
	IDTask       int64                `json:"id_task"`
	NCtx         int                  `json:"n_ctx"`
	Speculative  bool                 `json:"speculative"`
	IsProcessing bool                 `json:"is_processing"`
	Params       engineLlamaParams    `json:"params"`
	NextToken    engineLlamaNextToken `json:"next_token"`
}

type engineLlamaParams struct {
	NPredict    int     `json:"n_predict"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`
	MaxTokens   int     `json:"max_tokens"`
}

type engineLlamaNextToken struct {
	HasNextToken bool `json:"has_next_token"`
	HasNewLine   bool `json:"has_new_line"`
	NRemain      int  `json:"n_remain"`
	NDecoded     int  `json:"n_decoded"`
}

func (e *Engine) llamaSlot(v engineSlotView) engineLlamaSlot {
	nRemain, predict := -1, -1
	if v.busy && v.remain > 0 {
		nRemain, predict = v.remain-v.doneN, v.remain
	}
	return engineLlamaSlot{
		ID: v.id, IDTask: v.task, NCtx: e.cfg.ContextLength, IsProcessing: v.busy,
		Params:    engineLlamaParams{NPredict: predict, Temperature: 0.8, TopK: 40, TopP: 0.95, MaxTokens: predict},
		NextToken: engineLlamaNextToken{HasNextToken: nRemain != 0, NRemain: nRemain, NDecoded: v.doneN},
	}
}

// llamaSlots answers GET /slots; with ?fail_on_no_slot=1 it answers 503
// when every slot is busy.
func (e *Engine) llamaSlots(w http.ResponseWriter, r *http.Request) {
	s := e.snapshot()
	if r.URL.Query().Get("fail_on_no_slot") == "1" && s.running >= len(s.slots) {
		engineWriteJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{
			"code": http.StatusServiceUnavailable, "message": "no slot available", "type": "unavailable_error",
		}})
		return
	}
	out := make([]engineLlamaSlot, len(s.slots))
	for i, v := range s.slots {
		out[i] = e.llamaSlot(v)
	}
	engineWriteJSON(w, http.StatusOK, out)
}

type engineLlamaProps struct {
	DefaultGenerationSettings engineLlamaSlot `json:"default_generation_settings"`
	TotalSlots                int             `json:"total_slots"`
	ModelPath                 string          `json:"model_path"`
	ChatTemplate              string          `json:"chat_template"`
	Modalities                map[string]bool `json:"modalities"`
	BuildInfo                 string          `json:"build_info"`
	IsSleeping                bool            `json:"is_sleeping"`
}

// llamaProps answers GET /props.
func (e *Engine) llamaProps(w http.ResponseWriter, _ *http.Request) {
	engineWriteJSON(w, http.StatusOK, engineLlamaProps{
		DefaultGenerationSettings: e.llamaSlot(engineSlotView{task: -1}),
		TotalSlots:                e.cfg.Slots,
		ModelPath:                 "/models/" + e.cfg.Models[0] + ".gguf",
		Modalities:                map[string]bool{"vision": false, "audio": false},
		BuildInfo:                 "b0-nexustest",
	})
}

// engineOllamaDetailsJSON is Ollama's api.ModelDetails.
type engineOllamaDetailsJSON struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

func engineOllamaDetails() engineOllamaDetailsJSON {
	return engineOllamaDetailsJSON{Format: "gguf", Family: "llama", Families: []string{"llama"}, ParameterSize: "8.0B", QuantizationLevel: "Q4_K_M"}
}

func engineDigest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// engineOllamaProcess is Ollama's api.ProcessModelResponse.
type engineOllamaProcess struct {
	Name          string                  `json:"name"`
	Model         string                  `json:"model"`
	Size          int64                   `json:"size"`
	Digest        string                  `json:"digest"`
	Details       engineOllamaDetailsJSON `json:"details"`
	ExpiresAt     time.Time               `json:"expires_at"`
	SizeVRAM      int64                   `json:"size_vram"`
	ContextLength int                     `json:"context_length"`
}

// ollamaPS answers GET /api/ps: the resident models, most recently used
// first, each expiring keep_alive (5m) after its last use.
func (e *Engine) ollamaPS(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	names := e.loadedModels()
	out := make([]engineOllamaProcess, len(names))
	for i, name := range names {
		out[i] = engineOllamaProcess{
			Name: name, Model: name, Size: engineModelSize, SizeVRAM: engineModelSize,
			Digest: engineDigest(name), Details: engineOllamaDetails(),
			ExpiresAt:     e.models[name].usedAt.Add(engineKeepAlive),
			ContextLength: e.cfg.ContextLength,
		}
	}
	e.mu.Unlock()
	engineWriteJSON(w, http.StatusOK, map[string]any{"models": out})
}

type engineOllamaTag struct {
	Name       string                  `json:"name"`
	Model      string                  `json:"model"`
	ModifiedAt string                  `json:"modified_at"`
	Size       int64                   `json:"size"`
	Digest     string                  `json:"digest"`
	Details    engineOllamaDetailsJSON `json:"details"`
}

// ollamaTags answers GET /api/tags: every model the engine can serve.
func (e *Engine) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	out := make([]engineOllamaTag, len(e.order))
	for i, name := range e.order {
		out[i] = engineOllamaTag{Name: name, Model: name, ModifiedAt: engineModifiedAt, Size: engineModelSize,
			Digest: engineDigest(name), Details: engineOllamaDetails()}
	}
	engineWriteJSON(w, http.StatusOK, map[string]any{"models": out})
}

// ollamaShow answers POST /api/show with the model's context length and
// capabilities.
func (e *Engine) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, engineMaxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		engineWriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("invalid request: %v", err)})
		return
	}
	id := req.Model
	if id == "" {
		id = req.Name
	}
	if _, ok := e.models[id]; !ok {
		engineWriteJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("model '%s' not found", id)})
		return
	}
	engineWriteJSON(w, http.StatusOK, map[string]any{
		"details":      engineOllamaDetails(),
		"model_info":   map[string]any{"general.architecture": "llama", "llama.context_length": e.cfg.ContextLength},
		"capabilities": []string{"completion"},
		"modified_at":  engineModifiedAt,
	})
}
