package translate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplyErrors checks plain replies that cannot be translated.
func TestReplyErrors(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{`, `{"error":{"message":"x"}}`} {
		_, err := NewMessagesReply("m").Reply([]byte(body))
		assert.Error(t, err, body)
	}
	for _, body := range []string{`{`, `{"type":"error","error":{"type":"overloaded_error","message":"x"}}`} {
		_, err := NewChatReply("m", ReplyOptions{}).Reply([]byte(body))
		assert.Error(t, err, body)
	}
	// Members of unexpected types are ignored, not fatal.
	out, err := NewMessagesReply("m").Reply([]byte(`{"id":"c","choices":[{"message":{"content":["parts"]},"finish_reason":"stop"}],"usage":"n/a"}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"msg_c","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,
		"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`, string(out))
}

// TestEmptyStreams checks that a stream with no event still yields a
// whole, well-formed reply, and that events after the end are ignored.
func TestEmptyStreams(t *testing.T) {
	t.Parallel()
	var rec recorder
	m := NewMessagesReply("m")
	require.NoError(t, m.Finish(rec.emit))
	require.NoError(t, validateAnthropicStream(rec.events))
	n := len(rec.events)
	require.NoError(t, m.Event("", []byte(`{"choices":[{"delta":{"content":"late"}}]}`), rec.emit))
	require.NoError(t, m.Finish(rec.emit))
	assert.Len(t, rec.events, n)

	for _, usage := range []bool{false, true} {
		rec = recorder{}
		c := NewChatReply("m", ReplyOptions{IncludeUsage: usage})
		require.NoError(t, c.Finish(rec.emit))
		require.NoError(t, validateChatStream(rec.events, usage))
	}
}

// TestStreamEmitError checks that an error from emit is returned.
func TestStreamEmitError(t *testing.T) {
	t.Parallel()
	boom := errors.New("client gone")
	fail := func(string, []byte) error { return boom }
	err := NewMessagesReply("m").Event("", []byte(`{"id":"c","choices":[{"delta":{"content":"a"}}]}`), fail)
	assert.ErrorIs(t, err, boom)
	assert.ErrorIs(t, NewMessagesReply("m").Finish(fail), boom)
	err = NewChatReply("m", ReplyOptions{}).Event("message_start", []byte(`{"type":"message_start","message":{"id":"x"}}`), fail)
	assert.ErrorIs(t, err, boom)
	assert.ErrorIs(t, NewChatReply("m", ReplyOptions{}).Finish(fail), boom)
}

// TestStreamBadData checks that an event that is not JSON is an error and
// writes nothing, and that [DONE] and empty data are ignored.
func TestStreamBadData(t *testing.T) {
	t.Parallel()
	var rec recorder
	m := NewMessagesReply("m")
	assert.Error(t, m.Event("", []byte(`{"choices":`), rec.emit))
	assert.NoError(t, m.Event("", []byte(`[DONE]`), rec.emit))
	assert.NoError(t, m.Event("", nil, rec.emit))
	c := NewChatReply("m", ReplyOptions{})
	assert.Error(t, c.Event("content_block_delta", []byte(`nope`), rec.emit))
	assert.Empty(t, rec.events)
}

// TestAppendString checks the JSON string writer against encoding/json's
// reading of it.
func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "q\"b\\s/", "\n\r\t\x00\x1f\x7f", "<html>&", "é日本\U0001F600", "\u2028\u2029", "bad\xffutf8\xc3"} {
		got := appendString(nil, s)
		var back string
		require.NoError(t, jsonUnmarshal(got, &back), "%q -> %s", s, got)
		assert.Equal(t, toValidUTF8(s), back, "%q", s)
	}
}
