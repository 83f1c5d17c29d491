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
		"status: 200",
		"reply: Served by the spare.",
		"X-Nexus-Backend: secondary",
		"X-Nexus-Route-Reason: failover",
		"chat requests seen: primary 1 secondary 1",
	}, strings.Split(strings.TrimSpace(out.String()), "\n"))
}
