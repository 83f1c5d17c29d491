package translate

import (
	"os"
	"testing"
)

func readBench(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkMessagesRequestToChat translates a Claude Code-shaped request
// (system blocks, 12 tools, a tool round trip).
func BenchmarkMessagesRequestToChat(b *testing.B) {
	body := readBench(b, "testdata/messages_to_chat/claude_code.in.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MessagesRequestToChat(body, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatRequestToMessages translates a chat request with images,
// tools and a tool round trip.
func BenchmarkChatRequestToMessages(b *testing.B) {
	body := readBench(b, "testdata/chat_to_messages/full.in.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ChatRequestToMessages(body, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCountTokens(b *testing.B) {
	body := readBench(b, "testdata/messages_to_chat/claude_code.in.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CountTokens(body); err != nil {
			b.Fatal(err)
		}
	}
}

func discard(string, []byte) error { return nil }

// benchmarkChunks measures one Event call per op on a stream already
// started, cycling through chunks.
func benchmarkChunks(b *testing.B, r replyTranslator, name string, first []byte, chunks ...[]byte) {
	if err := r.Event(name, first, discard); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := r.Event(name, chunks[i%len(chunks)], discard); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkChatChunkToMessages is the cost per streamed chat chunk of
// text (a vLLM-shaped chunk).
func BenchmarkChatChunkToMessages(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1767225600,"model":"Qwen/Qwen3-32B","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}`)
	benchmarkChunks(b, NewMessagesReply("claude-sonnet-4-5"), "", chunk, chunk)
}

// BenchmarkChatToolChunkToMessages is the cost per streamed chunk of tool
// arguments.
func BenchmarkChatToolChunkToMessages(b *testing.B) {
	first := []byte(`{"id":"chatcmpl-7f3a","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"Read","arguments":""}}]},"finish_reason":null}]}`)
	chunk := []byte(`{"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1767225600,"model":"Qwen/Qwen3-32B","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"_path\":"}}]},"logprobs":null,"finish_reason":null}]}`)
	benchmarkChunks(b, NewMessagesReply("claude-sonnet-4-5"), "", first, chunk)
}

// BenchmarkMessagesEventToChat is the cost per streamed Anthropic
// text_delta event.
func BenchmarkMessagesEventToChat(b *testing.B) {
	start := []byte(`{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`)
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the"}}`)
	benchmarkChunks(b, NewChatReply("gpt-4o", ReplyOptions{IncludeUsage: true}), "content_block_delta", start, delta)
}

func BenchmarkChatReplyToMessages(b *testing.B) {
	body := readBench(b, "testdata/chat_reply_to_messages/tool_calls.in.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewMessagesReply("m").Reply(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessagesReplyToChat(b *testing.B) {
	body := readBench(b, "testdata/messages_reply_to_chat/tool_use.in.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewChatReply("m", ReplyOptions{}).Reply(body); err != nil {
			b.Fatal(err)
		}
	}
}
