package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/nexusllm/nexus"
)

// server is one http.Server on a free 127.0.0.1 port.
type server struct {
	srv  *http.Server
	url  string
	done chan struct{}
}

// startServer serves h on 127.0.0.1 with the settings cmd/nexus uses.
func startServer(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		},
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close closes the listener and every connection and waits for Serve.
func (s *server) Close() {
	_ = s.srv.Close()
	<-s.done
}

// hopTransport is the upstream transport of the bare proxy: the same
// settings as the gateway's default backend client, so the comparison is
// about what each hop does, not about connection pooling.
func hopTransport() *http.Transport { return nexus.NewTransport(10 * time.Second) }

// bareProxy is the reference hop: httputil.ReverseProxy to one backend. It
// reads the request body first, as any gateway must before it can route.
type bareProxy struct {
	rp *httputil.ReverseProxy
	tr *http.Transport
}

func newBareProxy(backendURL string) (*bareProxy, error) {
	u, err := url.Parse(backendURL)
	if err != nil {
		return nil, err
	}
	tr := hopTransport()
	return &bareProxy{
		tr: tr,
		rp: &httputil.ReverseProxy{
			Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
			Transport:  tr,
			ErrorLog:   log.New(io.Discard, "", 0),
			BufferPool: newBufferPool(),
		},
	}, nil
}

func (p *bareProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, nexus.MaxBodyBytes))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	p.rp.ServeHTTP(w, r)
}

// bufferPool recycles the 32 KiB copy buffers of the bare proxy, as any
// tuned ReverseProxy does; without it every request allocates one.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([32 << 10]byte) }}}
}

func (b *bufferPool) Get() []byte  { return b.p.Get().(*[32 << 10]byte)[:] }
func (b *bufferPool) Put(s []byte) { b.p.Put((*[32 << 10]byte)(s)) }

// Close drops the idle upstream connections.
func (p *bareProxy) Close() { p.tr.CloseIdleConnections() }

// gatewayConfig is the configuration the benchmark gives the gateway: one
// static backend serving model, discovery off, no concurrency limit (the
// bare proxy has none, and the 1000-stream scenario would hit the default
// of 1000 with its warm-up requests still in flight), everything else
// default.
func gatewayConfig(backendURL, model string) nexus.Config {
	cfg := nexus.DefaultConfig()
	cfg.Server.Host = "127.0.0.1"
	cfg.Server.MaxConcurrentRequests = 0
	cfg.Discovery.Enabled = false
	cfg.Backends = []nexus.BackendConfig{{
		Name:     "bench",
		URL:      backendURL,
		Type:     "generic",
		Priority: 50,
		Models:   []nexus.ModelConfig{{ID: model}},
	}}
	return cfg
}

// newGateway builds and starts a gateway in front of backendURL.
func newGateway(ctx context.Context, backendURL, model string) (*nexus.Gateway, error) {
	gw, err := nexus.New(gatewayConfig(backendURL, model))
	if err != nil {
		return nil, fmt.Errorf("build gateway: %w", err)
	}
	if err := gw.Start(ctx); err != nil {
		_ = gw.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	if h := gw.Health(); h.Backends.Healthy != 1 {
		_ = gw.Close()
		return nil, fmt.Errorf("gateway: fake backend at %s is not healthy after the first probe (%+v)", backendURL, h)
	}
	return gw, nil
}
