package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/registry"
)

func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Equal(t, []string{
		"request 1: 200 from alpha (fewest_requests)",
		"request 2: 200 from beta (fewest_requests)",
		"request 3: 200 from gamma (fewest_requests)",
		"request 4: 200 from alpha (fewest_requests)",
	}, strings.Split(strings.TrimSpace(out.String()), "\n"))
}

func TestFewestRequests(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	var bs []*registry.Backend
	for i, done := range []int{3, 1, 2, 1} {
		b, err := reg.Add(registry.Config{Name: fmt.Sprintf("b%d", i), URL: fmt.Sprintf("http://127.0.0.1:%d", i+1)})
		require.NoError(t, err)
		for range done {
			b.Begin()
			b.End()
		}
		bs = append(bs, b)
	}
	tests := []struct {
		name  string
		cands []*registry.Backend
		want  string
	}{
		{"one", bs[:1], "b0"},
		{"fewest wins", bs[:3], "b1"},
		{"first on a tie", bs, "b1"},
		{"tie in other order", []*registry.Backend{bs[3], bs[1]}, "b3"},
	}
	for _, tt := range tests {
		got, reason := fewestRequests("m", tt.cands)
		assert.Equal(t, tt.want, got.Name, tt.name)
		assert.Equal(t, "fewest_requests", reason, tt.name)
	}
}
