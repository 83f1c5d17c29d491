package nexus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// claudeCodeTimeout bounds one headless Claude Code run.
const claudeCodeTimeout = 60 * time.Second

// inboundRecorder keeps a copy of every request a handler receives.
type inboundRecorder struct {
	next http.Handler

	mu   sync.Mutex
	reqs []nexustest.RecordedRequest
}

func (rec *inboundRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, nexustest.RecordedRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body,
	})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *inboundRecorder) requests() []nexustest.RecordedRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// ciRequired reports whether the environment says this is CI, where a
// missing tool is a failure rather than a reason to skip.
func ciRequired() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}

// claudeCodeRun is one headless Claude Code run against a gateway.
type claudeCodeRun struct {
	gw       *nexus.Gateway
	backend  *nexustest.Backend
	inbound  *inboundRecorder
	dir      string // Claude Code's working directory
	stdout   string
	stderr   string
	exitErr  error
	ranModel string
}

// claudeCodeBinary returns the path of claude, or skips the test (fails it
// under CI) when it is not installed.
func claudeCodeBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("claude")
	if err != nil {
		if ciRequired() {
			t.Fatalf("claude is not on PATH and CI=%s: install it with npm install -g @anthropic-ai/claude-code", os.Getenv("CI"))
		}
		t.Skip("claude is not on PATH (npm install -g @anthropic-ai/claude-code) and CI is unset")
	}
	return bin
}

// runClaudeCode starts a gateway (with a key) whose only backend is a
// chat-only nexustest backend built with opts, runs claude -p prompt
// against it with a temporary HOME and working directory (prepare may put
// files there), and logs what Claude Code sent.
func runClaudeCode(t *testing.T, prompt string, prepare func(dir string), args []string, opts ...nexustest.Option) *claudeCodeRun {
	t.Helper()
	bin := claudeCodeBinary(t)
	opts = append([]nexustest.Option{nexustest.Models(claudeModel), nexustest.Name("gpu"),
		nexustest.Endpoints(nexustest.EndpointChat)}, opts...)
	run := &claudeCodeRun{backend: nexustest.NewBackend(t, opts...), dir: t.TempDir()}
	bc := backendConfig("gpu", run.backend, 1)
	bc.Type = "vllm"
	bc.Endpoints = []string{"chat"}
	cfg := testConfig(bc)
	cfg.Server.FirstByteTimeout = 30 * time.Second
	const gatewayKey = "sk-nexus-claude-code"
	cfg.Keys = []nexus.KeyConfig{{Name: "claude-code", Key: gatewayKey}}
	gw, err := nexus.New(cfg)
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	run.gw = gw
	run.inbound = &inboundRecorder{next: gw.Handler()}
	srv := httptest.NewServer(run.inbound)
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, gw.Close())
	})
	if prepare != nil {
		prepare(run.dir)
	}

	ctx, cancel := context.WithTimeout(t.Context(), claudeCodeTimeout)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-p", prompt}, args...)...)
	cmd.Dir = run.dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + home + "/.config",
		"ANTHROPIC_BASE_URL=" + srv.URL,
		"ANTHROPIC_API_KEY=" + gatewayKey,
		// Every model Claude Code may pick (main, and the small fast one
		// for side tasks) is the backend's.
		"ANTHROPIC_MODEL=" + claudeModel,
		"ANTHROPIC_DEFAULT_HAIKU_MODEL=" + claudeModel,
		"ANTHROPIC_DEFAULT_SONNET_MODEL=" + claudeModel,
		"ANTHROPIC_DEFAULT_OPUS_MODEL=" + claudeModel,
		// No traffic to other hosts.
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	run.exitErr = cmd.Run()
	run.stdout, run.stderr = stdout.String(), stderr.String()

	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		t.Logf("Claude Code version: %s", strings.TrimSpace(string(out)))
	}
	t.Logf("claude -p %q %v exited with %v\nstdout: %s\nstderr: %s", prompt, args, run.exitErr, run.stdout, run.stderr)
	logInbound(t, run.inbound.requests())
	logBackend(t, run.backend.Requests())
	for _, e := range gw.History().List() {
		t.Logf("history: endpoint=%s model=%s backend=%s status=%d stream=%v translated=%v session=%q tokens=%d/%d",
			e.Endpoint, e.Model, e.Backend, e.Status, e.Stream, e.Translated, e.Session, e.PromptTokens, e.CompletionTokens)
	}
	return run
}

// checkServed asserts that Claude Code called POST /v1/messages and that
// the gateway served it translated, with its session id recorded; it
// returns how many such requests succeeded.
func (run *claudeCodeRun) checkServed(t *testing.T) int {
	t.Helper()
	var messages int
	for _, r := range run.inbound.requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/messages" {
			messages++
			assert.Equal(t, "beta=true", r.RawQuery)
		}
	}
	assert.Positive(t, messages, "Claude Code called POST /v1/messages")
	assert.Positive(t, run.backend.ChatHits(), "the chat-only backend answered")
	served := 0
	for _, e := range run.gw.History().List() {
		if e.Endpoint == "messages" && e.Status == http.StatusOK && e.Translated {
			served++
			assert.NotEmpty(t, e.Session, "X-Claude-Code-Session-Id recorded")
		}
	}
	assert.Positive(t, served, "a translated /v1/messages request succeeded")
	return served
}

// TestClaudeCodeHeadless runs Claude Code itself (npm package
// @anthropic-ai/claude-code) headless, `claude -p`, against a gateway whose
// only backend serves chat completions only: its Messages requests must be
// translated, and its answer must come back through the gateway. It logs
// what Claude Code sent (as the gateway received it, and as the backend
// received it after translation).
func TestClaudeCodeHeadless(t *testing.T) {
	t.Parallel()
	const reply = "Hi from a self-hosted model, through Nexus."
	run := runClaudeCode(t, "Say hi", nil, nil, nexustest.Reply(reply), nexustest.Usage(1234, 9))
	require.NoError(t, run.exitErr, "claude -p failed: %s", run.stderr)
	assert.Contains(t, run.stdout, reply, "Claude Code printed the backend's answer")
	run.checkServed(t)
}

// TestClaudeCodeHeadlessToolTurn: the backend answers Claude Code with a
// tool call (Read a file); Claude Code runs the tool and sends the result
// back (its assistant turn with tool_use, then tool_result), which the
// backend receives as a chat tool message and answers from.
func TestClaudeCodeHeadlessToolTurn(t *testing.T) {
	t.Parallel()
	const secret = "the password is swordfish"
	var file string
	run := runClaudeCode(t, "What does notes.txt say?", func(dir string) {
		file = dir + "/notes.txt"
		require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o644))
	}, []string{"--allowedTools", "Read"}, nexustest.Handler(readThenAnswer(&file)))
	require.NoError(t, run.exitErr, "claude -p failed: %s", run.stderr)
	assert.Contains(t, run.stdout, "The file says: ", "Claude Code printed the final answer")
	assert.Contains(t, run.stdout, secret, "which quotes the tool result")
	assert.GreaterOrEqual(t, run.checkServed(t), 2, "a tool call turn and an answer turn")
}

// readThenAnswer is a chat handler that, while the conversation has no
// tool result, calls Claude Code's Read tool on *file, and then answers
// "The file says: " and the tool result, streamed as vLLM does.
func readThenAnswer(file *string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		var result string
		for _, m := range req.Messages {
			if s, ok := m.Content.(string); ok && m.Role == "tool" {
				result = s
			}
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(delta map[string]any, finish any) {
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": claudeModel,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
			_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
		}
		chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		if result == "" {
			args, _ := json.Marshal(map[string]string{"file_path": *file})
			chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "call_read1", "type": "function",
				"function": map[string]any{"name": "Read", "arguments": ""}}}}, nil)
			half := len(args) / 2
			for _, piece := range []string{string(args[:half]), string(args[half:])} {
				chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": piece}}}}, nil)
			}
			chunk(map[string]any{}, "tool_calls")
		} else {
			chunk(map[string]any{"content": "The file says: "}, nil)
			chunk(map[string]any{"content": strings.TrimSpace(result)}, nil)
			chunk(map[string]any{}, "stop")
		}
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": claudeModel,
			"choices": []any{}, "usage": map[string]int{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})
		_, _ = io.WriteString(w, "data: "+string(b)+"\n\ndata: [DONE]\n\n")
	}
}

// logInbound logs what Claude Code sent the gateway: per request the
// method, path and query, the headers that matter, and the shape of the
// body.
func logInbound(t *testing.T, reqs []nexustest.RecordedRequest) {
	t.Helper()
	for i, r := range reqs {
		var b strings.Builder
		fmt.Fprintf(&b, "Claude Code → gateway #%d: %s %s", i+1, r.Method, r.Path)
		if r.RawQuery != "" {
			b.WriteString("?" + r.RawQuery)
		}
		for _, h := range []string{"Anthropic-Version", "Anthropic-Beta", "X-Claude-Code-Session-Id", "User-Agent", "X-App"} {
			if v := r.Header.Get(h); v != "" {
				fmt.Fprintf(&b, "\n  %s: %s", h, v)
			}
		}
		fmt.Fprintf(&b, "\n  auth: Authorization %v, x-api-key %v", r.Header.Get("Authorization") != "", r.Header.Get("X-Api-Key") != "")
		if len(r.Body) > 0 {
			b.WriteString("\n  body: " + bodyShape(r.Body))
		}
		t.Log(b.String())
	}
}

// logBackend logs what the chat-only backend received after translation.
func logBackend(t *testing.T, reqs []nexustest.RecordedRequest) {
	t.Helper()
	for i, r := range reqs {
		if r.Method != http.MethodPost {
			continue
		}
		t.Logf("gateway → backend #%d: %s %s\n  body: %s", i+1, r.Method, r.Path, bodyShape(r.Body))
	}
}

// bodyShape summarises a JSON request body: its members, with the values
// of the small ones and the shape of messages, system and tools.
func bodyShape(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return fmt.Sprintf("(%d bytes, not a JSON object)", len(body))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := []string{fmt.Sprintf("%d bytes", len(body))}
	for _, k := range keys {
		raw := m[k]
		switch k {
		case "messages":
			var msgs []struct {
				Role      string          `json:"role"`
				Content   json.RawMessage `json:"content"`
				ToolCalls []any           `json:"tool_calls"`
			}
			_ = json.Unmarshal(raw, &msgs)
			var roles []string
			for _, msg := range msgs {
				r := msg.Role + contentKinds(msg.Content)
				if n := len(msg.ToolCalls); n > 0 {
					r += fmt.Sprintf("+%d tool_calls", n)
				}
				roles = append(roles, r)
			}
			parts = append(parts, fmt.Sprintf("messages=[%s]", strings.Join(roles, ", ")))
		case "tools":
			var tools []map[string]any
			_ = json.Unmarshal(raw, &tools)
			var names []string
			for _, tool := range tools {
				name, _ := tool["name"].(string)
				if fn, ok := tool["function"].(map[string]any); ok {
					name, _ = fn["name"].(string)
				}
				if tool["defer_loading"] == true {
					name += "(defer_loading)"
				}
				names = append(names, name)
			}
			parts = append(parts, fmt.Sprintf("tools=%d[%s]", len(tools), strings.Join(names, " ")))
		case "system":
			parts = append(parts, "system="+contentKinds(raw))
		default:
			v := string(raw)
			if len(v) > 160 {
				v = v[:160] + "…"
			}
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// contentKinds describes message content: "(text)" for a string, else the
// block types, marking blocks with cache_control.
func contentKinds(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "(null)"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "(text)"
	}
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) != nil {
		return "(?)"
	}
	var kinds []string
	for _, bl := range blocks {
		k, _ := bl["type"].(string)
		if _, ok := bl["cache_control"]; ok {
			k += "+cache_control"
		}
		kinds = append(kinds, k)
	}
	return "(" + strings.Join(kinds, " ") + ")"
}
