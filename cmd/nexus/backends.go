package main

import (
	"github.com/nexusllm/nexus/api"

	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/nexusllm/nexus/registry"
	"github.com/spf13/cobra"
)

// newBackendsCommand builds `nexus backends list|add|remove`, which ask a
// running server through its admin API.
func newBackendsCommand(env func(string) (string, bool)) *cobra.Command {
	var f clientFlags
	var status string
	list := func(cmd *cobra.Command, _ []string) error { return backendsList(cmd, &f, env, status) }
	cmd := &cobra.Command{
		Use:   "backends",
		Short: "List, add and remove the backends of a running server",
		Long: "backends asks a running Nexus server (--url, default " + defaultServerURL + ") for its\n" +
			"backends, or changes them at run time. Without a subcommand it lists them.",
		Args: cobra.NoArgs,
		RunE: list,
	}
	addClientFlags(cmd, &f)
	listCmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List backends with status, models and probe latency",
		Args:    cobra.NoArgs,
		RunE:    list,
	}
	listCmd.Flags().StringVarP(&status, "status", "s", "", "only backends with this status: healthy, unhealthy, unknown or draining")
	cmd.AddCommand(listCmd, newBackendsAddCommand(&f, env), newBackendsRemoveCommand(&f, env),
		newDiscoverCommand(env, nil)) // discover.go: the LAN, not the server
	return cmd
}

func backendsList(cmd *cobra.Command, f *clientFlags, env func(string) (string, bool), status string) error {
	if status != "" {
		if _, ok := registry.ParseStatus(status); !ok {
			return fmt.Errorf("invalid --status %q: want healthy, unhealthy, unknown or draining", status)
		}
	}
	c, err := newAPIClient(cmd, f, env)
	if err != nil {
		return err
	}
	defer c.Close()
	var list api.BackendList
	if err := c.get(cmd.Context(), "/v1/backends", &list); err != nil {
		return err
	}
	shown := make([]api.Backend, 0, len(list.Backends))
	for _, b := range list.Backends {
		if status == "" || b.Status == status {
			shown = append(shown, b)
		}
	}
	out := cmd.OutOrStdout()
	if f.json {
		return printJSON(out, api.BackendList{Backends: shown})
	}
	if len(shown) == 0 {
		if status != "" {
			_, err := fmt.Fprintf(out, "No %s backends.\n", status)
			return err
		}
		_, err := fmt.Fprintln(out, "No backends.")
		return err
	}
	return printBackends(out, shown, painter{on: f.color})
}

// printBackends writes the backends table.
func printBackends(w io.Writer, list []api.Backend, p painter) error {
	t := newTable(w, "NAME", "URL", "TYPE", p.plain("STATUS"), "MODELS", "LATENCY")
	for _, b := range list {
		t.row(clean(b.Name), clean(b.URL), clean(b.Type), p.status(clean(b.Status)),
			fmt.Sprint(len(b.Models)), formatLatency(b.LatencyMS))
	}
	return t.flush()
}

func newBackendsAddCommand(f *clientFlags, env func(string) (string, bool)) *cobra.Command {
	var name, typ string
	var priority int
	cmd := &cobra.Command{
		Use:   "add <url>",
		Short: "Add a backend to the running server",
		Long: "add registers a backend with the running server, which probes it at once.\n" +
			"Without --type the server detects it: Ollama, then llama.cpp, then any\n" +
			"OpenAI-compatible server. The name defaults to the URL's host:port.",
		Example: "  nexus backends add http://gpu-box:11434\n" +
			"  nexus backends add http://10.0.0.5:8080 --name vllm-a --type vllm --priority 10",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := strings.TrimSpace(args[0])
			if !strings.Contains(raw, "://") {
				raw = "http://" + raw
			}
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				return fmt.Errorf("invalid backend URL %q: want http://host:port", args[0])
			}
			req := api.AddBackend{Name: name, URL: raw, Type: typ}
			if req.Name == "" {
				req.Name = u.Host
			}
			if cmd.Flags().Changed("priority") {
				req.Priority = &priority
			}
			c, err := newAPIClient(cmd, f, env)
			if err != nil {
				return err
			}
			defer c.Close()
			var b api.Backend
			if err := c.do(cmd.Context(), "POST", "/v1/backends", req, &b); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return printJSON(out, b)
			}
			p := painter{on: f.color}
			fmt.Fprintf(out, "Added backend '%s' (%s) at %s: %s, %d models\n",
				clean(b.Name), clean(b.Type), clean(b.URL), p.status(clean(b.Status)), len(b.Models))
			if b.LastError != nil {
				fmt.Fprintf(out, "  last error: %s\n", clean(*b.LastError))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&name, "name", "n", "", "backend name (default: the URL's host:port)")
	fl.StringVarP(&typ, "type", "t", "", "ollama, vllm, llamacpp, exo, openai, lmstudio or generic (default: detect)")
	fl.IntVarP(&priority, "priority", "p", 50, "priority, lower is preferred")
	return cmd
}

func newBackendsRemoveCommand(f *clientFlags, env func(string) (string, bool)) *cobra.Command {
	return &cobra.Command{
		Use:     "remove <name>",
		Aliases: []string{"rm"},
		Short:   "Remove a backend from the running server",
		Long:    "remove takes a backend out of the running server. Requests already sent to it finish.",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd, f, env)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.do(cmd.Context(), "DELETE", "/v1/backends/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return printJSON(out, map[string]string{"removed": args[0]})
			}
			_, err = fmt.Fprintf(out, "Removed backend '%s'\n", clean(args[0]))
			return err
		},
	}
}
