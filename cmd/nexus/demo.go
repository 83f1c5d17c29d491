package main

import (
	"fmt"
	"io"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/spf13/cobra"
)

func newDemoCommand() *cobra.Command {
	var port int
	var host, logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the gateway with two built-in simulated backends",
		Long: "demo starts two simulated OpenAI/Ollama-compatible backends on loopback and a gateway\n" +
			"in front of them, so you can try Nexus without any LLM server.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			local, err := nexustest.Start(
				nexustest.Name("local-gpu"),
				nexustest.Models("llama3.2:3b", "qwen2.5:7b"),
				nexustest.EchoPrompt(),
				nexustest.ChunkDelay(40*time.Millisecond),
			)
			if err != nil {
				return err
			}
			defer local.Close()
			cloud, err := nexustest.Start(
				nexustest.Name("cloud-mini"),
				nexustest.Models("gpt-4o-mini", "llama3.2:3b"),
				nexustest.EchoPrompt(),
				nexustest.ChunkDelay(25*time.Millisecond),
			)
			if err != nil {
				return err
			}
			defer cloud.Close()

			cfg := nexus.DefaultConfig()
			cfg.Server.Host, cfg.Server.Port = host, port
			cfg.Discovery.Enabled = false
			cfg.HealthCheck.IntervalSeconds = 5
			if logLevel != "" {
				cfg.Logging.Level = logLevel
			}
			cfg.Backends = []nexus.BackendConfig{
				{Name: "local-gpu", URL: local.URL(), Type: "ollama", Priority: 10},
				{Name: "cloud-mini", URL: cloud.URL(), Type: "openai", Priority: 50},
			}
			cfg.Routing.Aliases = map[string]string{"gpt-4": "llama3.2:3b"}
			cfg.Routing.Fallbacks = map[string][]string{"qwen2.5:7b": {"gpt-4o-mini"}}
			out := cmd.OutOrStdout()
			log, err := newLogger(cmd.ErrOrStderr(), cfg.Logging)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, log, out, func(addr string) { printDemo(out, addr) }, nil)
		},
	}
	cmd.Flags().IntVarP(&port, "port", "p", 8000, "listen port")
	cmd.Flags().StringVarP(&host, "host", "H", "127.0.0.1", "listen address")
	cmd.Flags().StringVarP(&logLevel, "log-level", "l", "", "debug, info, warn or error")
	return cmd
}

func printDemo(w io.Writer, addr string) {
	base := "http://" + addr
	fmt.Fprintf(w, `
Nexus demo is running on %[1]s with two simulated backends:
  local-gpu   (ollama)  llama3.2:3b, qwen2.5:7b
  cloud-mini  (openai)  gpt-4o-mini, llama3.2:3b
  alias gpt-4 -> llama3.2:3b; fallback qwen2.5:7b -> gpt-4o-mini

Dashboard: %[1]s/

Try it:

  curl -s %[1]s/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"Hello, Nexus!"}]}'

  curl -sN %[1]s/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4","stream":true,"messages":[{"role":"user","content":"Stream to me"}]}'

  curl -s %[1]s/v1/models
  curl -s %[1]s/health
  curl -s %[1]s/v1/stats
  curl -s %[1]s/metrics | grep '^nexus_'

Press Ctrl+C to stop.
`, base)
}
