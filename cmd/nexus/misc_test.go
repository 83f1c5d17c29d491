package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nexusllm/nexus/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompletions(t *testing.T) {
	t.Parallel()
	tests := []struct{ shell, marker string }{
		{"bash", "__start_nexus"},
		{"zsh", "#compdef nexus"},
		{"fish", "complete -c nexus"},
		{"powershell", "Register-ArgumentCompleter"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			t.Parallel()
			out := mustCLI(t, "completions", tt.shell)
			assert.Contains(t, out, tt.marker)
		})
	}
	_, _, err := cli(t, nil, "completions", "tcsh")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid argument "tcsh"`)
	_, _, err = cli(t, nil, "completions")
	require.Error(t, err)
	_, _, err = cli(t, nil, "completion", "bash")
	require.Error(t, err, "cobra's own completion command is disabled")
	assert.Contains(t, err.Error(), `unknown command "completion"`)
}

func TestConfigInit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nexus.toml")
	out := mustCLI(t, "config", "init", "-o", path)
	assert.Equal(t, "✓ Configuration file created: "+path+"\n", out)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, config.Example(), got)

	require.NoError(t, os.WriteFile(path, []byte("# mine\n"), 0o644))
	_, _, err = cli(t, nil, "config", "init", "--output", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already exists")
	assert.Contains(t, err.Error(), "--force")
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# mine\n", string(got), "not overwritten")

	mustCLI(t, "config", "init", "-o", path, "-f")
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, config.Example(), got)
	_, _, err = config.Load(path)
	assert.NoError(t, err, "the example parses")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "nexus "+version+"\n", mustCLI(t, "version"))
	assert.Equal(t, "nexus "+version+"\n", mustCLI(t, "--version"))
}
