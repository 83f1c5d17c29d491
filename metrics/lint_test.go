package metrics_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nexusllm/nexus/internal/promtest"
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
	require.Len(t, mfs, 24, "the seed's 11 families and the gateway's 13")
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	got := make([]string, 0, len(problems))
	for _, p := range problems {
		got = append(got, p.Metric+" "+p.Text)
	}
	slices.Sort(got)
	assert.Equal(t, wantLint(), got)
}

func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	code, got := promtest.CheckMetrics(t, scrapeText(t, fx.m.Handler()))
	assert.Equal(t, 3, code, "3 = lint problems, 1 = parse error; output:\n%s", strings.Join(got, "\n"))
	slices.Sort(got)
	assert.Equal(t, wantLint(), got)
}
