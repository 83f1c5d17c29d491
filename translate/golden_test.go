package translate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update rewrites the expected outputs of the golden tests from what the
// code produces: go test ./translate -run Golden -update, then review the
// diff.
var update = flag.Bool("update", false, "rewrite golden files")

// testModel is the model the client asked for in reply goldens, and
// testCreated the created time of chat objects.
const (
	testModel   = "client-model"
	testCreated = 1700000000
)

// goldenCases returns the case names of dir: the files *.in.json or
// *.in.jsonl.
func goldenCases(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.in"+ext))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no cases in %s", dir)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".in"+ext))
	}
	return names
}

// semantic decodes JSON for comparison regardless of member order and
// spacing.
func semantic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v), "%s", data)
	return v
}

func pretty(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, data, "", "  "))
	return append(buf.Bytes(), '\n')
}

// checkGolden compares got with the file want semantically, or writes it
// with -update.
func checkGolden(t *testing.T, want string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(want, pretty(t, got), 0o644))
		return
	}
	w, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, semantic(t, w), semantic(t, got), "got %s", got)
}

// readOptions reads dir/name.opt.json into opt when it exists.
func readOptions(t *testing.T, path string, opt any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, opt))
}

// TestGoldenRequests translates the requests of testdata/messages_to_chat
// and testdata/chat_to_messages and compares them with the expected
// requests.
func TestGoldenRequests(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"messages_to_chat", "chat_to_messages"} {
		for _, name := range goldenCases(t, dir, ".json") {
			t.Run(dir+"/"+name, func(t *testing.T) {
				t.Parallel()
				base := filepath.Join("testdata", dir, name)
				in, err := os.ReadFile(base + ".in.json")
				require.NoError(t, err)
				var opt RequestOptions
				readOptions(t, base+".opt.json", &opt)
				translate := MessagesRequestToChat
				if dir == "chat_to_messages" {
					translate = ChatRequestToMessages
				}
				got, err := translate(in, opt)
				require.NoError(t, err)
				checkGolden(t, base+".want.json", got)
			})
		}
	}
}

// replyTranslator is the method set the forwarding layer uses.
type replyTranslator interface {
	Reply(body []byte) ([]byte, error)
	Event(name string, data []byte, emit func(name string, data []byte) error) error
	Finish(emit func(name string, data []byte) error) error
}

var (
	_ replyTranslator = (*MessagesReply)(nil)
	_ replyTranslator = (*ChatReply)(nil)
)

// newReply returns the reply translator of a golden directory.
func newReply(dir string, includeUsage bool) replyTranslator {
	if strings.HasPrefix(dir, "chat_reply") || strings.HasPrefix(dir, "chat_stream") {
		return NewMessagesReply(testModel)
	}
	r := NewChatReply(testModel, ReplyOptions{IncludeUsage: includeUsage})
	r.created = testCreated
	return r
}

// TestGoldenReplies translates the plain replies of
// testdata/chat_reply_to_messages and testdata/messages_reply_to_chat.
func TestGoldenReplies(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"chat_reply_to_messages", "messages_reply_to_chat"} {
		for _, name := range goldenCases(t, dir, ".json") {
			t.Run(dir+"/"+name, func(t *testing.T) {
				t.Parallel()
				base := filepath.Join("testdata", dir, name)
				in, err := os.ReadFile(base + ".in.json")
				require.NoError(t, err)
				got, err := newReply(dir, false).Reply(in)
				require.NoError(t, err)
				checkGolden(t, base+".want.json", got)
			})
		}
	}
}

// streamLine is a line of a stream golden file: one event.
type streamLine struct {
	Event string          `json:"event,omitempty"`
	Data  json.RawMessage `json:"data"`
}

// readStream reads a .jsonl file of stream lines; a line that is not an
// object with "data" is the data of a data-only event as is.
func readStream(t *testing.T, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var events []event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var l streamLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Data != nil {
			d := string(l.Data)
			if s, ok := strings.CutPrefix(d, `"`); ok { // a raw string such as [DONE]
				d = strings.TrimSuffix(s, `"`)
			}
			events = append(events, event{l.Event, d})
			continue
		}
		events = append(events, event{"", line})
	}
	require.NoError(t, sc.Err())
	return events
}

func writeStream(t *testing.T, path string, events []event) {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range events {
		line, err := json.Marshal(streamLine{Event: e.Name, Data: json.RawMessage(e.Data)})
		require.NoError(t, err)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// runStream feeds events to tr one per call and finishes it.
func runStream(t *testing.T, tr replyTranslator, in []event) []event {
	t.Helper()
	var rec recorder
	for _, e := range in {
		require.NoError(t, tr.Event(e.Name, []byte(e.Data), rec.emit))
	}
	require.NoError(t, tr.Finish(rec.emit))
	return rec.events
}

// TestGoldenStreams feeds the streams of testdata/chat_stream_to_messages
// and testdata/messages_stream_to_chat one event per call, checks the
// output is well formed and compares it event by event with the expected
// stream. Chat streams are made with include_usage unless the case name
// contains "no_usage".
func TestGoldenStreams(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"chat_stream_to_messages", "messages_stream_to_chat"} {
		for _, name := range goldenCases(t, dir, ".jsonl") {
			t.Run(dir+"/"+name, func(t *testing.T) {
				t.Parallel()
				base := filepath.Join("testdata", dir, name)
				in := readStream(t, base+".in.jsonl")
				usage := !strings.Contains(name, "no_usage")
				got := runStream(t, newReply(dir, usage), in)
				if dir == "chat_stream_to_messages" {
					require.NoError(t, validateAnthropicStream(got))
				} else {
					require.NoError(t, validateChatStream(got, usage && !strings.Contains(name, "error")))
				}
				if *update {
					writeStream(t, base+".want.jsonl", got)
					return
				}
				want := readStream(t, base+".want.jsonl")
				require.Len(t, got, len(want), "events: %v", got)
				for i := range want {
					assert.Equal(t, want[i].Name, got[i].Name, "event %d", i)
					assert.Equal(t, semantic(t, []byte(want[i].Data)), semantic(t, []byte(got[i].Data)), "event %d: %s", i, got[i].Data)
				}
			})
		}
	}
}
