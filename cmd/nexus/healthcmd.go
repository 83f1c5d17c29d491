package main

import (
	"github.com/nexusllm/nexus/api"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// healthReport is GET /health, plus a version should the server send one.
type healthReport struct {
	api.Health
	Version string `json:"version,omitempty"`
}

func newHealthCommand(env func(string) (string, bool)) *cobra.Command {
	var f clientFlags
	var failUnhealthy bool
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Show the health of a running server and its backends",
		Long: "health asks a running Nexus server (--url, default " + defaultServerURL + ") for its\n" +
			"health summary and the status of every backend. --json prints the server's /health answer.\n" +
			"With --fail-unhealthy it exits non-zero unless the status is \"healthy\" (a degraded or\n" +
			"unhealthy gateway, or one that cannot be reached), for container health checks:\n" +
			"  HEALTHCHECK CMD [\"nexus\", \"health\", \"--fail-unhealthy\", \"--timeout\", \"5s\"]",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd, &f, env)
			if err != nil {
				return err
			}
			defer c.Close()
			var raw json.RawMessage
			if err := c.get(cmd.Context(), "/health", &raw); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var h healthReport
			if err := json.Unmarshal(raw, &h); err != nil {
				return fmt.Errorf("GET /health: unexpected answer: %w", err)
			}
			verdict := func() error {
				if failUnhealthy && h.Status != statusHealthy {
					return unhealthyError(h)
				}
				return nil
			}
			if f.json {
				var buf bytes.Buffer
				if err := json.Indent(&buf, raw, "", "  "); err != nil {
					return err
				}
				buf.WriteByte('\n')
				if _, err := buf.WriteTo(out); err != nil {
					return err
				}
				return verdict()
			}
			p := painter{on: f.color}
			printHealth(out, h, p)
			var list api.BackendList
			if err := c.get(cmd.Context(), "/v1/backends", &list); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "(backend details unavailable: %v)\n", err)
				return verdict()
			}
			if len(list.Backends) > 0 {
				fmt.Fprintln(out)
			}
			for _, b := range list.Backends {
				printBackendHealth(out, b, p)
			}
			return verdict()
		},
	}
	addClientFlags(cmd, &f)
	cmd.Flags().BoolVar(&failUnhealthy, "fail-unhealthy", false,
		"exit non-zero unless the server reports status \"healthy\" (for container health checks)")
	return cmd
}

// statusHealthy is the /health status of a gateway whose backends are all
// healthy.
const statusHealthy = "healthy"

// unhealthyError is what `nexus health --fail-unhealthy` returns (and so
// exits non-zero with) when the server is reachable but not healthy.
func unhealthyError(h healthReport) error {
	status := clean(h.Status)
	if status == "" {
		return errors.New("server reported no health status")
	}
	return fmt.Errorf("server status is %s: %d of %d backends healthy", status, h.Backends.Healthy, h.Backends.Total)
}

// printHealth writes the summary lines of `nexus health`.
func printHealth(w io.Writer, h healthReport, p painter) {
	fmt.Fprintf(w, "Status:   %s\n", p.status(clean(h.Status)))
	if h.Version != "" {
		fmt.Fprintf(w, "Version:  %s\n", clean(h.Version))
	}
	fmt.Fprintf(w, "Uptime:   %s\n", formatUptime(time.Duration(h.UptimeSeconds)*time.Second))
	fmt.Fprintf(w, "Backends: %d/%d healthy\n", h.Backends.Healthy, h.Backends.Total)
	fmt.Fprintf(w, "Models:   %d available\n", h.Models)
}

// printBackendHealth writes one backend line: mark, name, type, models and,
// for a failing backend, why.
func printBackendHealth(w io.Writer, b api.Backend, p painter) {
	models := "models"
	if len(b.Models) == 1 {
		models = "model"
	}
	fmt.Fprintf(w, "  %s %s (%s) - %d %s", p.paint(statusColour(b.Status), statusMark(b.Status)), clean(b.Name), clean(b.Type), len(b.Models), models)
	if b.Status != "healthy" && b.LastError != nil {
		fmt.Fprintf(w, ": %s", clean(*b.LastError))
	}
	fmt.Fprintln(w)
}

// formatUptime shows a duration as "1h 2m 3s", leaving out leading zero
// units ("2m 3s", "3s").
func formatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	h, m := s/3600, s/60%60
	s %= 60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
