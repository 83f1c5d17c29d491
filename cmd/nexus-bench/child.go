package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"time"
)

// With -gateway-process the gateway and the bare proxy each run in a child
// process (this same binary, started with the hidden -child flag), so that
// their memory can be read alone from /proc/<pid>/status and a CPU profile
// covers the gateway only. A child prints "listening <url>" on stdout and
// serves until its stdin is closed (also when the parent dies).

const listeningPrefix = "listening "

// childProc is a running child hop.
type childProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	done  chan error
}

// startChild runs this binary as a child serving kind ("gateway" or
// "bare-proxy") in front of backendURL.
func startChild(kind, backendURL, model, cpuprofile string, stderr io.Writer) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	args := []string{"-child", kind, "-child-backend", backendURL, "-model", model}
	if cpuprofile != "" {
		args = append(args, "-cpuprofile", cpuprofile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s process: %w", kind, err)
	}
	c := &childProc{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		c.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if ok && strings.HasPrefix(line, listeningPrefix) {
			c.url = strings.TrimPrefix(line, listeningPrefix)
			return c, nil
		}
		c.Close()
		return nil, fmt.Errorf("%s process did not start (first line %q)", kind, line)
	case <-time.After(15 * time.Second):
		c.Close()
		return nil, fmt.Errorf("%s process did not start within 15s", kind)
	}
}

// pid returns the child's process id.
func (c *childProc) pid() int { return c.cmd.Process.Pid }

// Close asks the child to stop (closing its stdin), waits up to 10 s, then
// kills it.
func (c *childProc) Close() error {
	_ = c.stdin.Close()
	select {
	case err := <-c.done:
		return err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.Join(errors.New("child did not stop in 10s; killed"), <-c.done)
	}
}

// runChild is the child side: serve one hop until stdin closes or ctx ends.
func runChild(ctx context.Context, o *options, stdout io.Writer) (err error) {
	if o.childBackend == "" {
		return errors.New("-child needs -child-backend")
	}
	if o.cpuprofile != "" {
		stopProfile, err := startProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stopProfile()) }()
	}
	var h http.Handler
	switch o.child {
	case "gateway":
		gw, err := newGateway(ctx, o.childBackend, o.model)
		if err != nil {
			return err
		}
		defer gw.Close()
		h = gw
	case "bare-proxy":
		bp, err := newBareProxy(o.childBackend)
		if err != nil {
			return err
		}
		defer bp.Close()
		h = bp
	default:
		return fmt.Errorf("-child %q: want gateway or bare-proxy", o.child)
	}
	srv, err := startServer(h)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(stdout, listeningPrefix+srv.url)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	return nil
}

// startProfile starts a CPU profile into path and returns its stop.
func startProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
