package signals

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// ParseLlamaCppSlots reads a llama.cpp server GET /slots answer, an array
// of slots: SlotsTotal is their number, SlotsBusy and Running count those
// with "is_processing" true. Waiting and KVCacheUsage stay -1. Anything but
// a JSON array of objects is an error.
func ParseLlamaCppSlots(body []byte) (*registry.Load, error) {
	var slots []struct {
		IsProcessing bool `json:"is_processing"`
	}
	if err := json.Unmarshal(body, &slots); err != nil {
		return nil, fmt.Errorf("parse slots: %w", err)
	}
	if slots == nil {
		return nil, errors.New("parse slots: not an array")
	}
	l := registry.NewLoad(time.Time{})
	l.SlotsTotal = len(slots)
	l.SlotsBusy = 0
	for _, s := range slots {
		if s.IsProcessing {
			l.SlotsBusy++
		}
	}
	l.Running = l.SlotsBusy
	return l, nil
}

// ParseLlamaCppProps reads a llama.cpp server GET /props answer; only
// "total_slots" (its --parallel) is used, as SlotsTotal. Every other field
// stays -1. A body without a positive total_slots is an error.
func ParseLlamaCppProps(body []byte) (*registry.Load, error) {
	var props struct {
		TotalSlots int `json:"total_slots"`
	}
	if err := json.Unmarshal(body, &props); err != nil {
		return nil, fmt.Errorf("parse props: %w", err)
	}
	if props.TotalSlots <= 0 {
		return nil, errors.New("parse props: no total_slots")
	}
	l := registry.NewLoad(time.Time{})
	l.SlotsTotal = props.TotalSlots
	return l, nil
}

// ParseOllamaPS reads an Ollama GET /api/ps answer into LoadedModels
// (never nil on success: an empty list means nothing is loaded). Ollama
// reports no request counts, so the numeric fields stay -1. A model
// without "name" is listed by its "model"; a body without a "models"
// array is an error.
func ParseOllamaPS(body []byte) (*registry.Load, error) {
	var ps struct {
		Models *[]struct {
			Name          string `json:"name"`
			Model         string `json:"model"`
			SizeVRAM      int64  `json:"size_vram"`
			ExpiresAt     string `json:"expires_at"`
			ContextLength int    `json:"context_length"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		return nil, fmt.Errorf("parse ps: %w", err)
	}
	if ps.Models == nil {
		return nil, errors.New("parse ps: no models list")
	}
	l := registry.NewLoad(time.Time{})
	l.LoadedModels = make([]registry.LoadedModel, 0, len(*ps.Models))
	for _, m := range *ps.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		if name == "" {
			continue
		}
		// A time Ollama formats oddly only loses the expiry.
		exp, _ := time.Parse(time.RFC3339Nano, m.ExpiresAt)
		l.LoadedModels = append(l.LoadedModels, registry.LoadedModel{
			Name:          name,
			SizeVRAM:      max(m.SizeVRAM, 0),
			ExpiresAt:     exp,
			ContextLength: max(m.ContextLength, 0),
		})
	}
	return l, nil
}
