package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/nexustest"
)

// reloadFile is a config file for addr naming the given backends.
func reloadFile(addr string, backends map[string]*nexustest.Backend, names ...string) []byte {
	host, port, _ := net.SplitHostPort(addr)
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nhost = %q\nport = %s\n[discovery]\nenabled = false\n[health_check]\nenabled = false\n", host, port)
	for _, n := range names {
		fmt.Fprintf(&b, "[[backends]]\nname = %q\nurl = %q\ntype = \"openai\"\n", n, backends[n].URL())
	}
	return []byte(b.String())
}

// served backends, by name, as GET /v1/backends lists them.
func servedBackends(c *http.Client, addr string) []string {
	resp, err := c.Get("http://" + addr + "/v1/backends")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var list api.BackendList
	if json.NewDecoder(resp.Body).Decode(&list) != nil {
		return nil
	}
	var names []string
	for _, b := range list.Backends {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return names
}

// lastReload asks GET /v1/admin/reload.
func lastReload(c *http.Client, addr string) nexus.ReloadResult {
	var res nexus.ReloadResult
	resp, err := c.Get("http://" + addr + "/v1/admin/reload")
	if err != nil {
		return res
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&res)
	return res
}

// TestServeReloads runs `nexus serve` on a config file laid out as a
// Kubernetes ConfigMap mounts it (nexus.toml -> ..data/nexus.toml, ..data
// -> a timestamped directory) and changes it the ways operators and
// editors do: a write through the link, a swap of the ..data link, and an
// editor's rename of a new file over nexus.toml. Each change is picked up
// by the file watch; SIGHUP and POST /v1/admin/reload reload too. It sends
// the process a real SIGHUP, so it does not run in parallel (no other
// serve is running then).
func TestServeReloads(t *testing.T) {
	fakes := map[string]*nexustest.Backend{}
	for _, n := range []string{"a", "b", "c"} {
		fakes[n] = nexustest.NewBackend(t, nexustest.Models("m-"+n))
	}
	addr := freeAddr(t)
	dir := t.TempDir()
	mount := func(version string, names ...string) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, version), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, version, "nexus.toml"), reloadFile(addr, fakes, names...), 0o600))
	}
	mount("..v1", "a")
	require.NoError(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	path := filepath.Join(dir, "nexus.toml")
	require.NoError(t, os.Symlink(filepath.Join("..data", "nexus.toml"), path))

	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuffer{}
	done := make(chan error, 1)
	noEnv := func(string) (string, bool) { return "", false }
	go func() {
		done <- run(ctx, []string{"serve", "-c", path, "--log-level", "debug"}, io.Discard, log, noEnv)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("nexus serve did not stop")
		}
	})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	waitFor := func(what string, want ...string) {
		t.Helper()
		require.Eventually(t, func() bool { return slices.Equal(servedBackends(client, addr), want) },
			20*time.Second, 10*time.Millisecond, "%s: want backends %v; log:\n%s", what, want, log.String())
	}
	waitFor("start", "a")

	// 1. A write through the link.
	require.NoError(t, os.WriteFile(path, reloadFile(addr, fakes, "a", "b"), 0o600))
	waitFor("write through the symlink", "a", "b")
	assert.Equal(t, "file", lastReload(client, addr).Trigger)

	// 2. A ConfigMap update: a new directory, then ..data swapped to it
	// atomically (a new link renamed over the old one).
	mount("..v2", "b", "c")
	require.NoError(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..v1")))
	waitFor("symlink swap", "b", "c")

	// 3. An editor's save: write a temporary file, rename it over the
	// config (here replacing the link by a plain file).
	tmp := filepath.Join(dir, ".nexus.toml.swp")
	require.NoError(t, os.WriteFile(tmp, reloadFile(addr, fakes, "c"), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	waitFor("rename over the file", "c")

	// 4. SIGHUP reloads (the file is unchanged: the watch stays quiet).
	before := lastReload(client, addr).Time
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		r := lastReload(client, addr)
		return r.Trigger == "signal" && r.Success && r.Time.After(before)
	}, 20*time.Second, 10*time.Millisecond, "SIGHUP reloads; log:\n%s", log.String())

	// 5. An invalid edit changes nothing and is reported.
	require.NoError(t, os.WriteFile(path, append(reloadFile(addr, fakes, "a"), "[routing]\nstrategy = \"warp\"\n"...), 0o600))
	require.Eventually(t, func() bool {
		r := lastReload(client, addr)
		return r.Trigger == "file" && !r.Success && strings.Contains(r.Error, "routing.strategy")
	}, 20*time.Second, 10*time.Millisecond, "log:\n%s", log.String())
	assert.Equal(t, []string{"c"}, servedBackends(client, addr))
	assert.Contains(t, log.String(), "configuration not reloaded")

	// 6. POST /v1/admin/reload from loopback, after a fix.
	require.NoError(t, os.WriteFile(path, reloadFile(addr, fakes, "a", "c"), 0o600))
	resp, err := client.Post("http://"+addr+"/v1/admin/reload", "application/json", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, []string{"a", "c"}, servedBackends(client, addr))
}

// TestReloadTriggersDebounce: a burst of writes is read once, and a change
// that leaves the content as it was is not a reload.
func TestReloadTriggersDebounce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nexus.toml")
	require.NoError(t, os.WriteFile(path, []byte("v0"), 0o600))
	reloads := make(chan string, 16)
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	trig := &reloadTriggers{hup: hup, path: path, reload: func(tr string) { reloads <- tr },
		log: slog.New(slog.DiscardHandler), debounce: 100 * time.Millisecond}
	trig.start()
	go func() { defer close(done); trig.loop(ctx) }()
	defer func() { cancel(); <-done }()
	next := func() string {
		t.Helper()
		select {
		case tr := <-reloads:
			return tr
		case <-time.After(20 * time.Second):
			t.Fatal("no reload")
			return ""
		}
	}

	for i := range 5 {
		require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, "v%d", i+1), 0o600))
	}
	assert.Equal(t, "file", next())
	hup <- syscall.SIGHUP
	assert.Equal(t, "signal", next())
	require.NoError(t, os.WriteFile(path, []byte("v5"), 0o600)) // the same content: no reload
	require.NoError(t, os.WriteFile(path, []byte("v6"), 0o600))
	assert.Equal(t, "file", next())
	assert.Empty(t, reloads, "one reload per burst")
}
