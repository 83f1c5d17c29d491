package replicatest

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BinaryEnv names an environment variable that may hold the path of a
// nexus binary built beforehand (go build -o PATH ./cmd/nexus); BuildNexus
// then uses it instead of building one.
const BinaryEnv = "NEXUS_TEST_BINARY"

// BuildNexus builds ./cmd/nexus of the module the test runs in into a
// temporary directory and returns the binary's path, or returns the path
// in $NEXUS_TEST_BINARY when set.
func BuildNexus(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", BinaryEnv, err)
		}
		return p
	}
	gobin := RequireTool(t, "go", "golang-go")
	bin := filepath.Join(t.TempDir(), "nexus")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/nexusllm/nexus/cmd/nexus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nexus: %v\n%s", err, out)
	}
	return bin
}

// Gateway is a `nexus serve` process.
type Gateway struct {
	Name string
	Port int
	proc *Process
}

// StartGateway writes config (nexus.toml; it must listen on 127.0.0.1:port)
// and runs `nexus serve -c` on it with env added to the environment, then
// waits, for at most 15 s, until GET /ready answers 200. It is killed when
// the test ends.
func StartGateway(t testing.TB, bin, name string, port int, config string, env ...string) *Gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Name: name, Port: port}
	g.proc = startProcess(t, "nexus "+name, bin, env, "serve", "-c", path)
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	waitUntil(t, g.proc, name+" /ready", 15*time.Second, func() bool {
		resp, err := client.Get(g.URL() + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return g
}

// URL returns the gateway's base URL.
func (g *Gateway) URL() string { return "http://" + addr(g.Port) }

// Addr returns the gateway's host:port.
func (g *Gateway) Addr() string { return addr(g.Port) }

// Kill kills the gateway with SIGKILL, as a crash would.
func (g *Gateway) Kill() { g.proc.Kill() }

// Output returns the gateway's log so far.
func (g *Gateway) Output() string { return g.proc.Output() }
