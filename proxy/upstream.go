package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// Header values set on every exchange; net/http only reads them.
var (
	jsonType = []string{"application/json"}
)

// newUpstream builds the request to the backend. With req.Target it
// neither joins nor parses a URL: the parsed URL is shared, read only.
func newUpstream(ctx context.Context, req *Request) (*http.Request, error) {
	target := req.URL
	if req.Target != nil {
		target = ""
	}
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	up, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	if req.Target != nil {
		// As NewRequest does with its own URL, without touching the shared
		// one.
		up.URL, up.Host = req.Target, strings.TrimSuffix(req.Target.Host, ":")
	}
	withBody := method != http.MethodGet && method != http.MethodDelete && method != http.MethodHead
	if len(req.Body) == 0 || !withBody {
		up.Body, up.GetBody = http.NoBody, noBody
	} else {
		b := &upstreamBody{data: req.Body}
		b.Reset(req.Body)
		up.Body, up.GetBody, up.ContentLength = b, b.again, int64(len(req.Body))
	}
	h := up.Header
	for k, v := range req.Header {
		h[k] = v
	}
	if req.RequestID != "" {
		h["X-Request-Id"] = []string{req.RequestID}
	}
	if withBody {
		h["Content-Type"] = jsonType
	}
	if req.Stream {
		h["Accept"] = eventStreamType
	} else {
		h["Accept"] = jsonType
	}
	switch {
	case req.APIKey == "":
	case req.APIKeyHeader != "":
		h.Set(req.APIKeyHeader, req.APIKey)
	default:
		h["Authorization"] = []string{"Bearer " + req.APIKey}
	}
	return up, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// upstreamBody is a request body the transport can read again (GetBody)
// when it retries on a fresh connection.
type upstreamBody struct {
	bytes.Reader
	data []byte
}

func (b *upstreamBody) Close() error { return nil }

func (b *upstreamBody) again() (io.ReadCloser, error) {
	nb := &upstreamBody{data: b.data}
	nb.Reset(b.data)
	return nb, nil
}

// maxPooledReply is the largest reply buffer kept for the next exchange.
const maxPooledReply = 64 << 10

// readReply reads a plain reply of at most limit bytes into a pooled
// buffer, sized from the Content-Length when the backend sent one. It
// returns the buffer to hand back with putReply, and tooLarge when the
// reply has more than limit bytes.
func (f *Forwarder) readReply(r io.Reader, size, limit int64) (buf *[]byte, body []byte, tooLarge bool, err error) {
	buf, _ = f.replies.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	b := (*buf)[:0]
	switch {
	case size >= 0 && size <= limit && int64(cap(b)) <= size:
		b = make([]byte, 0, size+1) // +1: the read that finds the end
	case cap(b) == 0:
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if over := int64(len(b)) + int64(len(room)) - (limit + 1); over > 0 {
			room = room[:int64(len(room))-over]
		}
		n, rerr := r.Read(room)
		b = b[:len(b)+n]
		*buf = b
		if int64(len(b)) > limit {
			return buf, nil, true, nil
		}
		if rerr == io.EOF {
			return buf, b, false, nil
		}
		if rerr != nil {
			return buf, nil, false, rerr
		}
	}
}

// putReply keeps a reply buffer for the next exchange.
func (f *Forwarder) putReply(buf *[]byte) {
	if cap(*buf) > maxPooledReply {
		*buf = nil
	}
	*buf = (*buf)[:0]
	f.replies.Put(buf)
}
