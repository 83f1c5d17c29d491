package nexus_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// nested returns depth nested JSON arrays around a string.
func nested(depth int) string {
	return strings.Repeat("[", depth) + `"deep"` + strings.Repeat("]", depth)
}

// sendBody posts body with the given content type (none when empty). With
// chunked set the length is not announced, so the gateway cannot know it in
// advance.
func sendBody(t *testing.T, c *http.Client, url, contentType, body string, chunked bool) (int, string) {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length from net/http
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/chat/completions", r)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

// TestBadInput: hostile and malformed request bodies get a clear answer —
// a 4xx OpenAI envelope, or success when the body is valid after all —
// never a crash or a hang, and the gateway keeps serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.NoRecord())
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.FirstByteTimeout = time.Minute // big bodies through the race detector are slow
	_, url := startGateway(t, cfg)
	c := testClient(t)

	msg := func(content string) string {
		return `{"model":"m","messages":[{"role":"user","content":` + content + `}]}`
	}
	manyMessages := `{"model":"m","messages":[` +
		strings.TrimSuffix(strings.Repeat(`{"role":"user","content":"x"},`, 50_000), ",") + `]}`
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		msg         string // part of the error message
	}{
		{"100k nested arrays in a message", "application/json", msg(nested(100_000)), 400, "could not parse the JSON"},
		{"100k nested objects in an unknown field", "application/json",
			`{"model":"m","messages":[],"x":` + strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000) + "}", 400, "could not parse the JSON"},
		{"5000 nested arrays (within the parser's depth)", "application/json", msg(nested(5000)), 200, ""},
		{"invalid UTF-8 in the content", "application/json", msg("\"a\xffb\""), 400, "UTF-8"},
		{"invalid UTF-8 in the model", "application/json", "{\"model\":\"m\xc3\",\"messages\":[]}", 400, "UTF-8"},
		{"invalid UTF-8 in a key", "application/json", "{\"model\":\"m\",\"messages\":[],\"\xfe\":1}", 400, "UTF-8"},
		{"overlong UTF-8 encoding", "application/json", msg("\"\xc0\xaf\""), 400, "UTF-8"},
		{"lone surrogate escape (valid JSON)", "application/json", msg(`"\ud800"`), 200, ""},
		{"escaped NUL (valid JSON)", "application/json", msg(`"a\u0000b"`), 200, ""},
		{"raw control character in a string", "application/json", msg("\"a\x01b\""), 400, "could not parse the JSON"},
		{"byte order mark", "application/json", "\xef\xbb\xbf" + msg(`"hi"`), 400, "could not parse the JSON"},
		{"50k messages", "application/json", manyMessages, 200, ""},
		{"enormous array in an unknown field", "application/json",
			`{"model":"m","messages":[],"logit_bias_list":[` + strings.TrimSuffix(strings.Repeat("0,", 200_000), ",") + `]}`, 200, ""},
		{"messages of numbers", "application/json", `{"model":"m","messages":[1,2,3]}`, 400, "array of message objects"},
		{"messages as an object", "application/json", `{"model":"m","messages":{"role":"user"}}`, 400, "'messages' must be an array"},
		{"model as a number", "application/json", `{"model":7,"messages":[]}`, 400, "'model' must be a string"},
		{"empty model", "application/json", `{"model":"","messages":[]}`, 400, "must provide a model"},
		{"a 100 KB model name", "application/json", `{"model":"` + strings.Repeat("x", 100_000) + `","messages":[]}`, 400, "longer than 256 bytes"},
		{"JSON sent as text/plain", "text/plain", msg(`"hi"`), 200, ""},
		{"JSON without a content type", "", msg(`"hi"`), 200, ""},
		{"a form instead of JSON", "application/x-www-form-urlencoded", "model=m&messages=hi", 400, "could not parse the JSON"},
		{"multipart instead of JSON", "multipart/form-data; boundary=x",
			"--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--x--\r\n", 400, "could not parse the JSON"},
		{"empty body", "application/json", "", 400, "the body is empty"},
		{"whitespace only", "application/json", " \n\t ", 400, "the body is empty"},
		{"two JSON objects", "application/json", msg(`"a"`) + msg(`"b"`), 400, "could not parse the JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := sendBody(t, c, url, tt.contentType, tt.body, false)
			require.Equal(t, tt.status, status, "body: %.300s", body)
			if tt.status == http.StatusOK {
				return
			}
			e := decodeAPIError(t, []byte(body))
			assert.Equal(t, "invalid_request_error", e.Error.Type)
			assert.True(t, strings.Contains(e.Error.Message, tt.msg), "message %.200q lacks %q", e.Error.Message, tt.msg)
			if status == http.StatusBadRequest {
				assert.Less(t, len(body), 4096, "a 400 answer stays small whatever the input")
			}
		})
	}
	// Still serving.
	status, _ := sendBody(t, c, url, "application/json", msg(`"hi"`), false)
	assert.Equal(t, http.StatusOK, status)
}

// TestBodyLimitChunked: the body limit holds when the client does not
// announce the length (chunked transfer encoding): one byte over gets 413.
// (TestBodyLimit checks a body of exactly the limit, and one byte over,
// with a Content-Length.)
func TestBodyLimitChunked(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.NoRecord())
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.FirstByteTimeout = time.Minute
	_, url := startGateway(t, cfg)
	c := testClient(t)
	pad := func(n int) string {
		prefix := `{"model":"m","messages":[{"role":"user","content":"`
		suffix := `"}]}`
		return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
	}
	for _, tt := range []struct {
		size   int
		status int
	}{
		{nexus.MaxBodyBytes + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			status, body := sendBody(t, c, url, "application/json", pad(tt.size), true)
			require.Equal(t, tt.status, status, "body: %.300s", body)
			if tt.status != http.StatusOK {
				assert.Equal(t, "request_too_large", *decodeAPIError(t, []byte(body)).Error.Code)
			}
		})
	}
}
