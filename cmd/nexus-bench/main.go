// Command nexus-bench is the load benchmark of the Nexus gateway.
//
// By default it starts, all on 127.0.0.1 and in this one process, a fast
// fake OpenAI backend, a bare net/http/httputil.ReverseProxy hop in front of
// it, and the gateway in front of it, then drives the same requests at
// each — plain chat requests at several concurrencies, streaming chat
// requests, and embeddings requests (8 inputs, 8 vectors of 384 floats
// back) — and prints requests/s, latency percentiles, errors, the ratios
// gateway/direct and gateway/bare-proxy against the targets of DESIGN §6,
// and memory. Every scenario runs for a fixed time; the whole run stops by
// itself.
//
//	go run ./cmd/nexus-bench                      # ~1 minute, defaults
//	go run ./cmd/nexus-bench -smoke               # a few seconds, for CI
//	go run ./cmd/nexus-bench -gateway-process     # hops in child processes
//	go run ./cmd/nexus-bench -url http://127.0.0.1:8000 -model llama3
//
// With -url only that endpoint is driven, so you can load-test your own
// deployment; embeddings run there only when -embeddings-concurrency is
// given (with -embeddings-model when the chat model does not embed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "nexus-bench:", err)
		os.Exit(1)
	}
}

// errUsage is returned for bad flags (already reported by the flag set).
var errUsage = errors.New("usage")

// options are the parsed flags.
type options struct {
	duration          time.Duration
	rounds            int
	warmup            time.Duration
	timeout           time.Duration
	concurrency       []int
	streamConcurrency []int
	embedConcurrency  []int // nil: none
	embedModel        string
	chunks            int
	chunkDelay        time.Duration
	url               string
	model             string
	apiKey            string
	smoke             bool
	json              bool
	cpuprofile        string
	progress          bool
	gatewayProcess    bool
	backend           string
	child             string
	childBackend      string
	fleet             bool
	fleetSVG          string
}

// localModel is the model the fake backend serves.
const localModel = "bench-model"

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{concurrency: []int{1, 16, 64}, streamConcurrency: []int{1, 16}, embedConcurrency: []int{16}}
	fs := flag.NewFlagSet("nexus-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario and target")
	fs.IntVar(&o.rounds, "rounds", 5, "split each scenario into this many rounds, targets interleaved (1 with -smoke)")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured time before each scenario (default duration/10 within 100ms-1s; 100ms with -smoke)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long requests still in flight at the end of a scenario may take")
	fs.Func("concurrency", "comma-separated concurrencies of the plain scenarios (default 1,16,64)", func(s string) error {
		v, err := parseInts(s)
		o.concurrency = v
		return err
	})
	fs.Func("stream-concurrency", "comma-separated concurrencies of the streaming scenarios, \"\" for none (default 1,16)", func(s string) error {
		v, err := parseInts(s)
		o.streamConcurrency = v
		return err
	})
	fs.Func("embeddings-concurrency", "comma-separated concurrencies of the embeddings scenarios, \"\" for none (default 16; none with -url)", func(s string) error {
		v, err := parseInts(s)
		o.embedConcurrency = v
		return err
	})
	fs.StringVar(&o.embedModel, "embeddings-model", "", "model of the embeddings requests (default: -model)")
	fs.IntVar(&o.chunks, "chunks", 20, "content events per streamed reply of the fake backend")
	fs.DurationVar(&o.chunkDelay, "chunk-delay", 0, "fake backend's pause between stream events")
	fs.StringVar(&o.url, "url", "", "drive only this OpenAI-compatible endpoint (base URL, e.g. http://127.0.0.1:8000)")
	fs.StringVar(&o.model, "model", "", "model to request (required with -url)")
	fs.StringVar(&o.apiKey, "api-key", "", "bearer token to send (with -url)")
	fs.BoolVar(&o.smoke, "smoke", false, "very short run for CI (~0.5s per scenario); fail if any request errored")
	fs.BoolVar(&o.json, "json", false, "print machine-readable results instead of the table")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run (of the gateway process alone with -gateway-process)")
	fs.BoolVar(&o.progress, "progress", isTerminal(stderr), "show a progress line on stderr (default on when stderr is a terminal)")
	fs.BoolVar(&o.gatewayProcess, "gateway-process", false, "run the gateway and the bare proxy in child processes (memory and profile of the gateway alone)")
	fs.StringVar(&o.backend, "backend", "fast", "fake backend: fast (prepared answers) or nexustest")
	fs.StringVar(&o.child, "child", "", "internal: serve only this hop (gateway or bare-proxy) for -gateway-process")
	fs.StringVar(&o.childBackend, "child-backend", "", "internal: backend URL of -child")
	fs.BoolVar(&o.fleet, "fleet", false, "run the fleet benchmark instead: simulated mixed fleet, three routing configurations, TTFT and cold loads (~1 minute; tiny with -smoke)")
	fs.StringVar(&o.fleetSVG, "fleet-svg", "fleet-ttft.svg", "with -fleet: write the TTFT picture here (\"\" for none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return nil, errUsage
	}
	return o, o.normalize(func(name string) bool {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
		return set
	})
}

// normalize applies -smoke and the derived defaults and checks the values.
func (o *options) normalize(set func(string) bool) error {
	if o.smoke {
		if !set("duration") {
			o.duration = 400 * time.Millisecond
		}
		if !set("warmup") {
			o.warmup = 100 * time.Millisecond
		}
		if !set("timeout") {
			o.timeout = 10 * time.Second
		}
		if !set("rounds") {
			o.rounds = 1
		}
	}
	if !set("warmup") && !o.smoke {
		o.warmup = min(max(o.duration/10, 100*time.Millisecond), time.Second)
	}
	if o.model == "" && o.url == "" {
		o.model = localModel
	}
	if o.url != "" && !set("embeddings-concurrency") {
		// Your deployment's model may not embed: ask for it explicitly.
		o.embedConcurrency = nil
	}
	if o.embedModel == "" {
		o.embedModel = o.model
	}
	switch {
	case o.child != "":
		return nil
	case o.duration <= 0:
		return errors.New("-duration must be positive")
	case o.rounds < 1 || time.Duration(o.rounds) > o.duration/time.Millisecond:
		return errors.New("-rounds must be at least 1 and leave each round 1ms or more")
	case o.warmup < 0:
		return errors.New("-warmup must not be negative")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	case len(o.concurrency) == 0 && len(o.streamConcurrency) == 0 && len(o.embedConcurrency) == 0:
		return errors.New("nothing to run: -concurrency, -stream-concurrency and -embeddings-concurrency are empty")
	case o.url == "" && o.embedModel != o.model:
		return errors.New("-embeddings-model needs -url: the local fake backend serves one model")
	case o.chunks < 1 || o.chunks > 10000:
		return errors.New("-chunks must be 1-10000")
	case o.url != "" && o.model == "":
		return errors.New("-url needs -model: a model the endpoint serves")
	case o.url != "" && o.gatewayProcess:
		return errors.New("-gateway-process has no meaning with -url")
	case o.backend != "fast" && o.backend != "nexustest":
		return fmt.Errorf("-backend %q: want fast or nexustest", o.backend)
	}
	return nil
}

// parseInts parses "1,16,64": distinct positive values, kept in order.
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("%q is not a concurrency between 1 and 10000", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// run is main without the process globals, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.child != "" {
		return runChild(ctx, o, stdout)
	}
	if o.fleet {
		return runFleetCmd(ctx, o, stdout, stderr)
	}
	if _, ok := stderr.(*os.File); !ok {
		// The progress line and the child processes write concurrently.
		stderr = &lockedWriter{w: stderr}
	}
	rep, err := runBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	if n := rep.errors(); o.smoke && n > 0 {
		return fmt.Errorf("smoke run: %d requests failed", n)
	}
	return nil
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
