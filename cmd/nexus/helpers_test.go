package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/nexusllm/nexus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startGateway runs a real gateway on loopback, with background health
// checks off so that its state only changes when a test changes it.
func startGateway(t *testing.T, edit func(*nexus.Config)) (*nexus.Gateway, string) {
	t.Helper()
	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false
	cfg.HealthCheck.TimeoutSeconds = 2
	if edit != nil {
		edit(&cfg)
	}
	gw, err := nexus.New(cfg)
	require.NoError(t, err)
	require.NoError(t, gw.Start(t.Context()))
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		srv.Close()
		assert.NoError(t, gw.Close())
	})
	return gw, srv.URL
}

// cli runs the nexus command line with args and the given environment
// (name, value pairs) and returns what it printed.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	vars := map[string]string{}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, &out, &errOut, lookup)
	return out.String(), errOut.String(), err
}

// getBody returns the body of a 200 answer to GET url.
func getBody(t *testing.T, url string) []byte {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return body
}

// mustCLI is cli for commands that must succeed.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := cli(t, nil, args...)
	require.NoError(t, err, "nexus %s\nstderr: %s", strings.Join(args, " "), stderr)
	return out
}

// lines splits output into lines without the final newline.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

// assertAligned checks that every row has a cell starting exactly where
// each header column starts.
func assertAligned(t *testing.T, table []string, columns ...string) {
	t.Helper()
	header := table[0]
	for _, col := range columns {
		at := strings.Index(header, col)
		require.GreaterOrEqual(t, at, 0, "column %q in %q", col, header)
		for _, row := range table[1:] {
			r := []rune(row)
			at := len([]rune(header[:at]))
			require.Greater(t, len(r), at, "row %q too short for column %q", row, col)
			assert.NotEqual(t, ' ', r[at], "row %q: column %q does not start at %d", row, col, at)
			if at > 0 {
				assert.Equal(t, ' ', r[at-1], "row %q: column %q does not start at %d", row, col, at)
			}
		}
	}
}
