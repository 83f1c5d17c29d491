package deploy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/internal/promtest"
)

const composeDir = "compose"

// The parts of the Compose stack's files the tests read.
type (
	composeFile struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Ports       []string          `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	prometheusConfig struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	collectorConfig struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"http"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
		Exporters map[string]struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"exporters"`
		Service struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	grafanaDatasources struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	grafanaProviders struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
)

// TestPrometheusConfig is `promtool check config` on the stack's config.
func TestPrometheusConfig(t *testing.T) {
	t.Parallel()
	promtool := promtest.RequireTool(t, "promtool")
	out := run(t, 30*time.Second, promtool, "check", "config", filepath.Join(composeDir, "prometheus.yml"))
	assert.Contains(t, out, "SUCCESS")
}

// TestComposeStack checks that the stack's files agree with each other:
// every mounted file exists, the gateway's config loads and listens where
// Prometheus scrapes it, OTLP goes where the collector listens, Prometheus
// scrapes the collector's exporter, and Grafana finds the datasource and
// dashboard the dashboard JSON expects.
func TestComposeStack(t *testing.T) {
	t.Parallel()
	var stack composeFile
	decodeYAMLFile(t, filepath.Join(composeDir, "docker-compose.yml"), &stack)
	for _, name := range []string{"nexus", "prometheus", "grafana", "otel-collector"} {
		require.Contains(t, stack.Services, name)
	}
	// mounts maps each service's container paths to host paths.
	mounts := map[string]map[string]string{}
	for name, svc := range stack.Services {
		mounts[name] = map[string]string{}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			require.GreaterOrEqual(t, len(parts), 2, v)
			src := parts[0]
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			host := filepath.Join(composeDir, src)
			_, err := os.Stat(host)
			require.NoError(t, err, "service %s mounts %s", name, src)
			mounts[name][parts[1]] = host
		}
	}

	// The gateway: its config, loaded as `nexus serve` would.
	gw := stack.Services["nexus"]
	require.Equal(t, []string{"serve", "--config", configFile}, gw.Command)
	cfgDir, ok := mounts["nexus"][configDir]
	require.True(t, ok, "the config directory is mounted at %s (a directory, so edits reach the container)", configDir)
	b, err := os.ReadFile(filepath.Join(cfgDir, "nexus.toml"))
	require.NoError(t, err)
	env := map[string]string{}
	for k, v := range gw.Environment {
		if v == "" || strings.HasPrefix(v, "${") {
			v = "from-the-shell"
		}
		env[k] = v
	}
	cfg, warnings := loadNexusConfig(t, string(b), env)
	assert.Empty(t, warnings)
	port := cfg.Server.Port
	assert.Contains(t, gw.Ports, strconv.Itoa(port)+":"+strconv.Itoa(port))

	// Prometheus scrapes the gateway and the collector.
	var prom prometheusConfig
	decodeYAMLFile(t, filepath.Join(composeDir, "prometheus.yml"), &prom)
	targets := map[string][]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], s.Targets...)
		}
	}
	assert.Equal(t, []string{"nexus:" + strconv.Itoa(port)}, targets["nexus"])
	assert.Equal(t, filepath.Join(composeDir, "prometheus.yml"), mounts["prometheus"]["/etc/prometheus/prometheus.yml"])

	// OTLP/HTTP from the gateway to the collector on 4318, metrics on to
	// Prometheus through the collector's exporter.
	endpoint, err := url.Parse(gw.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
	require.NoError(t, err)
	assert.Equal(t, "otel-collector:4318", endpoint.Host)
	var col collectorConfig
	collectorFile := mounts["otel-collector"]["/etc/otelcol/config.yaml"]
	require.NotEmpty(t, collectorFile, "the collector's config is mounted")
	decodeYAMLFile(t, collectorFile, &col)
	assert.Equal(t, "4318", portOf(t, col.Receivers.OTLP.Protocols.HTTP.Endpoint))
	assert.Contains(t, col.Service.Pipelines["metrics"].Receivers, "otlp")
	assert.Contains(t, col.Service.Pipelines["metrics"].Exporters, "prometheus")
	assert.Contains(t, col.Service.Pipelines["traces"].Receivers, "otlp")
	assert.Equal(t, []string{"otel-collector:" + portOf(t, col.Exporters["prometheus"].Endpoint)}, targets["otel-collector"])

	// Grafana: the datasource the dashboard defaults to, and the dashboard.
	prov := mounts["grafana"]["/etc/grafana/provisioning"]
	require.NotEmpty(t, prov)
	var ds grafanaDatasources
	decodeYAMLFile(t, filepath.Join(prov, "datasources", "prometheus.yml"), &ds)
	require.Len(t, ds.Datasources, 1)
	assert.Equal(t, "prometheus", ds.Datasources[0].Type)
	assert.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
	assert.Equal(t, loadDashboard(t).defaultDatasource(), ds.Datasources[0].UID)
	var dp grafanaProviders
	decodeYAMLFile(t, filepath.Join(prov, "dashboards", "nexus.yml"), &dp)
	require.Len(t, dp.Providers, 1)
	dashDir, ok := mounts["grafana"][dp.Providers[0].Options.Path]
	require.True(t, ok, "the provider's path %s is mounted", dp.Providers[0].Options.Path)
	assert.Equal(t, filepath.Clean(filepath.Dir(dashboardFile)), filepath.Clean(dashDir))
	home := stack.Services["grafana"].Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	assert.Equal(t, filepath.Join(dp.Providers[0].Options.Path, filepath.Base(dashboardFile)), home)
}

// TestImageConfig checks the config baked into the image: it loads without
// a warning and listens on the port the Dockerfile exposes.
func TestImageConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("docker/nexus.toml")
	require.NoError(t, err)
	cfg, warnings := loadNexusConfig(t, string(b), nil)
	assert.Empty(t, warnings)
	assert.Equal(t, "0.0.0.0", cfg.Server.Host)
	dockerfile, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	expose := regexp.MustCompile(`(?m)^EXPOSE\s+(\d+)`).FindSubmatch(dockerfile)
	require.NotNil(t, expose, "EXPOSE in the Dockerfile")
	assert.Equal(t, string(expose[1]), strconv.Itoa(cfg.Server.Port))
	assert.Regexp(t, `(?m)^HEALTHCHECK .*"http://127\.0\.0\.1:`+string(expose[1])+`"\]$`, string(dockerfile))
	assert.Regexp(t, `(?m)^USER \d+:\d+$`, string(dockerfile), "a numeric non-root user, so runAsNonRoot can check it")
}

// portOf returns the port of "host:port" or "scheme://host:port".
func portOf(t *testing.T, s string) string {
	t.Helper()
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		s = u.Host
	}
	_, port, err := net.SplitHostPort(s)
	require.NoError(t, err, s)
	return port
}
