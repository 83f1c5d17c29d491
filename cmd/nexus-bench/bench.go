package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// chatPath is where every target answers chat completions.
const chatPath = "/v1/chat/completions"

// chatURL turns a base URL into the chat completions URL.
func chatURL(base string) string {
	base = strings.TrimRight(base, "/")
	switch {
	case strings.HasSuffix(base, chatPath):
		return base
	case strings.HasSuffix(base, "/v1"):
		return base + "/chat/completions"
	}
	return base + chatPath
}

// requestBody is the chat request every target receives.
func requestBody(model string, stream bool) []byte {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	b, _ := json.Marshal(struct {
		Model       string    `json:"model"`
		Messages    []message `json:"messages"`
		MaxTokens   int       `json:"max_tokens"`
		Temperature float64   `json:"temperature"`
		Stream      bool      `json:"stream,omitempty"`
	}{
		Model: model,
		Messages: []message{
			{"system", "You are a concise assistant."},
			{"user", "In one sentence, what does an LLM gateway do?"},
		},
		MaxTokens: 64, Temperature: 0.2, Stream: stream,
	})
	return b
}

// scenarios lists the plain chat scenarios, then the streaming ones, then
// the embeddings ones.
func scenarios(o *options) []scenario {
	var out []scenario
	for _, c := range o.concurrency {
		out = append(out, scenario{Name: fmt.Sprintf("plain@%d", c), Endpoint: endpointChat, Concurrency: c})
	}
	for _, c := range o.streamConcurrency {
		out = append(out, scenario{Name: fmt.Sprintf("stream@%d", c), Endpoint: endpointChat, Stream: true, Concurrency: c})
	}
	for _, c := range o.embedConcurrency {
		out = append(out, scenario{Name: fmt.Sprintf("embed@%d", c), Endpoint: endpointEmbeddings, Concurrency: c})
	}
	return out
}

// scenarioBody is the request body of sc.
func scenarioBody(o *options, sc scenario) []byte {
	if sc.Endpoint == endpointEmbeddings {
		return embeddingsBody(o.embedModel)
	}
	return requestBody(o.model, sc.Stream)
}

// stack closes what was started, last first.
type stack []func()

func (s *stack) push(f func()) { *s = append(*s, f) }

func (s *stack) closeAll() {
	for i := len(*s) - 1; i >= 0; i-- {
		(*s)[i]()
	}
	*s = nil
}

// hops are the running targets of a local run.
type hops struct {
	targets []target
	gwPid   int // gateway child process, 0 when in this process
	barePid int
}

// startLocal starts the fake backend, the bare proxy and the gateway.
func startLocal(ctx context.Context, o *options, stderr io.Writer, closers *stack) (hops, error) {
	var h hops
	var backendURL string
	switch o.backend {
	case "nexustest":
		nb, err := startNexustest(o.model, o.chunks, o.chunkDelay)
		if err != nil {
			return h, err
		}
		closers.push(nb.Close)
		backendURL = nb.URL()
	default:
		s, err := startServer(newFastBackend(o.model, o.chunks, o.chunkDelay))
		if err != nil {
			return h, err
		}
		closers.push(s.Close)
		backendURL = s.url
	}
	var bareURL, gwURL string
	if o.gatewayProcess {
		bc, err := startChild("bare-proxy", backendURL, o.model, "", stderr)
		if err != nil {
			return h, err
		}
		closers.push(func() { _ = bc.Close() })
		gc, err := startChild("gateway", backendURL, o.model, o.cpuprofile, stderr)
		if err != nil {
			return h, err
		}
		closers.push(func() { _ = gc.Close() })
		bareURL, gwURL, h.barePid, h.gwPid = bc.url, gc.url, bc.pid(), gc.pid()
	} else {
		bp, err := newBareProxy(backendURL)
		if err != nil {
			return h, err
		}
		closers.push(bp.Close)
		bs, err := startServer(bp)
		if err != nil {
			return h, err
		}
		closers.push(bs.Close)
		gw, err := newGateway(ctx, backendURL, o.model)
		if err != nil {
			return h, err
		}
		closers.push(func() { _ = gw.Close() })
		gs, err := startServer(gw)
		if err != nil {
			return h, err
		}
		closers.push(gs.Close)
		bareURL, gwURL = bs.url, gs.url
	}
	h.targets = []target{
		{Name: "direct", URL: backendURL + chatPath},
		{Name: "bare-proxy", URL: bareURL + chatPath},
		{Name: "gateway", URL: gwURL + chatPath},
	}
	return h, nil
}

// runBench runs every scenario against every target and returns the report.
func runBench(ctx context.Context, o *options, stderr io.Writer) (rep *report, err error) {
	rep = newReport(o)
	var closers stack
	defer closers.closeAll()

	var h hops
	if o.url != "" {
		h.targets = []target{{Name: "url", URL: chatURL(o.url)}}
	} else if h, err = startLocal(ctx, o, stderr, &closers); err != nil {
		return nil, err
	}
	local := o.url == ""
	if local {
		runtime.GC()
		rep.Memory = &memoryReport{Scope: "whole process: load generator, fake backend, bare proxy and gateway", Idle: readMemStatus(h.gwPid).RSS}
		if h.gwPid != 0 {
			rep.Memory.Scope = "gateway child process alone"
			rep.Memory.BareIdle = readMemStatus(h.barePid).RSS
		}
	}
	if o.cpuprofile != "" && !o.gatewayProcess {
		stop, perr := startProfile(o.cpuprofile)
		if perr != nil {
			return nil, perr
		}
		defer func() {
			if perr := stop(); perr != nil && err == nil {
				err = perr
			}
		}()
	}

	scs := scenarios(o)
	var prog *progress
	if o.progress {
		prog = newProgress(stderr, len(scs)*len(h.targets)*o.rounds)
		defer prog.close()
	}
	spec := loadSpec{apiKey: o.apiKey, timeout: o.timeout}
	countAllocs := local && !o.gatewayProcess
	for _, sc := range scs {
		spec.body = scenarioBody(o, sc)
		res, err := runScenario(ctx, o, sc, h.targets, spec, prog, countAllocs)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, res...)
	}
	if local {
		rep.Memory.Peak = readMemStatus(h.gwPid).Peak
		if h.barePid != 0 {
			rep.Memory.BarePeak = readMemStatus(h.barePid).Peak
		}
	}
	rep.compare(o)
	return rep, nil
}

// runScenario drives every target through sc in o.rounds interleaved
// rounds (direct, bare proxy, gateway, direct, ...), so that a disturbance
// from outside — another process on this shared machine — hits all targets
// alike rather than one of them. Each target keeps its client, and so its
// connections, across the rounds; only the first round warms up fully.
func runScenario(ctx context.Context, o *options, sc scenario, targets []target, spec loadSpec, prog *progress, countAllocs bool) ([]result, error) {
	tallies := make([]*tally, len(targets))
	clients := make([]*http.Client, len(targets))
	for i := range targets {
		tallies[i] = newTally(sc.Stream)
		clients[i] = newLoadClient(sc.Concurrency)
		defer clients[i].CloseIdleConnections()
	}
	spec.measure = o.duration / time.Duration(o.rounds)
	for round := range o.rounds {
		spec.warmup = o.warmup
		if round > 0 {
			spec.warmup = min(o.warmup, 50*time.Millisecond)
		}
		for i, tgt := range targets {
			if ctx.Err() != nil {
				break
			}
			t, err := drive(ctx, clients[i], sc, tgt, spec, prog, countAllocs)
			if err != nil {
				return nil, err
			}
			tallies[i].add(t)
		}
	}
	out := make([]result, len(targets))
	for i, tgt := range targets {
		out[i] = tallies[i].result(sc, tgt)
	}
	return out, nil
}
