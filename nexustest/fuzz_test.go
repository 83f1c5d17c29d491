package nexustest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nexusllm/nexus/nexustest"
)

// FuzzInferenceBodies sends arbitrary bodies to every inference endpoint:
// the fake must answer a 2xx or a 4xx with a well-formed body, never a 5xx,
// a panic or a hang, whatever a gateway relays to it. The seeds run as a
// normal test.
func FuzzInferenceBodies(f *testing.F) {
	for _, ec := range endpointCases() {
		f.Add(ec.body)
		if ec.stream != "" {
			f.Add(ec.stream)
		}
	}
	for _, seed := range []string{
		``, `{`, `null`, `[]`, `{"model":null}`, `{"model":"test-model","input":[[1,"x"]]}`,
		`{"model":"test-model","prompt":{"a":1},"suffix":5}`, `{"model":"test-model","documents":[{}],"query":"q"}`,
		`{"model":"test-model","max_tokens":-3,"stop_sequences":[""],"messages":[{"role":"user","content":[{"type":"image"}]}]}`,
		`{"model":"test-model","input":"x","dimensions":1e9}`, `{"model":"test-model","tools":{},"messages":"no"}`,
		`{"model":"test-model","previous_response_id":"","input":[{"content":null}],"store":"yes"}`,
	} {
		f.Add(seed)
	}
	b := nexustest.NewBackend(f, nexustest.NoRecord(), nexustest.ToolCalls(nexustest.ToolCall{Name: "f", Arguments: `{"a":"é"}`}),
		nexustest.Reasoning("hmm"))
	c := newClient(f)
	paths := []string{}
	for _, ec := range endpointCases() {
		paths = append(paths, ec.path)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range paths {
			resp, err := c.Post(b.URL()+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: reading body: %v", path, err)
			}
			if resp.StatusCode >= 500 || resp.StatusCode < 200 {
				t.Fatalf("%s: status %d for %q: %s", path, resp.StatusCode, body, data)
			}
			if resp.Header.Get("Content-Type") == "application/json" && !json.Valid(data) {
				t.Fatalf("%s: invalid JSON reply for %q: %s", path, body, data)
			}
			if resp.StatusCode != http.StatusOK && !strings.Contains(string(data), `"error"`) {
				t.Fatalf("%s: %d without an error envelope: %s", path, resp.StatusCode, data)
			}
		}
	})
}
