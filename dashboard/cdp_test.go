//go:build linux

package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chromiumPath is Debian's Chromium. Without it the browser test is
// skipped, unless CI is set.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	cdp     *cdpClient
	session string        // the page's flat session
	stderr  *devtoolsLine // Chromium's log, for failure messages
}

// startBrowser launches Chromium on a fresh profile, connects to it and
// opens a blank page. Everything is torn down when the test ends.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not installed (apt-get install chromium)", chromiumPath)
	}
	dir, err := os.MkdirTemp("", "nexus-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(t, dir) }) // runs after Chromium is gone

	cmd := exec.Command(chromiumPath,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-extensions", "--no-proxy-server",
		"--user-data-dir="+dir, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // one group to kill
	lines := &devtoolsLine{found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = lines, lines
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b := &browser{stderr: lines}
	t.Cleanup(func() {
		if b.cdp != nil {
			// Ask politely first, so the profile is written out and closed.
			_ = b.cdp.call(context.Background(), "", "Browser.close", nil, nil, 2*time.Second)
			b.cdp.ws.Close()
		}
		gone := false
		select {
		case <-exited:
			gone = true
		case <-time.After(5 * time.Second):
		}
		// Kill what is left of the group: renderers, zygote, crashpad.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if !gone {
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Errorf("chromium (pid %d) did not exit", cmd.Process.Pid)
			}
		}
	})

	var wsURL string
	select {
	case wsURL = <-lines.found:
	case err := <-exited:
		exited <- err
		t.Fatalf("chromium exited early (%v):\n%s", err, lines.tail())
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium printed no DevTools address within 30 s:\n%s", lines.tail())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, err := dialWS(ctx, wsURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", wsURL, err)
	}
	b.cdp = &cdpClient{ws: ws}
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.must(t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.must(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.must(t, b.session, "Runtime.enable", nil, nil)
	b.must(t, b.session, "Log.enable", nil, nil)
	b.must(t, b.session, "Page.enable", nil, nil)
	return b
}

// must sends a command and fails the test if it fails.
func (b *browser) must(t *testing.T, session, method string, params, result any) {
	t.Helper()
	if err := b.cdp.call(t.Context(), session, method, params, result, 10*time.Second); err != nil {
		t.Fatalf("%s: %v\nchromium log:\n%s", method, err, b.stderr.tail())
	}
}

// navigate opens url in the page and waits for its load event.
func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	b.must(t, b.session, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("navigate to %s: %s", url, nav.ErrorText)
	}
	b.waitFor(t, `document.readyState === "complete"`, "the page loads")
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into out.
func (b *browser) eval(t *testing.T, expr string, out any) {
	t.Helper()
	if err := b.cdp.evaluate(t.Context(), b.session, expr, out); err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
}

// waitFor evaluates a boolean expression every 50 ms until it is true,
// failing the test after 10 s (a bound against hangs, not a speed check).
func (b *browser) waitFor(t *testing.T, expr, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		err := b.cdp.evaluate(t.Context(), b.session, "Boolean("+expr+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var text string
			_ = b.cdp.evaluate(t.Context(), b.session, `document.body ? document.body.innerText.slice(0, 2000) : ""`, &text)
			t.Fatalf("waiting for %s (%s): last error %v\npage text:\n%s\npage problems: %v", what, expr, err, text, b.cdp.problems())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cdpClient sends DevTools commands and collects the page's errors from
// the events that arrive meanwhile.
type cdpClient struct {
	ws     *wsConn
	nextID int64

	mu     sync.Mutex
	issues []string
}

type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends one command and waits (at most timeout) for its answer.
func (c *cdpClient) call(ctx context.Context, session, method string, params, result any, timeout time.Duration) error {
	c.nextID++
	id := c.nextID
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.ws.SetDeadline(deadline)
	if err := c.ws.WriteText(raw); err != nil {
		return err
	}
	for {
		data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		var m cdpMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("bad DevTools message: %w", err)
		}
		if m.ID == id {
			if m.Error != nil {
				return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
			}
			if result != nil && len(m.Result) > 0 {
				return json.Unmarshal(m.Result, result)
			}
			return nil
		}
		if m.Method != "" {
			c.note(m)
		}
	}
}

// note records script errors, console errors and warnings, and browser
// log errors (failed loads, CSP violations).
func (c *cdpClient) note(m cdpMessage) {
	var issue string
	switch m.Method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		issue = "exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string            `json:"type"`
			Args []json.RawMessage `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "warning" || p.Type == "assert" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, string(a))
			}
			issue = "console." + p.Type + ": " + strings.Join(parts, " ")
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			issue = "log " + p.Entry.Level + ": " + p.Entry.Text + " " + p.Entry.URL
		}
	}
	if issue != "" {
		c.mu.Lock()
		c.issues = append(c.issues, issue)
		c.mu.Unlock()
	}
}

// problems returns the errors the page reported so far.
func (c *cdpClient) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.issues...)
}

// evaluate runs Runtime.evaluate and decodes the returned value.
func (c *cdpClient) evaluate(ctx context.Context, session, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := c.call(ctx, session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &res, 10*time.Second)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return errors.New(d.Text + " " + d.Exception.Description)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// devtoolsLine watches Chromium's output for the DevTools address and
// keeps the last lines for failure messages.
type devtoolsLine struct {
	found chan string

	mu      sync.Mutex
	partial []byte
	lines   []string
	sent    bool
}

func (d *devtoolsLine) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = append(d.partial, p...)
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(d.partial[:i]))
		d.partial = d.partial[i+1:]
		if rest, ok := strings.CutPrefix(line, "DevTools listening on "); ok && !d.sent {
			d.sent = true
			d.found <- rest
		}
		d.lines = append(d.lines, line)
		if len(d.lines) > 40 {
			d.lines = d.lines[len(d.lines)-40:]
		}
	}
	return len(p), nil
}

func (d *devtoolsLine) tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// removeAll deletes Chromium's profile, retrying while a dying process may
// still write to it.
func removeAll(t *testing.T, dir string) {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("could not remove %s: %v", dir, err)
}
