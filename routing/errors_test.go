package routing

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestRouteErrorPrecedence(t *testing.T) {
	t.Parallel()
	down := registry.StatusUnhealthy
	noVision := []registry.Model{{ID: "m", Vision: registry.CapNo}}
	tests := []struct {
		name      string
		specs     []spec
		aliases   map[string]string
		fallbacks map[string][]string
		req       Requirements
		want      Error
	}{
		{
			name:  "unknown model lists available models sorted",
			specs: []spec{{name: "x", models: models("zeta", "alpha")}, {name: "y", status: down, models: models("mid")}},
			req:   Requirements{Model: "nope"},
			want:  Error{Kind: KindModelNotFound, Model: "nope", Resolved: "nope", Available: []string{"alpha", "mid", "zeta"}},
		},
		{
			name: "unknown model in an empty registry",
			req:  Requirements{Model: "nope"},
			want: Error{Kind: KindModelNotFound, Model: "nope", Resolved: "nope", Available: []string{}},
		},
		{
			name:    "alias to an unknown model reports the client's name",
			specs:   []spec{{name: "x", models: models("m")}},
			aliases: map[string]string{"gpt-4": "ghost"},
			req:     Requirements{Model: "gpt-4"},
			want:    Error{Kind: KindModelNotFound, Model: "gpt-4", Resolved: "ghost", Available: []string{"m"}},
		},
		{
			name:      "unknown model whose fallbacks are unknown too",
			specs:     []spec{{name: "x", models: models("m")}},
			fallbacks: map[string][]string{"nope": {"ghost"}},
			req:       Requirements{Model: "nope"},
			want:      Error{Kind: KindModelNotFound, Model: "nope", Resolved: "nope", Available: []string{"m"}},
		},
		{
			name:  "healthy backend without vision",
			specs: []spec{{name: "x", models: noVision}, {name: "y", status: down, models: models("m")}},
			req:   Requirements{Model: "m", Vision: true},
			want:  Error{Kind: KindCapabilityMismatch, Model: "m", Resolved: "m", Missing: []string{"vision"}},
		},
		{
			name: "missing capabilities are the union over healthy backends",
			specs: []spec{
				{name: "x", models: []registry.Model{{ID: "m", Vision: registry.CapNo, Tools: registry.CapYes}}},
				{name: "y", models: []registry.Model{{ID: "m", Vision: registry.CapYes, Tools: registry.CapNo, ContextLength: 10}}},
			},
			req:  Requirements{Model: "m", Vision: true, Tools: true, EstimatedTokens: 5},
			want: Error{Kind: KindCapabilityMismatch, Model: "m", Resolved: "m", Missing: []string{"vision", "tools"}},
		},
		{
			name:  "context too long",
			specs: []spec{{name: "x", models: []registry.Model{{ID: "m", ContextLength: 4096}}}},
			req:   Requirements{Model: "m", EstimatedTokens: 5000, JSONMode: true},
			want:  Error{Kind: KindCapabilityMismatch, Model: "m", Resolved: "m", Missing: []string{"context_length"}},
		},
		{
			name:      "capability mismatch beats an unavailable fallback chain",
			specs:     []spec{{name: "x", models: noVision}, {name: "f", status: down, models: models("fb")}},
			fallbacks: map[string][]string{"m": {"fb"}},
			req:       Requirements{Model: "m", Vision: true},
			want:      Error{Kind: KindCapabilityMismatch, Model: "m", Resolved: "m", Missing: []string{"vision"}},
		},
		{
			name:      "healthy fallback lacking a capability",
			specs:     []spec{{name: "x", status: down, models: models("m")}, {name: "f", models: []registry.Model{{ID: "fb", JSONMode: registry.CapNo}}}},
			fallbacks: map[string][]string{"m": {"fb"}},
			req:       Requirements{Model: "m", JSONMode: true},
			want:      Error{Kind: KindCapabilityMismatch, Model: "m", Resolved: "m", Missing: []string{"json_mode"}},
		},
		{
			name:      "known model, fallback chain all down",
			specs:     []spec{{name: "x", status: down, models: models("m")}, {name: "f", status: down, models: models("fb1")}},
			aliases:   map[string]string{"gpt-4": "m"},
			fallbacks: map[string][]string{"m": {"fb1", "fb2"}},
			req:       Requirements{Model: "gpt-4"},
			want:      Error{Kind: KindFallbackExhausted, Model: "gpt-4", Resolved: "m", Fallbacks: []string{"fb1", "fb2"}},
		},
		{
			name:      "unknown primary with a known but down fallback",
			specs:     []spec{{name: "f", status: down, models: models("fb")}},
			fallbacks: map[string][]string{"m": {"fb"}},
			req:       Requirements{Model: "m"},
			want:      Error{Kind: KindFallbackExhausted, Model: "m", Resolved: "m", Fallbacks: []string{"fb"}},
		},
		{
			name:  "known model, all backends down",
			specs: []spec{{name: "x", status: down, models: models("m")}, {name: "y", status: registry.StatusDraining, models: models("m")}},
			req:   Requirements{Model: "m", Vision: true},
			want:  Error{Kind: KindNoHealthyBackend, Model: "m", Resolved: "m"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, _ := newReg(t, tc.specs...)
			r, err := New(reg, Config{Aliases: tc.aliases, Fallbacks: tc.fallbacks})
			require.NoError(t, err)
			rt, err := r.Route(tc.req)
			require.Error(t, err)
			assert.Nil(t, rt)
			var re *Error
			require.ErrorAs(t, err, &re)
			if tc.want.Available != nil && len(tc.want.Available) == 0 {
				assert.Empty(t, re.Available)
				re.Available = tc.want.Available
			}
			assert.Equal(t, tc.want, *re)
		})
	}
}

func TestErrorMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err      *Error
		msg      string
		status   int
		code     string
		typ      string
		param    string
		sentinel error
	}{
		{&Error{Kind: KindModelNotFound, Model: "x", Available: []string{"a", "b"}},
			"Model 'x' not found. Available: a, b", 404, "model_not_found", "model_not_found", "model", ErrModelNotFound},
		{&Error{Kind: KindModelNotFound, Model: "x"},
			"Model 'x' not found. No models available", 404, "model_not_found", "model_not_found", "model", ErrModelNotFound},
		{&Error{Kind: KindNoHealthyBackend, Model: "x"},
			"No healthy backend available for model 'x'", 503, "service_unavailable", "no_healthy_backend", "", ErrNoHealthyBackend},
		{&Error{Kind: KindCapabilityMismatch, Model: "x", Missing: []string{"vision"}},
			"Model 'x' lacks required capabilities: [vision]", 400, "invalid_request_error", "capability_mismatch", "", ErrCapabilityMismatch},
		{&Error{Kind: KindCapabilityMismatch, Model: "x", Missing: []string{"tools", "json_mode"}},
			"Model 'x' lacks required capabilities: [tools, json_mode]", 400, "invalid_request_error", "capability_mismatch", "", ErrCapabilityMismatch},
		{&Error{Kind: KindFallbackExhausted, Model: "x", Fallbacks: []string{"a", "b"}},
			"No healthy backend for model 'x' or its fallbacks [a, b]", 503, "service_unavailable", "fallback_exhausted", "", ErrFallbackExhausted},
	}
	all := []error{ErrModelNotFound, ErrNoHealthyBackend, ErrCapabilityMismatch, ErrFallbackExhausted}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			assert.Equal(t, tc.msg, tc.err.Error())
			assert.Equal(t, tc.status, tc.err.Status())
			assert.Equal(t, tc.code, tc.err.Code())
			assert.Equal(t, tc.typ, tc.err.Type())
			assert.Equal(t, tc.typ, tc.err.Kind.String())
			assert.Equal(t, tc.param, tc.err.Param())
			wrapped := fmt.Errorf("route: %w", tc.err)
			for _, s := range all {
				assert.Equal(t, s == tc.sentinel, errors.Is(wrapped, s), "%v", s)
			}
			var re *Error
			require.ErrorAs(t, wrapped, &re)
			assert.Same(t, tc.err, re)
		})
	}
	assert.Equal(t, "unknown", ErrorKind(0).String())
	assert.False(t, errors.Is(&Error{}, ErrModelNotFound))
}
