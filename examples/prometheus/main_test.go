package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Equal(t, []string{
		`nexus_requests_total{backend="gpu_1",model="llama3",status="200"} 2`,
		"same scrape has go_goroutines: true",
		"/v1/stats: requests total=2 success=2 errors=0",
	}, strings.Split(strings.TrimSpace(out.String()), "\n"))
}
