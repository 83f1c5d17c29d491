package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/logging"
)

func TestComponentLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.Config{Level: "info", Format: "json",
		ComponentLevels: map[string]string{"health": "error", "proxy": "debug"}})
	require.NoError(t, err)

	log.Debug("base debug")                                 // dropped: base is info
	log.Info("base info")                                   // kept
	log.With("component", "health").Warn("health warn")     // dropped: health is error
	log.With("component", "health").Error("health error")   // kept
	log.With("component", "proxy").Debug("proxy debug")     // kept: proxy is debug
	log.With("component", "routing").Debug("routing debug") // dropped: base level
	log.With("component", "proxy").WithGroup("g").Debug("grouped", "k", 1)

	var msgs []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		msgs = append(msgs, rec["msg"].(string))
	}
	assert.Equal(t, []string{"base info", "health error", "proxy debug", "grouped"}, msgs)
}

func TestFormatsAndErrors(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.Config{Format: "pretty"})
	require.NoError(t, err)
	log.Info("hello", "k", "v")
	assert.Contains(t, buf.String(), `msg=hello k=v`)

	for _, cfg := range []logging.Config{
		{Level: "loud"},
		{Format: "xml"},
		{ComponentLevels: map[string]string{"health": "chatty"}},
	} {
		_, err := logging.New(&buf, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	for in, want := range map[string]string{"trace": "DEBUG", "WARNING": "WARN", "": "INFO", "error": "ERROR"} {
		lv, err := logging.ParseLevel(in)
		require.NoError(t, err)
		assert.Equal(t, want, lv.String())
	}
}
