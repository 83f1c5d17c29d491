package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchSmallChat is a typical short chat request (about 250 bytes).
const benchSmallChat = `{"model":"llama3:8b","messages":[{"role":"system","content":"You are a concise assistant."},` +
	`{"role":"user","content":"In one sentence, what does an LLM gateway do?"}],"max_tokens":64,"temperature":0.2,"stream":false}`

// benchLargeChat returns a long conversation of about n bytes: many turns,
// some with content-part arrays, as an agent with a long history sends.
func benchLargeChat(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"llama3:8b","stream":true,"tools":[{"type":"function","function":{"name":"search","parameters":{"type":"object"}}}],"messages":[`)
	b.WriteString(`{"role":"system","content":"You are a helpful assistant with a search tool."}`)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10)
	for i := 0; b.Len() < n; i++ {
		if i%5 == 4 {
			fmt.Fprintf(&b, `,{"role":"user","content":[{"type":"text","text":%q}]}`, text)
			continue
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `,{"role":%q,"content":%q}`, role, text)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkPeekChat(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"small", []byte(benchSmallChat)},
		{"100KB", benchLargeChat(100 << 10)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := PeekChat(tc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWithModel(b *testing.B) {
	body := []byte(benchSmallChat)
	b.Run("same model", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out := WithModel(body, "llama3:8b"); len(out) != len(body) {
				b.Fatal("changed")
			}
		}
	})
	b.Run("rewrite", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out := WithModel(body, "llama3:70b"); len(out) == len(body) {
				b.Fatal("unchanged")
			}
		}
	})
	large := benchLargeChat(100 << 10)
	b.Run("rewrite 100KB", func(b *testing.B) {
		b.SetBytes(int64(len(large)))
		b.ReportAllocs()
		for b.Loop() {
			WithModel(large, "llama3:70b")
		}
	})
}

func BenchmarkWithIncludeUsage(b *testing.B) {
	body := []byte(benchSmallChat)
	b.ReportAllocs()
	for b.Loop() {
		WithIncludeUsage(body)
	}
}

// benchChunk is one content chunk as vLLM and Ollama send them.
func benchChunk(i int) string {
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama3:8b",`+
		`"system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" word%d"},"logprobs":null,"finish_reason":null}]}`, i)
}

const (
	benchFinishChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama3:8b",` +
		`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`
	benchUsageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama3:8b",` +
		`"choices":[],"usage":{"prompt_tokens":18,"completion_tokens":200,"total_tokens":218}}`
)

// BenchmarkEventReader reads a 200-event stream (plus finish, usage and
// [DONE]) through one EventReader, as the proxy does per stream.
func BenchmarkEventReader(b *testing.B) {
	var s bytes.Buffer
	for i := range 200 {
		s.WriteString("data: " + benchChunk(i) + "\n\n")
	}
	s.WriteString("data: " + benchFinishChunk + "\n\ndata: " + benchUsageChunk + "\n\ndata: [DONE]\n\n")
	stream := s.Bytes()
	r := bytes.NewReader(stream)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(stream)
		er := NewEventReader(r, 1<<20)
		n := 0
		for {
			ev, err := er.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if ev.IsDone() {
				continue
			}
			n++
		}
		if n != 202 {
			b.Fatalf("%d events", n)
		}
	}
}

func BenchmarkInspectChunk(b *testing.B) {
	for _, tc := range []struct{ name, data string }{
		{"content", benchChunk(1)},
		{"finish", benchFinishChunk},
		{"usage", benchUsageChunk},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := []byte(tc.data)
			if !json.Valid(data) {
				b.Fatal("invalid fixture")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := InspectChunk(data); !ok {
					b.Fatal("not a chunk")
				}
			}
		})
	}
}

// BenchmarkValid compares Valid with json.Valid on a short request and a
// long conversation.
func BenchmarkValid(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"small", []byte(benchSmallChat)},
		{"100KB", benchLargeChat(100 << 10)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if !Valid(tc.body) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(tc.name+" json.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				json.Valid(tc.body)
			}
		})
	}
}

// BenchmarkScanChunk is the per-event walk of the proxy after the first
// event: no validation, no allocation.
func BenchmarkScanChunk(b *testing.B) {
	for _, tc := range []struct{ name, data string }{
		{"content", benchChunk(1)},
		{"finish", benchFinishChunk},
		{"usage", benchUsageChunk},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := []byte(tc.data)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ScanChunk(data); !ok {
					b.Fatal("not a chunk")
				}
			}
		})
	}
}

// BenchmarkInspectReply is the error and usage probe of a plain reply.
func BenchmarkInspectReply(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama3:8b",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"An LLM gateway routes requests to model backends."},` +
		`"finish_reason":"stop"}],"usage":{"prompt_tokens":18,"completion_tokens":12,"total_tokens":30}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if !InspectReply(data).HasUsage {
			b.Fatal("no usage")
		}
	}
}

// BenchmarkParseUsage is the per-event usage probe of the proxy: most
// events have no usage (a byte search), the last one has.
func BenchmarkParseUsage(b *testing.B) {
	for _, tc := range []struct{ name, data string }{
		{"no usage", benchChunk(1)},
		{"usage", benchUsageChunk},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := []byte(tc.data)
			b.ReportAllocs()
			for b.Loop() {
				ParseUsage(data)
			}
		})
	}
}

// BenchmarkPeekEndpoints is the request peek of every endpoint beside chat
// on a typical body.
func BenchmarkPeekEndpoints(b *testing.B) {
	for _, tc := range []struct {
		name string
		peek func([]byte) (Request, error)
		body string
	}{
		{"completions fim", PeekCompletions, `{"model":"qwen2.5-coder","prompt":"def fib(n):\n    ","suffix":"\n    return a","max_tokens":64,"stream":true}`},
		{"embeddings", PeekEmbeddings, `{"model":"bge-m3","input":["The quick brown fox","jumps over the lazy dog"],"encoding_format":"float"}`},
		{"rerank", PeekRerank, `{"model":"bge-reranker","query":"what is a gateway","documents":["a proxy","a router","a door"],"top_n":2}`},
		{"responses", PeekResponses, `{"model":"gpt-5-codex","instructions":"You are Codex.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"fix the bug"}]}],` +
			`"tools":[{"type":"function","name":"shell","parameters":{}}],"reasoning":{"effort":"medium"},"store":false,"stream":true,"prompt_cache_key":"sess-1"}`},
		{"messages", PeekMessages, `{"model":"claude-sonnet-4","max_tokens":8192,"stream":true,"system":[{"type":"text","text":"You are Claude Code."}],` +
			`"messages":[{"role":"user","content":[{"type":"text","text":"fix the bug"}]}],"tools":[{"name":"Read","input_schema":{}}],"metadata":{"user_id":"user_1"}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.peek(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInspectTypedEvent is the per-event walk of a Responses or
// Anthropic stream relay.
func BenchmarkInspectTypedEvent(b *testing.B) {
	for _, tc := range []struct {
		name, event, data string
		inspect           func(string, []byte) EventInfo
	}{
		{"responses delta", "response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" word"}`, InspectResponsesEvent},
		{"responses delta unnamed", "", `{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" word"}`, InspectResponsesEvent},
		{"responses completed", "response.completed", `{"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","status":"completed","error":null,` +
			`"output":[{"type":"message","content":[{"type":"output_text","text":"An LLM gateway routes requests."}]}],"usage":{"input_tokens":18,"output_tokens":12,"total_tokens":30}}}`, InspectResponsesEvent},
		{"anthropic delta", "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" word"}}`, InspectAnthropicEvent},
		{"anthropic message_delta", "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`, InspectAnthropicEvent},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := []byte(tc.data)
			b.ReportAllocs()
			for b.Loop() {
				tc.inspect(tc.event, data)
			}
		})
	}
}
