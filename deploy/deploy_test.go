// Package deploy holds only tests. They check the deployment files of this
// directory — the Helm chart, the Compose stack, the Grafana dashboard and
// the image's configuration — against the real tools (helm, promtool,
// prometheus) and a real gateway, so the files people copy keep working.
// Nothing imports it. The Dockerfile's build and HEALTHCHECK commands are
// checked by check-dockerfile.sh.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
)

// requireTool returns the path of an external program: the file named by
// the environment variable envVar when set, else name on PATH. When it is
// missing the test is skipped with how to install it, or failed when the
// CI environment variable is set.
func requireTool(t *testing.T, name, envVar, install string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", envVar, p, err)
		}
		return p
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI (set %s or put it on PATH; %s): %v", name, envVar, install, err)
	}
	t.Skipf("%s not installed (set %s or put it on PATH; %s): %v", name, envVar, install, err)
	return ""
}

// run runs a program for at most timeout and returns its standard output;
// a failure fails the test with everything it printed.
func run(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// decodeYAMLFile decodes one YAML document from a file into v.
func decodeYAMLFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// yamlDocs splits a multi-document YAML stream (helm template's output)
// into its non-empty documents.
func yamlDocs(t *testing.T, text string) []yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(text))
	var docs []yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
			docs = append(docs, n)
		}
	}
}

// loadNexusConfig does what `nexus serve` does with a config file: parse it,
// apply the environment env (nil: none), validate. It returns the config
// and every warning, which the deployment files must not cause.
func loadNexusConfig(t *testing.T, toml string, env map[string]string) (nexus.Config, []string) {
	t.Helper()
	cfg, warnings, err := config.Parse([]byte(toml))
	require.NoError(t, err)
	envWarnings, err := config.ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	return cfg, append(warnings, envWarnings...)
}
