package openai

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllEvents reads events from r until an error and returns copies of
// them with the final error. It fails the test if the reader returns more
// events than the input could hold, which would mean it loops.
func readAllEvents(t *testing.T, r io.Reader, max, inputLen int) ([]Event, error) {
	t.Helper()
	er := NewEventReader(r, max)
	var out []Event
	for {
		ev, err := er.Next()
		if err != nil {
			return out, err
		}
		// An event takes at least one field line and its blank line.
		if len(out) > inputLen/2+1 {
			t.Fatalf("%d events from %d bytes: the reader loops", len(out), inputLen)
		}
		out = append(out, Event{
			Name:    ev.Name,
			Data:    bytes.Clone(ev.Data),
			HasData: ev.HasData,
			Comment: bytes.Clone(ev.Comment),
		})
	}
}

// FuzzEventReader feeds arbitrary bytes to the SSE reader with a size
// limit and checks that it never panics or loops, ends with one of its
// documented errors, never returns an event over the limit, and reads the
// same events however the stream is split into reads.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: error\ndata: {\"error\":{}}\n\n",
		": keep-alive\n\n: ping\r\n\r\ndata:x\r\n\r\n",
		"data: a\ndata: b\n\ndata\n\n",
		"data: cut off without a blank line",
		"data: cut\n",
		"\n\n\n\r\n",
		"retry: 10\nid: 3\n\n",
		"data: " + strings.Repeat("x", 5000) + "\n\n", // longer than the 4 KiB buffer
		"data: a\rdata: b\r\r",
		"",
	} {
		f.Add([]byte(s), uint16(4096))
		f.Add([]byte(s), uint16(16))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := int(limit)%8192 + 1
		events, err := readAllEvents(t, bytes.NewReader(data), max, len(data))
		if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("unexpected error %v", err)
		}
		for _, ev := range events {
			if len(ev.Data) > max {
				t.Fatalf("event of %d bytes over the %d-byte limit", len(ev.Data), max)
			}
			if !ev.HasData && len(ev.Data) > 0 {
				t.Fatalf("data without HasData: %q", ev.Data)
			}
			if ev.IsDone() && string(ev.Data) != "[DONE]" {
				t.Fatalf("IsDone on %q", ev.Data)
			}
		}
		for name, r := range map[string]io.Reader{
			"one byte at a time": iotest.OneByteReader(bytes.NewReader(data)),
			"half reads":         iotest.HalfReader(bytes.NewReader(data)),
			"data with EOF":      iotest.DataErrReader(bytes.NewReader(data)),
		} {
			again, err2 := readAllEvents(t, r, max, len(data))
			if !errors.Is(err2, err) && !errors.Is(err, err2) {
				t.Fatalf("%s: error %v, want %v", name, err2, err)
			}
			if len(again) != len(events) {
				t.Fatalf("%s: %d events, want %d", name, len(again), len(events))
			}
			for i := range events {
				a, b := events[i], again[i]
				if a.Name != b.Name || a.HasData != b.HasData || !bytes.Equal(a.Data, b.Data) || !bytes.Equal(a.Comment, b.Comment) {
					t.Fatalf("%s: event %d is %+v, want %+v", name, i, b, a)
				}
			}
		}
	})
}

// FuzzEventRoundTrip encodes arbitrary payloads as SSE data events (the
// way the proxy writes them, with LF or CRLF line ends) and checks that
// the reader gives back exactly those payloads.
func FuzzEventRoundTrip(f *testing.F) {
	f.Add([]byte("{\"a\":1}\x00[DONE]"), false)
	f.Add([]byte(" leading space\x00\x00: not a comment"), true)
	f.Add([]byte("event: x\x00data: y"), false)
	f.Fuzz(func(t *testing.T, data []byte, crlf bool) {
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		var payloads []string
		var sse strings.Builder
		for _, p := range strings.Split(string(data), "\x00") {
			p = strings.NewReplacer("\r", "", "\n", "").Replace(p)
			payloads = append(payloads, p)
			sse.WriteString("data: " + p + eol + eol)
		}
		events, err := readAllEvents(t, strings.NewReader(sse.String()), 1<<20, sse.Len())
		if err != io.EOF {
			t.Fatalf("error %v, want io.EOF", err)
		}
		if len(events) != len(payloads) {
			t.Fatalf("%d events, want %d", len(events), len(payloads))
		}
		for i, ev := range events {
			if !ev.HasData || string(ev.Data) != payloads[i] || ev.Name != "" {
				t.Fatalf("event %d: %+v, want data %q", i, ev, payloads[i])
			}
		}
	})
}
