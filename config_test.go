package nexus

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	assert.Equal(t, "0.0.0.0", cfg.Server.Host)
	assert.Equal(t, 8000, cfg.Server.Port)
	assert.Equal(t, 300, cfg.Server.RequestTimeoutSeconds)
	assert.Equal(t, 1000, cfg.Server.MaxConcurrentRequests)
	assert.Empty(t, cfg.Server.APIKeys)
	assert.True(t, cfg.Discovery.Enabled)
	assert.Equal(t, []string{"_ollama._tcp.local.", "_llm._tcp.local."}, cfg.Discovery.ServiceTypes)
	assert.Equal(t, 60, cfg.Discovery.GracePeriodSeconds)
	assert.Equal(t, HealthCheckConfig{Enabled: true, IntervalSeconds: 30, TimeoutSeconds: 5,
		FailureThreshold: 3, RecoveryThreshold: 2, PassiveFailureThreshold: 3, PassiveCooldownSeconds: 30}, cfg.HealthCheck)
	assert.Equal(t, "smart", cfg.Routing.Strategy)
	assert.Equal(t, 2, cfg.Routing.MaxRetries)
	assert.Equal(t, RoutingWeights{Priority: 50, Load: 30, Latency: 20}, cfg.Routing.Weights)
	assert.Empty(t, cfg.Routing.Aliases)
	assert.Empty(t, cfg.Routing.Fallbacks)
	assert.Empty(t, cfg.Backends)
	assert.Equal(t, "info", cfg.Logging.Level)
	assert.Equal(t, "pretty", cfg.Logging.Format)
	assert.False(t, cfg.Logging.EnableContentLogging)
	require.NoError(t, cfg.Validate())

	// Each call returns an independent value.
	cfg.Discovery.ServiceTypes[0] = "changed"
	assert.Equal(t, "_ollama._tcp.local.", DefaultConfig().Discovery.ServiceTypes[0])
}

func TestConfigSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const backendKey, gatewayKey = "sk-backend-secret-xyz", "gw-inbound-secret-abc"
	cfg := validConfig()
	// config.ApplyEnv resolves these from the environment (tested there).
	cfg.Backends[1].APIKeyEnv = "GPU_KEY"
	cfg.Backends[1].APIKey = backendKey
	cfg.Server.APIKeys = []string{gatewayKey}

	jsonOut, err := json.Marshal(cfg)
	require.NoError(t, err)
	outputs := map[string]string{
		"%v cfg":       fmt.Sprintf("%v", cfg),
		"%+v cfg":      fmt.Sprintf("%+v", cfg),
		"%#v cfg":      fmt.Sprintf("%#v", cfg),
		"%v &cfg":      fmt.Sprintf("%v", &cfg),
		"%+v backend":  fmt.Sprintf("%+v", cfg.Backends[1]),
		"%v &backend":  fmt.Sprintf("%v", &cfg.Backends[1]),
		"%q backend":   fmt.Sprintf("%q", cfg.Backends[1]),
		"%v backends":  fmt.Sprintf("%v", cfg.Backends),
		"%+v server":   fmt.Sprintf("%+v", cfg.Server),
		"%v &server":   fmt.Sprintf("%v", &cfg.Server),
		"Sprint cfg":   fmt.Sprint(cfg),
		"Sprintln cfg": fmt.Sprintln(cfg),
		"json":         string(jsonOut),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, backendKey, name)
		assert.NotContains(t, out, gatewayKey, name)
	}
	assert.Contains(t, outputs["%+v backend"], "APIKey:[REDACTED]")
	assert.Contains(t, outputs["%+v backend"], "Name:gpu", "the rest is still printed")
	assert.Contains(t, outputs["%+v server"], "APIKeys:[[REDACTED]]")
	assert.Contains(t, outputs["%+v server"], "Port:8000")
	// Redaction works on a copy: the values themselves are intact.
	assert.Equal(t, backendKey, cfg.Backends[1].APIKey)
	assert.Equal(t, gatewayKey, cfg.Server.APIKeys[0])
}
