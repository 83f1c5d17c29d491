package nexustest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/nexustest"
)

// TestMain fails the run if any goroutine (server, handler, client) outlives
// the tests: Close must leave nothing behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClient returns a client with its own transport, closed with the test.
func newClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// do sends one request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

// decode unmarshals JSON into a generic map.
func decode(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "body: %s", data)
	return m
}

// chatBody builds a chat completions request body.
func chatBody(model string, stream, includeUsage bool, userText string) string {
	req := map[string]any{
		"model":    model,
		"messages": []map[string]any{{"role": "user", "content": userText}},
	}
	if stream {
		req["stream"] = true
	}
	if includeUsage {
		req["stream_options"] = map[string]any{"include_usage": true}
	}
	data, _ := json.Marshal(req)
	return string(data)
}

// readEvents reads SSE data payloads until [DONE], EOF or an error. It
// returns the payloads (without "data: ", [DONE] included if seen) and the
// read error, nil at a clean EOF.
func readEvents(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var events []string
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimRight(line, "\r\n")
		if payload, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			events = append(events, string(payload))
		}
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
	}
}

// postStream starts a streamed chat request and returns the response, whose
// body the caller reads and closes.
func postStream(t testing.TB, ctx context.Context, c *http.Client, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	return resp
}

// contentOf returns the delta content of a chunk payload, and whether it had
// a content field.
func contentOf(t testing.TB, payload string) (string, bool) {
	t.Helper()
	var c struct {
		Choices []struct {
			Delta struct {
				Content *string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal([]byte(payload), &c), payload)
	if len(c.Choices) == 0 || c.Choices[0].Delta.Content == nil {
		return "", false
	}
	return *c.Choices[0].Delta.Content, true
}

// sseEvent is one server-sent event: its event: name ("" if none) and data.
type sseEvent struct {
	Name string
	Data string
}

// readNamedEvents reads every event of an SSE body until EOF. It returns the
// events and the read error, nil at a clean EOF.
func readNamedEvents(r io.Reader) ([]sseEvent, error) {
	br := bufio.NewReader(r)
	var events []sseEvent
	var cur sseEvent
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0 && err == nil:
			if cur.Data != "" {
				events = append(events, cur)
			}
			cur = sseEvent{}
		case bytes.HasPrefix(line, []byte("event: ")):
			cur.Name = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			cur.Data = string(line[len("data: "):])
		}
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
	}
}

// postTo sends a POST with a JSON body to path and returns the response,
// whose body the caller reads and closes.
func postTo(t testing.TB, ctx context.Context, c *http.Client, url, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	return resp
}

// openaiClient returns an openai-go client for b, with its own transport
// closed with the test and no retries.
func openaiClient(t testing.TB, b *nexustest.Backend, opts ...option.RequestOption) openai.Client {
	t.Helper()
	base := []option.RequestOption{
		option.WithBaseURL(b.URL() + "/v1/"),
		option.WithAPIKey("sk-test"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(newClient(t)),
	}
	return openai.NewClient(append(base, opts...)...)
}

// anthropicClient returns an anthropic-sdk-go client for b, with its own
// transport closed with the test and no retries.
func anthropicClient(t testing.TB, b *nexustest.Backend, opts ...aoption.RequestOption) anthropic.Client {
	t.Helper()
	base := []aoption.RequestOption{
		aoption.WithBaseURL(b.URL() + "/"),
		aoption.WithAPIKey("sk-ant-test"),
		aoption.WithMaxRetries(0),
		aoption.WithHTTPClient(newClient(t)),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

// errorOf decodes an OpenAI error envelope and returns its error object.
func errorOf(t testing.TB, data []byte) map[string]any {
	t.Helper()
	m := decode(t, data)
	require.Len(t, m, 1, "only the error key: %s", data)
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, "error object: %s", data)
	return e
}

// anthropicErrorOf decodes an Anthropic error envelope and returns its
// error object.
func anthropicErrorOf(t testing.TB, data []byte) map[string]any {
	t.Helper()
	m := decode(t, data)
	require.Equal(t, "error", m["type"], "body: %s", data)
	assert.NotEmpty(t, m["request_id"])
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, "error object: %s", data)
	assert.NotEmpty(t, e["message"])
	return e
}
