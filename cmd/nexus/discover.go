package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/discovery"
)

// discovered is one row of `nexus discover`: an announced service
// instance and what its TXT record says.
type discovered struct {
	Instance  string   `json:"instance"`
	Service   string   `json:"service"`
	Host      string   `json:"host"`
	Addresses []string `json:"addresses"`
	Port      int      `json:"port"`
	Type      string   `json:"type"`     // TXT type=, "" when not announced
	APIPath   string   `json:"api_path"` // TXT api_path=, "" when not announced
	Version   string   `json:"version"`  // TXT version=, "" when not announced
}

// discoverFlags are the flags of `nexus discover`.
type discoverFlags struct {
	wait     time.Duration
	json     bool
	config   string
	services []string
}

// newDiscoverCommand builds `nexus discover` (also `nexus backends
// discover`), which lists what is announced on the LAN now. browser, when
// not nil, replaces real mDNS (tests inject announcements through it).
func newDiscoverCommand(env func(string) (string, bool), browser discovery.Browser) *cobra.Command {
	var f discoverFlags
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "List the LLM servers announced on the local network (mDNS) now",
		Long: "discover browses the local network with mDNS/DNS-SD for the service types the\n" +
			"gateway looks for (from [discovery] service_types in the config file, or\n" +
			"--service) for --wait, and lists every instance that answered, with what its\n" +
			"TXT record says (type, api_path, version). It needs no running server.",
		Example: "  nexus discover\n" +
			"  nexus discover --wait 5s --service _ollama._tcp --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			services, err := discoverServices(cmd, &f, env)
			if err != nil {
				return err
			}
			list, err := discovery.List(cmd.Context(), browser, services, f.wait)
			if err != nil {
				return fmt.Errorf("browse mDNS: %w", err)
			}
			rows := make([]discovered, 0, len(list))
			for _, a := range list {
				rows = append(rows, toDiscovered(a))
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printDiscovered(cmd.OutOrStdout(), rows, services, f.wait)
		},
	}
	fl := cmd.Flags()
	fl.DurationVarP(&f.wait, "wait", "w", discovery.DefaultListWait, "how long to listen for answers")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fl.StringVarP(&f.config, "config", "c", "nexus.toml", "config file whose [discovery] service_types are browsed (env NEXUS_CONFIG)")
	fl.StringSliceVarP(&f.services, "service", "s", nil, "service type to browse, such as _ollama._tcp (repeatable; replaces the config's)")
	return cmd
}

// discoverServices returns the service types to browse: --service, else
// the config file's (a missing default file means the defaults).
func discoverServices(cmd *cobra.Command, f *discoverFlags, env func(string) (string, bool)) ([]string, error) {
	if len(f.services) > 0 {
		return f.services, nil
	}
	path, named := f.config, cmd.Flags().Changed("config")
	if p, ok := env("NEXUS_CONFIG"); ok && p != "" && !named {
		path, named = p, true
	}
	cfg, _, err := config.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !named:
		return discovery.DefaultServiceTypes(), nil
	case err != nil:
		return nil, err
	}
	return cfg.Discovery.ServiceTypes, nil
}

func toDiscovered(a discovery.Announcement) discovered {
	d := discovered{
		Instance:  a.Instance,
		Service:   a.Service,
		Host:      a.Host,
		Addresses: make([]string, 0, len(a.Addrs)),
		Port:      a.Port,
		Type:      a.TXT["type"],
		APIPath:   a.TXT["api_path"],
		Version:   a.TXT["version"],
	}
	for _, ip := range a.Addrs {
		d.Addresses = append(d.Addresses, ip.String())
	}
	return d
}

// printDiscovered writes the table, or a line saying nothing answered.
func printDiscovered(w io.Writer, rows []discovered, services []string, wait time.Duration) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "Nothing announced %s within %s.\n", strings.Join(services, ", "), wait)
		return err
	}
	t := newTable(w, "INSTANCE", "SERVICE", "HOST", "ADDRESSES", "PORT", "TYPE", "API_PATH", "VERSION")
	for _, d := range rows {
		t.row(clean(d.Instance), clean(d.Service), orDash(clean(d.Host)), orDash(strings.Join(d.Addresses, ",")),
			strconv.Itoa(d.Port), orDash(clean(d.Type)), orDash(clean(d.APIPath)), orDash(clean(d.Version)))
	}
	return t.flush()
}

// orDash shows an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
