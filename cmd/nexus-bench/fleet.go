package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// The fleet benchmark (-fleet) runs a simulated mixed fleet of inference
// engines (nexustest.Engine: two vLLM, one llama.cpp, two Ollama) behind
// an in-process gateway in three configurations, on two workloads, and
// compares time to first token, throughput, cold model loads and errors.
// Every (configuration, workload) pair gets a fresh fleet, so no run
// inherits another's caches or loaded models; the workloads are seeded,
// so each configuration sees the same requests.
//
// Durations are simulated: the engines sleep them times fleetSpec.Scale,
// and the figures are divided by Scale again, so they read as seconds of a
// real fleet. The gateway's own time is magnified by the same factor.

// fleetHeaderSession is the session header of the agent workload.
const fleetHeaderSession = "X-Nexus-Session-Id"

// Models of the fleet: the agent's model on vLLM and llama.cpp, and the
// models the Ollama boxes swap in and out.
const fleetAgentModel = "qwen2.5-coder-32b"

var fleetOllamaModels = []string{"llama3.1:8b", "mistral:7b", "qwen2.5:7b", "phi3:mini"}

// fleetSpec sizes one fleet run. The zero value is not usable; see
// defaultFleetSpec and smokeFleetSpec.
type fleetSpec struct {
	// Scale is the engines' TimeScale: wall time per simulated time.
	Scale float64
	// Sessions and Turns shape the agent workload: Sessions clients,
	// each sending Turns requests of a growing conversation, one after
	// the other.
	Sessions, Turns int
	// TurnBytes is the size of each new user message (4 bytes a token).
	TurnBytes int
	// Bursts, BurstSize and BurstGap shape the bursty workload: Bursts
	// bursts of BurstSize concurrent requests, BurstGap (simulated) apart.
	Bursts, BurstSize int
	BurstGap          time.Duration
	// LoadTime is an Ollama box's (simulated) model load time.
	LoadTime time.Duration
	// Timeout bounds one request (wall time).
	Timeout time.Duration
}

func defaultFleetSpec() fleetSpec {
	return fleetSpec{
		Scale: 0.2, Sessions: 12, Turns: 8, TurnBytes: 1600,
		Bursts: 8, BurstSize: 4, BurstGap: 6 * time.Second,
		LoadTime: 3 * time.Second, Timeout: 60 * time.Second,
	}
}

func smokeFleetSpec() fleetSpec {
	return fleetSpec{
		Scale: 0.01, Sessions: 3, Turns: 3, TurnBytes: 400,
		Bursts: 2, BurstSize: 3, BurstGap: time.Second,
		LoadTime: 2 * time.Second, Timeout: 20 * time.Second,
	}
}

// fleetGatewayConfig is one of the compared gateway configurations.
type fleetGatewayConfig struct {
	Name      string
	Strategy  string
	Signals   bool
	Affinity  bool
	Queue     bool
	Describes string
}

var fleetConfigs = []fleetGatewayConfig{
	{Name: "round_robin", Strategy: "round_robin", Describes: "round_robin, affinity off, signals off, queue off"},
	{Name: "smart", Strategy: "smart", Describes: "smart, signals off, affinity off, queue off"},
	{Name: "smart+signals", Strategy: "smart", Signals: true, Affinity: true, Queue: true, Describes: "smart, signals + affinity + queue"},
}

// Workload names.
const (
	fleetAgent  = "agent"
	fleetBursty = "multi-model bursty"
)

var fleetWorkloads = []string{fleetAgent, fleetBursty}

// fleetSeconds are TTFT quantiles in simulated seconds.
type fleetSeconds struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// fleetResult is the outcome of one (configuration, workload) run.
type fleetResult struct {
	Config     string         `json:"config"`
	Workload   string         `json:"workload"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	TTFT       fleetSeconds   `json:"ttft_seconds"`
	Throughput float64        `json:"throughput_rps"` // completed requests per simulated second
	ColdLoads  int64          `json:"cold_loads"`
	CacheHit   float64        `json:"prefix_cache_hit"` // cached / prompt tokens, 0–1
	Reasons    map[string]int `json:"route_reasons,omitempty"`
	FirstError string         `json:"first_error,omitempty"`
}

// fleetReport is the whole -fleet output.
type fleetReport struct {
	Scale   float64              `json:"time_scale"`
	Configs []fleetGatewayConfig `json:"configs"`
	Results []fleetResult        `json:"results"`
	Spec    map[string]string    `json:"workloads"`
}

// runFleet runs every configuration on every workload and writes the
// table (or JSON) to stdout and the SVG to svgPath ("" for none).
func runFleet(ctx context.Context, spec fleetSpec, asJSON bool, svgPath string, stdout, stderr io.Writer) (*fleetReport, error) {
	rep := &fleetReport{Scale: spec.Scale, Configs: fleetConfigs, Spec: map[string]string{
		fleetAgent: fmt.Sprintf("%d sessions x %d turns, +%d bytes a turn, streamed, %s header",
			spec.Sessions, spec.Turns, spec.TurnBytes, fleetHeaderSession),
		fleetBursty: fmt.Sprintf("%d bursts of %d streamed requests over %d models, %s apart",
			spec.Bursts, spec.BurstSize, len(fleetOllamaModels), spec.BurstGap),
	}}
	for _, wl := range fleetWorkloads {
		for _, gc := range fleetConfigs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fmt.Fprintf(stderr, "fleet: %s / %s ...\n", wl, gc.Name)
			res, err := runFleetOne(ctx, spec, gc, wl)
			if err != nil {
				return nil, fmt.Errorf("%s / %s: %w", wl, gc.Name, err)
			}
			rep.Results = append(rep.Results, res)
		}
	}
	if svgPath != "" {
		if err := writeFleetSVGFile(svgPath, rep); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "fleet: wrote %s\n", svgPath)
	}
	var err error
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.writeText(stdout)
	}
	return rep, err
}

// errors sums the failed requests of every run.
func (r *fleetReport) errors() int {
	n := 0
	for _, res := range r.Results {
		n += res.Errors
	}
	return n
}

// writeText prints the table.
func (r *fleetReport) writeText(out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload\tconfig\treqs\tTTFT p50\tp90\tp99\treq/s\tcold loads\tcache hit\terrors\troute reasons\t\n")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.2f\t%d\t%.0f%%\t%d\t%s\t\n",
			res.Workload, res.Config, res.Requests, fleetSec(res.TTFT.P50), fleetSec(res.TTFT.P90), fleetSec(res.TTFT.P99),
			res.Throughput, res.ColdLoads, 100*res.CacheHit, res.Errors, fleetReasons(res.Reasons))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "times are simulated seconds (engines ran at TimeScale %g); req/s per simulated second\n", r.Scale)
	return err
}

func fleetSec(s float64) string { return strconv.FormatFloat(s, 'f', 2, 64) + "s" }

func fleetReasons(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, " ")
}

// fleetEngines starts the simulated fleet.
func fleetEngines(spec fleetSpec) ([]*nexustest.Engine, error) {
	cfgs := []nexustest.EngineConfig{
		{Type: nexustest.EngineVLLM, Name: "vllm-a", Models: []string{fleetAgentModel}, Slots: 4, CacheBlocks: 4096,
			DecodeTime: 25 * time.Millisecond, PrefillPerToken: 500 * time.Microsecond, OutputTokens: 32},
		{Type: nexustest.EngineVLLM, Name: "vllm-b", Models: []string{fleetAgentModel}, Slots: 4, CacheBlocks: 4096,
			DecodeTime: 25 * time.Millisecond, PrefillPerToken: 500 * time.Microsecond, OutputTokens: 32},
		{Type: nexustest.EngineLlamaCpp, Name: "llamacpp", Models: []string{fleetAgentModel}, Slots: 2, CacheBlocks: 2048,
			DecodeTime: 25 * time.Millisecond, PrefillPerToken: 500 * time.Microsecond, OutputTokens: 32},
		{Type: nexustest.EngineOllama, Name: "ollama-a", Models: fleetOllamaModels, Slots: 2, MaxLoaded: 1, LoadTime: spec.LoadTime,
			DecodeTime: 20 * time.Millisecond, PrefillPerToken: 300 * time.Microsecond, OutputTokens: 16},
		{Type: nexustest.EngineOllama, Name: "ollama-b", Models: fleetOllamaModels, Slots: 2, MaxLoaded: 1, LoadTime: spec.LoadTime,
			DecodeTime: 20 * time.Millisecond, PrefillPerToken: 300 * time.Microsecond, OutputTokens: 16},
	}
	var out []*nexustest.Engine
	for _, c := range cfgs {
		c.TimeScale = spec.Scale
		e, err := nexustest.StartEngine(c)
		if err != nil {
			for _, e := range out {
				e.Close()
			}
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// fleetGatewayConfigFor is the gateway configuration gc over engines.
// Backends and their capacity are the same for every configuration; only
// the strategy, signals, affinity and queue differ.
func fleetGatewayConfigFor(gc fleetGatewayConfig, engines []*nexustest.Engine) nexus.Config {
	cfg := nexus.DefaultConfig()
	cfg.Server.Host = "127.0.0.1"
	cfg.Server.MaxConcurrentRequests = 0
	cfg.Discovery.Enabled = false
	cfg.Routing.Strategy = gc.Strategy
	cfg.Routing.Affinity = gc.Affinity
	cfg.Signals.Enabled = gc.Signals
	cfg.Signals.IntervalSeconds = 1
	cfg.Queue.Enabled = gc.Queue
	cfg.Queue.MaxSize = 1000
	cfg.Queue.MaxWaitSeconds = 60
	for _, e := range engines {
		b := nexus.BackendConfig{Name: e.Name(), URL: e.URL(), Type: e.Type(), Priority: 50}
		if e.Type() == nexustest.EngineOllama {
			b.MaxConcurrency = 2 // Ollama does not report its parallelism
			for _, m := range fleetOllamaModels {
				b.Models = append(b.Models, nexus.ModelConfig{ID: m})
			}
		} else {
			b.Models = []nexus.ModelConfig{{ID: fleetAgentModel}}
		}
		cfg.Backends = append(cfg.Backends, b)
	}
	return cfg
}

// runFleetOne runs workload wl through configuration gc on a fresh fleet.
func runFleetOne(ctx context.Context, spec fleetSpec, gc fleetGatewayConfig, wl string) (fleetResult, error) {
	engines, err := fleetEngines(spec)
	if err != nil {
		return fleetResult{}, err
	}
	defer func() {
		for _, e := range engines {
			e.Close()
		}
	}()
	gw, err := nexus.New(fleetGatewayConfigFor(gc, engines), nexus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return fleetResult{}, fmt.Errorf("build gateway: %w", err)
	}
	defer gw.Close()
	if err := gw.Start(ctx); err != nil {
		return fleetResult{}, fmt.Errorf("start gateway: %w", err)
	}
	if h := gw.Health(); h.Backends.Healthy != len(engines) {
		return fleetResult{}, fmt.Errorf("gateway sees %d of %d backends healthy", h.Backends.Healthy, len(engines))
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: spec.Timeout}
	defer client.CloseIdleConnections()

	d := &fleetDriver{ctx: ctx, client: client, url: srv.URL + "/v1/chat/completions", reasons: map[string]int{}}
	start := time.Now()
	switch wl {
	case fleetAgent:
		d.agent(spec)
	default:
		d.bursty(spec)
	}
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return fleetResult{}, err
	}

	res := fleetResult{Config: gc.Name, Workload: wl, Requests: d.n, Errors: d.errs, Reasons: d.reasons, FirstError: d.firstErr}
	res.TTFT = fleetQuantiles(d.ttft, spec.Scale)
	if sim := wall.Seconds() / spec.Scale; sim > 0 {
		res.Throughput = float64(d.n-d.errs) / sim
	}
	var prompt, cached int64
	for _, e := range engines {
		st := e.Stats()
		res.ColdLoads += st.ColdLoads
		prompt += st.PromptTokens
		cached += st.CachedTokens
	}
	if prompt > 0 {
		res.CacheHit = float64(cached) / float64(prompt)
	}
	return res, nil
}

// fleetQuantiles returns the nearest-rank p50/p90/p99 of ds in simulated
// seconds.
func fleetQuantiles(ds []time.Duration, scale float64) fleetSeconds {
	if len(ds) == 0 {
		return fleetSeconds{}
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		i := min(max(int(p*float64(len(ds))+0.999999)-1, 0), len(ds)-1)
		return ds[i].Seconds() / scale
	}
	return fleetSeconds{P50: q(0.50), P90: q(0.90), P99: q(0.99)}
}

// fleetDriver sends the requests of one run and gathers their outcomes.
type fleetDriver struct {
	ctx    context.Context
	client *http.Client
	url    string

	mu       sync.Mutex
	n, errs  int
	ttft     []time.Duration
	reasons  map[string]int
	firstErr string
}

// agent runs spec.Sessions sessions at once, each sending a growing
// conversation: every turn resends the previous messages and the reply.
func (d *fleetDriver) agent(spec fleetSpec) {
	var wg sync.WaitGroup
	for s := range spec.Sessions {
		wg.Go(func() {
			session := fmt.Sprintf("agent-%03d", s)
			// A distinct system prompt per session: sessions share no prefix.
			msgs := []fleetMessage{{Role: "system", Content: session + ": " + fleetText(s, 0, spec.TurnBytes)}}
			for t := range spec.Turns {
				if d.ctx.Err() != nil {
					return
				}
				msgs = append(msgs, fleetMessage{Role: "user", Content: fleetText(s, t+1, spec.TurnBytes)})
				reply := d.do(fleetAgentModel, session, msgs)
				msgs = append(msgs, fleetMessage{Role: "assistant", Content: reply})
			}
		})
	}
	wg.Wait()
}

// bursty sends spec.Bursts bursts of concurrent one-message requests to
// the Ollama models: two popular models take most requests, two rare ones
// the rest, so a warm-first router can keep the popular ones resident.
func (d *fleetDriver) bursty(spec fleetSpec) {
	rng := rand.New(rand.NewPCG(14, 2026))
	gap := time.Duration(float64(spec.BurstGap) * spec.Scale)
	for b := range spec.Bursts {
		var wg sync.WaitGroup
		for i := range spec.BurstSize {
			var model string
			switch r := rng.IntN(10); {
			case r < 4:
				model = fleetOllamaModels[0]
			case r < 8:
				model = fleetOllamaModels[1]
			default:
				model = fleetOllamaModels[2+r%2]
			}
			msgs := []fleetMessage{{Role: "user", Content: fleetText(b, i, 200)}}
			wg.Go(func() { d.do(model, "", msgs) })
		}
		wg.Wait()
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(gap):
		}
	}
}

// fleetMessage is one chat message.
type fleetMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// fleetText is n bytes of deterministic text for session s, turn t.
func fleetText(s, t, n int) string {
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "s%d t%d: please refactor the module and explain each change. ", s, t)
	}
	return b.String()[:n]
}

// do sends one streamed request and records its TTFT; it returns the
// reply's content (for the conversation) or "" on failure.
func (d *fleetDriver) do(model, session string, msgs []fleetMessage) string {
	body, _ := json.Marshal(map[string]any{"model": model, "messages": msgs, "stream": true})
	t0 := time.Now()
	ttft, reply, reason, err := d.send(body, session, t0)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if err != nil {
		d.errs++
		if d.firstErr == "" {
			d.firstErr = err.Error()
		}
		return ""
	}
	d.ttft = append(d.ttft, ttft)
	for r := range strings.SplitSeq(reason, ",") {
		if r = strings.TrimSpace(r); r != "" {
			d.reasons[r]++
		}
	}
	return reply
}

// errNoContent reports a stream that ended without a content event.
var errNoContent = errors.New("stream ended without content")

func (d *fleetDriver) send(body []byte, session string, t0 time.Time) (ttft time.Duration, reply, reason string, err error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set(fleetHeaderSession, session)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, "", "", fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	reason = resp.Header.Get("X-Nexus-Route-Reason")
	ttft, reply, err = fleetReadStream(resp.Body, t0)
	return ttft, reply, reason, err
}

// fleetReadStream reads an OpenAI SSE stream to [DONE]: the time to the
// first event with non-empty content, and the content.
func fleetReadStream(r io.Reader, t0 time.Time) (time.Duration, string, error) {
	var ttft time.Duration
	var content strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for {
		if !sc.Scan() {
			err := sc.Err()
			if err == nil {
				err = errNoDone
			}
			return 0, "", err
		}
		payload, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		payload = bytes.TrimSpace(payload)
		if string(payload) == "[DONE]" {
			if content.Len() == 0 {
				return 0, "", errNoContent
			}
			return ttft, content.String(), nil
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return 0, "", fmt.Errorf("bad event: %w", err)
		}
		if ev.Error != nil {
			return 0, "", fmt.Errorf("stream error: %s", ev.Error.Message)
		}
		for _, c := range ev.Choices {
			if c.Delta.Content == "" {
				continue
			}
			if content.Len() == 0 {
				ttft = time.Since(t0)
			}
			content.WriteString(c.Delta.Content)
		}
	}
}

// runFleetCmd is -fleet: the default (or, with -smoke, tiny) fleet run.
func runFleetCmd(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	spec := defaultFleetSpec()
	if o.smoke {
		spec = smokeFleetSpec()
	}
	rep, err := runFleet(ctx, spec, o.json, o.fleetSVG, stdout, stderr)
	if err != nil {
		return err
	}
	if n := rep.errors(); o.smoke && n > 0 {
		return fmt.Errorf("smoke run: %d requests failed", n)
	}
	return nil
}
