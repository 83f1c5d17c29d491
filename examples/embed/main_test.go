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
		"GET /hello: hello from my app",
		"POST /llm/v1/chat/completions: 200",
		"reply: Hi from the backend!",
		"X-Nexus-Backend: local-gpu",
	}, strings.Split(strings.TrimSpace(out.String()), "\n"))
}
