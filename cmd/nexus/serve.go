package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/logging"
	"github.com/spf13/cobra"
)

type serveFlags struct {
	config        string
	port          int
	host          string
	logLevel      string
	noDiscovery   bool
	noHealthCheck bool
}

func newServeCommand(env func(string) (string, bool)) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, warnings, err := loadConfig(cmd, &f, env)
			if err != nil {
				return err
			}
			log, err := newLogger(cmd.ErrOrStderr(), cfg.Logging)
			if err != nil {
				return err
			}
			if cfg.Logging.EnableContentLogging {
				log.Warn("logging.enable_content_logging is on: the start of every prompt is written to the log")
			}
			for _, w := range warnings {
				log.Warn(w)
			}
			return serve(cmd.Context(), cfg, log, cmd.OutOrStdout(), nil, newReloadSource(cmd, &f, env))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "nexus.toml", "config file (env NEXUS_CONFIG)")
	fl.IntVarP(&f.port, "port", "p", 0, "listen port (env NEXUS_PORT)")
	fl.StringVarP(&f.host, "host", "H", "", "listen address (env NEXUS_HOST)")
	fl.StringVarP(&f.logLevel, "log-level", "l", "", "debug, info, warn or error (env NEXUS_LOG_LEVEL)")
	fl.BoolVar(&f.noDiscovery, "no-discovery", false, "disable mDNS discovery")
	fl.BoolVar(&f.noHealthCheck, "no-health-check", false, "disable background health checks")
	return cmd
}

// configPath is the config file serve reads: --config, else NEXUS_CONFIG,
// else nexus.toml; named is false for the default.
func configPath(cmd *cobra.Command, f *serveFlags, env func(string) (string, bool)) (path string, named bool) {
	path, named = f.config, cmd.Flags().Changed("config")
	if p, ok := env("NEXUS_CONFIG"); ok && p != "" && !named {
		path, named = p, true
	}
	return path, named
}

// reloadSource is how a running serve reads its configuration again.
type reloadSource struct {
	load func() (nexus.Config, []string, error)
	path string // the file to watch; "" when serve runs on defaults
}

// newReloadSource reads the configuration as at start (file, environment,
// flags); once serve runs from a file, that file vanishing is an error,
// not a return to the defaults.
func newReloadSource(cmd *cobra.Command, f *serveFlags, env func(string) (string, bool)) *reloadSource {
	path, _ := configPath(cmd, f, env)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if _, err := os.Stat(path); err != nil {
		return &reloadSource{load: func() (nexus.Config, []string, error) { return loadConfig(cmd, f, env) }}
	}
	return &reloadSource{path: path, load: func() (nexus.Config, []string, error) {
		if _, err := os.Stat(path); err != nil {
			return nexus.Config{}, nil, fmt.Errorf("read config: %w", err)
		}
		return loadConfig(cmd, f, env)
	}}
}

// loadConfig applies defaults < file < environment < flags. A missing file
// is fine when it is the default path, an error when asked for by name.
func loadConfig(cmd *cobra.Command, f *serveFlags, env func(string) (string, bool)) (nexus.Config, []string, error) {
	path, named := configPath(cmd, f, env)
	cfg, warnings, err := config.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !named:
		cfg, warnings = nexus.DefaultConfig(), []string{"no config file " + path + ": using defaults"}
	case err != nil:
		return cfg, nil, err
	}
	envWarnings, err := config.ApplyEnv(&cfg, env)
	if err != nil {
		return cfg, nil, err
	}
	warnings = append(warnings, envWarnings...)
	fl := cmd.Flags()
	if fl.Changed("port") {
		cfg.Server.Port = f.port
	}
	if fl.Changed("host") {
		cfg.Server.Host = f.host
	}
	if fl.Changed("log-level") {
		cfg.Logging.Level = f.logLevel
	}
	if f.noDiscovery {
		cfg.Discovery.Enabled = false
	}
	if f.noHealthCheck {
		cfg.HealthCheck.Enabled = false
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	return cfg, warnings, nil
}

// newLogger builds the process logger from the logging section.
func newLogger(w io.Writer, lc nexus.LoggingConfig) (*slog.Logger, error) {
	return logging.New(w, logging.Config{Level: lc.Level, Format: lc.Format, ComponentLevels: lc.ComponentLevels})
}

// serve runs the gateway until ctx is done, then drains in-flight requests.
// ready, when not nil, is called with the listening address. src, when not
// nil, enables live reload: on SIGHUP, when its file changes, and on POST
// /v1/admin/reload.
func serve(ctx context.Context, cfg nexus.Config, log *slog.Logger, stdout io.Writer, ready func(addr string), src *reloadSource) error {
	opts := []nexus.Option{nexus.WithLogger(log)}
	if src != nil {
		opts = append(opts, nexus.WithConfigLoader(src.load))
	}
	gw, err := nexus.New(cfg, opts...)
	if err != nil {
		return err
	}
	defer gw.Close()
	addr := net.JoinHostPort(cfg.Server.Host, strconv.Itoa(cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := gw.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           gw.Handler(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// Live dashboard streams never go idle: end them when draining starts.
	srv.RegisterOnShutdown(gw.Dashboard().Close)
	if src != nil {
		stop := startReloads(ctx, gw, log, src)
		defer stop()
	}
	h := gw.Health()
	log.Info("nexus listening", "addr", ln.Addr().String(), "version", version,
		"backends", h.Backends.Total, "healthy", h.Backends.Healthy, "models", h.Models)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown closes the listener at once (new connections are refused),
	// closes idle connections and waits for in-flight requests and streams
	// to finish, for at most shutdown_timeout; then what is left is cut.
	drain := cfg.Server.ShutdownTimeout
	gw.Drain() // GET /ready answers 503 from now on
	log.Info("shutting down: draining in-flight requests", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s were cut: %w", drain, err)
	}
	return nil
}
