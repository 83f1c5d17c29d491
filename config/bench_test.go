package config_test

import (
	"testing"

	"github.com/nexusllm/nexus/config"
)

// BenchmarkParseExample measures parsing the annotated example file, the
// cost `nexus serve` pays once at start-up and on each reload.
func BenchmarkParseExample(b *testing.B) {
	data := config.Example()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := config.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyEnv measures overlaying a typical environment.
func BenchmarkApplyEnv(b *testing.B) {
	cfg, _, err := config.Parse(config.Example())
	if err != nil {
		b.Fatal(err)
	}
	env := envMap(map[string]string{"NEXUS_HOST": "127.0.0.1", "NEXUS_PORT": "9000",
		"NEXUS_LOG_LEVEL": "debug", "NEXUS_ROUTING_STRATEGY": "round_robin", "VLLM_API_KEY": "k"})
	b.ReportAllocs()
	for b.Loop() {
		c := cfg
		if _, err := config.ApplyEnv(&c, env); err != nil {
			b.Fatal(err)
		}
	}
}
