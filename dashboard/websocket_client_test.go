package dashboard_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serverFrame encodes an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n <= 0xFFFF:
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

// readClientFrame reads one frame the client sent and unmasks it; an
// unmasked frame is an error.
func readClientFrame(r io.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		_, err = io.ReadFull(r, e[:])
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, err = io.ReadFull(r, e[:])
		n = binary.BigEndian.Uint64(e[:])
	}
	if err != nil {
		return 0, nil, err
	}
	var mask [4]byte
	if _, err = io.ReadFull(r, mask[:]); err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return h[0] & 0x0F, payload, nil
}

// TestWebSocketClient checks the test's own WebSocket client against a
// scripted server: handshake, masking, lengths, fragments, ping and close.
func TestWebSocketClient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	long := strings.Repeat("x", 70000)
	medium := strings.Repeat("y", 300)
	serverDone := make(chan struct{})
	go func() {
		defer close(serverDone)
		conn, err := ln.Accept()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if !assert.NoError(t, err) {
			return
		}
		assert.Equal(t, "/devtools/browser/abc", req.URL.Path)
		assert.Equal(t, "13", req.Header.Get("Sec-WebSocket-Version"))
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")

		op, p, err := readClientFrame(br)
		assert.NoError(t, err)
		assert.Equal(t, byte(0x1), op)
		assert.Equal(t, medium, string(p), "16-bit length, masked")
		_, p, err = readClientFrame(br)
		assert.NoError(t, err)
		assert.Equal(t, long, string(p), "64-bit length, masked")

		var out []byte
		out = append(out, serverFrame(false, 0x1, []byte(`{"id":`))...)
		out = append(out, serverFrame(true, 0x9, []byte("hi"))...) // ping between fragments
		out = append(out, serverFrame(true, 0x0, []byte(`1}`))...)
		out = append(out, serverFrame(true, 0x1, []byte(long))...)
		out = append(out, serverFrame(true, 0x8, []byte{0x03, 0xE8})...)
		_, _ = conn.Write(out)
		op, p, err = readClientFrame(br)
		assert.NoError(t, err)
		assert.Equal(t, byte(0xA), op, "ping answered with pong")
		assert.Equal(t, "hi", string(p))
		op, _, err = readClientFrame(br)
		assert.NoError(t, err)
		assert.Equal(t, byte(0x8), op, "close answered")
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, err := dialWS(ctx, "ws://"+ln.Addr().String()+"/devtools/browser/abc")
	require.NoError(t, err)
	defer ws.Close()
	require.NoError(t, ws.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, ws.WriteText([]byte(medium)))
	require.NoError(t, ws.WriteText([]byte(long)))
	msg, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `{"id":1}`, string(msg), "fragments joined")
	msg, err = ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, long, string(msg))
	_, err = ws.ReadMessage()
	assert.ErrorIs(t, err, errWSClosed)
	<-serverDone
}

func TestWebSocketDialRejectsABadHandshake(t *testing.T) {
	t.Parallel()
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = dialWS(ctx, "ws://"+ln.Addr().String()+"/")
	assert.ErrorContains(t, err, "403")
	_, err = dialWS(ctx, "http://"+ln.Addr().String()+"/")
	assert.ErrorContains(t, err, "unsupported scheme")
}
