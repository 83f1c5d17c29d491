package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyFleetSpec is a fleet run of a few seconds.
func tinyFleetSpec() fleetSpec {
	return fleetSpec{
		Scale: 0.005, Sessions: 2, Turns: 2, TurnBytes: 300,
		Bursts: 1, BurstSize: 2, BurstGap: time.Second,
		LoadTime: time.Second, Timeout: 20 * time.Second,
	}
}

func TestFleetTableJSONAndSVG(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(map[bool]string{false: "table", true: "json"}[asJSON], func(t *testing.T) {
			svg := filepath.Join(t.TempDir(), "fleet.svg")
			var out, errOut bytes.Buffer
			rep, err := runFleet(t.Context(), tinyFleetSpec(), asJSON, svg, &out, &errOut)
			require.NoError(t, err, errOut.String())

			require.Len(t, rep.Results, len(fleetConfigs)*len(fleetWorkloads))
			assert.Zero(t, rep.errors(), "%+v", rep.Results)
			for _, r := range rep.Results {
				assert.Positive(t, r.Requests, r.Config)
				assert.Positive(t, r.TTFT.P50, r.Config)
				assert.LessOrEqual(t, r.TTFT.P50, r.TTFT.P99, r.Config)
				if r.Workload == fleetBursty {
					assert.Positive(t, r.ColdLoads, "%s: Ollama models start unloaded", r.Config)
				}
			}

			if asJSON {
				var got fleetReport
				require.NoError(t, json.Unmarshal(out.Bytes(), &got))
				assert.Equal(t, rep.Results, got.Results)
			} else {
				for _, s := range []string{"TTFT p50", "cold loads", "round_robin", "smart+signals", fleetAgent, fleetBursty} {
					assert.Contains(t, out.String(), s)
				}
			}

			b, err := os.ReadFile(svg)
			require.NoError(t, err)
			assert.NoError(t, xml.Unmarshal(b, new(struct{ XMLName xml.Name })), "SVG is well-formed XML")
			for _, c := range fleetConfigs {
				assert.Contains(t, string(b), ">"+c.Name+"<")
			}
			assert.Equal(t, len(rep.Results), strings.Count(string(b), "<circle"))
		})
	}
}

func TestFleetQuantiles(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[len(ds)-1-i] = time.Duration(i+1) * time.Millisecond
	}
	got := fleetQuantiles(ds, 0.001) // 1ms wall is 1 simulated second
	assert.InDelta(t, 50, got.P50, 1e-9)
	assert.InDelta(t, 90, got.P90, 1e-9)
	assert.InDelta(t, 99, got.P99, 1e-9)
	assert.Equal(t, fleetSeconds{}, fleetQuantiles(nil, 1))
}

func TestFleetReadStream(t *testing.T) {
	tests := []struct {
		name, body, want string
		wantErr          bool
	}{
		{name: "content", body: "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n", want: "hi"},
		{name: "no done", body: "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", wantErr: true},
		{name: "no content", body: "data: [DONE]\n\n", wantErr: true},
		{name: "error event", body: "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := fleetReadStream(strings.NewReader(tt.body), time.Now())
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFleetFlags(t *testing.T) {
	o, err := parseFlags([]string{"-fleet", "-fleet-svg", "x.svg"}, new(bytes.Buffer))
	require.NoError(t, err)
	assert.True(t, o.fleet)
	assert.Equal(t, "x.svg", o.fleetSVG)
}
