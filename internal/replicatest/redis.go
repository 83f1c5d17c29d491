package replicatest

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"
)

// Redis is a redis-server on a loopback port, without persistence
// (--save "" --appendonly no). Stop and Start simulate an outage: the
// server restarts on the same port, empty.
type Redis struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	proc *Process
}

// StartRedis starts a redis-server and waits until it answers PING. It is
// killed when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, bin: RequireTool(t, "redis-server", "redis-server"), dir: t.TempDir(), port: FreePort(t)}
	r.Start()
	return r
}

// Addr returns the server's host:port.
func (r *Redis) Addr() string { return addr(r.port) }

// URL returns the server's redis:// URL, database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Start (re)starts the server on its port and waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	r.proc = startProcess(r.t, "redis-server", r.bin, nil,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--loglevel", "warning")
	waitUntil(r.t, r.proc, "redis-server answering PING", 10*time.Second, r.Ping)
}

// Stop kills the server, as a crash would.
func (r *Redis) Stop() { r.proc.Kill() }

// Ping reports whether the server answers PING within a second.
func (r *Redis) Ping() bool {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
