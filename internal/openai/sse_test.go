package openai

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// partsReader returns one of its parts per Read, as a network stream
// delivers what has arrived.
type partsReader struct{ parts []string }

func (r *partsReader) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	if n < len(r.parts[0]) {
		r.parts[0] = r.parts[0][n:]
	} else {
		r.parts = r.parts[1:]
	}
	return n, nil
}

func TestEventReaderBeforeRead(t *testing.T) {
	t.Parallel()
	// Three reads: a burst of two events, one event and half of the
	// next, the rest of it.
	src := &partsReader{parts: []string{"data: a\n\ndata: b\n\n", "data: c\n\ndata: d", "\n\n"}}
	er := NewEventReader(src, 1<<10)
	var log []string
	er.BeforeRead(func() error {
		log = append(log, "read")
		return nil
	})
	for {
		ev, err := er.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		log = append(log, string(ev.Data))
	}
	// The hook runs before every read from the source, never while a
	// buffered event is waiting: "c" is handed out before the read that
	// completes "d", so the caller can flush it first.
	assert.Equal(t, []string{"read", "a", "b", "read", "c", "read", "d", "read"}, log)
}

func TestEventReaderBeforeReadError(t *testing.T) {
	t.Parallel()
	er := NewEventReader(strings.NewReader("data: a\n\n"), 1<<10)
	gone := errors.New("client gone")
	er.BeforeRead(func() error { return gone })
	_, err := er.Next()
	assert.ErrorIs(t, err, gone)
}

func TestEventReaderReset(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*eventReaderSize) // a line longer than the buffer
	er := NewEventReader(strings.NewReader("data: "+long+"\n\ndata: left over\n\n"), 1<<20)
	calls := 0
	er.BeforeRead(func() error { calls++; return nil })
	ev, err := er.Next()
	require.NoError(t, err)
	assert.Equal(t, long, string(ev.Data))

	// Reused for another stream: nothing of the first one remains, the
	// hook is gone and the new limit applies.
	er.Reset(strings.NewReader("data: second\n\ndata: "+long+"\n\n"), 100)
	before := calls
	ev, err = er.Next()
	require.NoError(t, err)
	assert.Equal(t, "second", string(ev.Data))
	_, err = er.Next()
	assert.ErrorIs(t, err, ErrEventTooLarge)
	assert.Equal(t, before, calls)

	er.Reset(strings.NewReader(""), 100)
	_, err = er.Next()
	assert.Equal(t, io.EOF, err)
}
