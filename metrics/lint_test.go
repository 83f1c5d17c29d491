package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The only lint findings the contract's names allow: a histogram and a gauge
// whose names end in _total.
func wantLint() []string {
	return []string{
		`nexus_backends_total non-counter metrics should not have "_total" suffix`,
		`nexus_tokens_total non-counter metrics should not have "_total" suffix`,
	}
}

func TestPromlintFindsOnlyTheTwoTotalNames(t *testing.T) {
	t.Parallel()
	fx := newMix(t) // records every instrument
	mfs, err := fx.m.Registry().Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 11)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	got := make([]string, 0, len(problems))
	for _, p := range problems {
		got = append(got, p.Metric+" "+p.Text)
	}
	slices.Sort(got)
	assert.Equal(t, wantLint(), got)
}

// requireTool returns the path of an external program. Missing, it skips
// the test locally and fails it under CI.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")
	fx := newMix(t)
	text := scrapeText(t, fx.m.Handler())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "promtool must exit with lint findings (3), got %v; stderr:\n%s", err, stderr.String())
	assert.Equal(t, 3, exit.ExitCode(), "3 = lint problems, 1 = parse error; stderr:\n%s", stderr.String())

	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			got = append(got, line)
		}
	}
	slices.Sort(got)
	assert.Equal(t, wantLint(), got)
	assert.Empty(t, strings.TrimSpace(stdout.String()))
}
