package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/discovery"
)

// lanBrowser answers every browse with two announcements and records the
// service types it was asked for.
type lanBrowser struct {
	mu    sync.Mutex
	asked []string
}

func (l *lanBrowser) Browse(ctx context.Context, types []string, found func(discovery.Announcement)) error {
	l.mu.Lock()
	l.asked = append([]string(nil), types...)
	l.mu.Unlock()
	found(discovery.Announcement{Instance: "ollama box", Service: "_ollama._tcp.local.", Host: "box.local.",
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("fe80::1%eth0")}, Port: 11434,
		TXT: discovery.ParseTXT([]string{"type=ollama", "api_path=/", "version=0.5.1"})})
	found(discovery.Announcement{Instance: "vllm\tbox", Service: "_llm._tcp.local.", Host: "gpu.local.",
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.8")}, Port: 8000})
	<-ctx.Done()
	return nil
}

// discover runs `nexus discover` with browser and args.
func discover(t *testing.T, browser discovery.Browser, env map[string]string, args ...string) string {
	t.Helper()
	cmd := newDiscoverCommand(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, browser)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	require.NoError(t, cmd.ExecuteContext(t.Context()), out.String())
	return out.String()
}

func TestDiscoverTable(t *testing.T) {
	t.Parallel()
	b := &lanBrowser{}
	out := discover(t, b, nil, "--wait", "20ms", "--service", "_ollama._tcp", "--service", "_llm._tcp")
	want := "INSTANCE    SERVICE              HOST        ADDRESSES               PORT   TYPE    API_PATH  VERSION\n" +
		"vllm?box    _llm._tcp.local.     gpu.local.  192.0.2.8               8000   -       -         -\n" +
		"ollama box  _ollama._tcp.local.  box.local.  192.0.2.7,fe80::1%eth0  11434  ollama  /         0.5.1\n"
	assert.Equal(t, want, out, "sorted by service type then instance; control characters cleaned")
	assert.Equal(t, []string{"_ollama._tcp.local.", "_llm._tcp.local."}, b.asked)
}

func TestDiscoverJSON(t *testing.T) {
	t.Parallel()
	out := discover(t, &lanBrowser{}, nil, "--wait", "20ms", "--json", "-s", "_llm._tcp")
	var rows []discovered
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, discovered{Instance: "ollama box", Service: "_ollama._tcp.local.", Host: "box.local.",
		Addresses: []string{"192.0.2.7", "fe80::1%eth0"}, Port: 11434, Type: "ollama", APIPath: "/", Version: "0.5.1"}, rows[1])
	assert.Equal(t, discovered{Instance: "vllm\tbox", Service: "_llm._tcp.local.", Host: "gpu.local.",
		Addresses: []string{"192.0.2.8"}, Port: 8000}, rows[0])
}

func TestDiscoverServiceTypesFromConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nexus.toml")
	require.NoError(t, os.WriteFile(path, []byte("[discovery]\nservice_types = [\"_custom._tcp\"]\n"), 0o600))
	b := &lanBrowser{}
	discover(t, b, map[string]string{"NEXUS_CONFIG": path}, "--wait", "10ms")
	assert.Equal(t, []string{"_custom._tcp.local."}, b.asked)

	empty := discovery.BrowserFunc(func(ctx context.Context, _ []string, _ func(discovery.Announcement)) error {
		<-ctx.Done()
		return nil
	})
	out := discover(t, empty, nil, "--wait", "10ms") // no nexus.toml here: the defaults
	assert.Contains(t, out, "Nothing announced _ollama._tcp.local., _llm._tcp.local. within 10ms.")
}

// TestDiscoverCommands: `nexus discover` and its alias `nexus backends
// discover` are both in the command tree.
func TestDiscoverCommands(t *testing.T) {
	t.Parallel()
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}, func(string) (string, bool) { return "", false })
	for _, path := range [][]string{{"discover"}, {"backends", "discover"}} {
		cmd, _, err := root.Find(path)
		require.NoError(t, err)
		assert.Equal(t, "discover", cmd.Name(), path)
		assert.NotNil(t, cmd.Flags().Lookup("wait"), path)
	}
}
