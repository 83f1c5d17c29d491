package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// TestHealthFailUnhealthy: `nexus health --fail-unhealthy` (a container
// HEALTHCHECK) succeeds only for a healthy server; degraded, unhealthy and
// unreachable servers make it fail (exit non-zero), while it still prints
// what it found. Without the flag only an unreachable server fails.
func TestHealthFailUnhealthy(t *testing.T) {
	t.Parallel()
	up := nexustest.NewBackend(t, nexustest.Models("llama3"))
	_, healthy := startGateway(t, func(c *nexus.Config) {
		c.Backends = []nexus.BackendConfig{{Name: "gpu", URL: up.URL(), Type: "openai"}}
	})
	_, degraded, _ := fleet(t, nil) // alpha up, zeta down
	_, unhealthy := startGateway(t, nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	unreachable := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	tests := []struct {
		name    string
		url     string
		status  string // printed on the first line; "" when nothing is printed
		wantErr string // "" when the command must succeed
	}{
		{"healthy", healthy, "healthy", ""},
		{"degraded", degraded, "degraded", "server status is degraded: 1 of 2 backends healthy"},
		{"unhealthy (no backends)", unhealthy, "unhealthy", "server status is unhealthy: 0 of 0 backends healthy"},
		{"unreachable", unreachable, "", "cannot reach the Nexus server at " + unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, extra := range [][]string{nil, {"--json"}} {
				args := append([]string{"health", "--fail-unhealthy", "--url", tt.url}, extra...)
				out, _, err := cli(t, nil, args...)
				if tt.wantErr == "" {
					assert.NoError(t, err, "%v", args)
				} else if assert.Error(t, err, "%v", args) {
					assert.Contains(t, err.Error(), tt.wantErr, "%v", args)
				}
				if tt.status != "" {
					assert.Contains(t, out, tt.status, "%v: the report is printed either way", args)
				}

				// Without the flag, only a server that cannot be reached fails.
				args = append([]string{"health", "--url", tt.url}, extra...)
				_, _, err = cli(t, nil, args...)
				if tt.status == "" {
					assert.Error(t, err, "%v", args)
				} else {
					assert.NoError(t, err, "%v", args)
				}
			}
		})
	}
}

// TestHealthFailUnhealthyNoStatus: an answer without a status (not a
// Nexus server, or a broken one) is not healthy.
func TestHealthFailUnhealthyNoStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	_, _, err := cli(t, nil, "health", "--fail-unhealthy", "--url", srv.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no health status")
}
