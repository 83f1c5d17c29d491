// Command embed mounts a Nexus gateway under /llm/ in an application's own
// http.ServeMux, next to the application's own routes, and sends it one chat
// request with plain net/http. The backend is a fake one on loopback.
//
//	go run ./examples/embed
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	backend, err := nexustest.Start(nexustest.Models("llama3"), nexustest.Reply("Hi from the backend!"))
	if err != nil {
		return err
	}
	defer backend.Close()

	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false // models are listed below, so the backend is healthy at once
	cfg.Backends = []nexus.BackendConfig{{Name: "local-gpu", URL: backend.URL(), Models: []nexus.ModelConfig{{ID: "llama3"}}}}
	gw, err := nexus.New(cfg)
	if err != nil {
		return err
	}
	defer gw.Close()
	if err := gw.Start(context.Background()); err != nil { // probes once; no background checks
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello from my app") })
	mux.Handle("/llm/", http.StripPrefix("/llm", gw)) // /llm/v1/chat/completions → /v1/chat/completions

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		<-served
	}()

	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	base := "http://" + ln.Addr().String()
	hello, err := client.Get(base + "/hello")
	if err != nil {
		return err
	}
	text, _ := io.ReadAll(hello.Body)
	hello.Body.Close()
	fmt.Fprint(w, "GET /hello: ", string(text))

	resp, err := client.Post(base+"/llm/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"llama3","messages":[{"role":"user","content":"Hello?"}]}`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || len(reply.Choices) == 0 {
		return errors.New("unexpected answer: " + resp.Status)
	}
	fmt.Fprintln(w, "POST /llm/v1/chat/completions:", resp.StatusCode)
	fmt.Fprintln(w, "reply:", reply.Choices[0].Message.Content)
	fmt.Fprintln(w, "X-Nexus-Backend:", resp.Header.Get(nexus.HeaderBackend))
	return nil
}
