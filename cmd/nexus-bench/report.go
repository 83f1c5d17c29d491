package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run found.
type report struct {
	Mode        string        `json:"mode"` // in-process, gateway-process or url
	URL         string        `json:"url,omitempty"`
	GoVersion   string        `json:"go_version"`
	Platform    string        `json:"platform"`
	NumCPU      int           `json:"num_cpu"`
	GOMAXPROCS  int           `json:"gomaxprocs"`
	Backend     string        `json:"backend,omitempty"`
	Duration    string        `json:"duration_per_scenario"`
	Warmup      string        `json:"warmup_per_scenario"`
	Rounds      int           `json:"rounds"`
	Chunks      int           `json:"chunks,omitempty"`
	ChunkDelay  string        `json:"chunk_delay,omitempty"`
	Results     []result      `json:"results"`
	Comparisons []comparison  `json:"comparisons,omitempty"`
	Targets     []targetCheck `json:"targets,omitempty"`
	Memory      *memoryReport `json:"memory,omitempty"`
	CPUProfile  string        `json:"cpu_profile,omitempty"`
	Notes       []string      `json:"notes"`
}

// memoryReport is resident memory, in bytes, before and during the load.
type memoryReport struct {
	Scope    string `json:"scope"`
	Idle     uint64 `json:"idle_rss_bytes"`                // VmRSS once built and started, before load
	Peak     uint64 `json:"peak_rss_bytes"`                // VmHWM after the run
	BareIdle uint64 `json:"bare_idle_rss_bytes,omitempty"` // bare proxy child, for scale
	BarePeak uint64 `json:"bare_peak_rss_bytes,omitempty"`
}

// comparison relates the gateway to the two references in one scenario.
type comparison struct {
	Scenario string `json:"scenario"`
	// Throughput ratios.
	VsBare   float64 `json:"gateway_over_bare_proxy"`
	VsDirect float64 `json:"gateway_over_direct"`
	// AddedP50 is the gateway's p50 minus the bare proxy's: latency for
	// plain scenarios, time to first event for streams, in µs.
	AddedP50 float64 `json:"added_p50_us_vs_bare_proxy"`
	// AddedChunkP50 is the same for the gap between stream events.
	AddedChunkP50 *float64 `json:"added_chunk_p50_us_vs_bare_proxy,omitempty"`
}

// targetCheck is one figure of DESIGN §6 against its target. Targets are
// reported, never enforced.
type targetCheck struct {
	What   string  `json:"what"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

func newReport(o *options) *report {
	r := &report{
		Mode:       "in-process",
		GoVersion:  runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Duration:   o.duration.String(),
		Warmup:     o.warmup.String(),
		Rounds:     o.rounds,
		CPUProfile: o.cpuprofile,
	}
	switch {
	case o.url != "":
		r.Mode, r.URL = "url", chatURL(o.url)
		r.Notes = append(r.Notes, "The load generator runs in this process: if the endpoint runs on this machine too, both share its CPUs and the figures are lower than the endpoint alone could reach.")
		return r
	case o.gatewayProcess:
		r.Mode = "gateway-process"
		r.Notes = append(r.Notes,
			"The gateway and the bare proxy each run in a child process; the load generator and the fake backend run in this one. All share the same CPUs.")
		if o.cpuprofile != "" {
			r.Notes = append(r.Notes, "The CPU profile covers the gateway child process alone.")
		}
	default:
		r.Notes = append(r.Notes, fmt.Sprintf(
			"The load generator, the fake backend, the bare proxy and the gateway all run in this one process and share its %d CPUs (GOMAXPROCS=%d): absolute figures are lower than on a dedicated gateway host; compare the targets side by side.",
			r.NumCPU, r.GOMAXPROCS))
		if o.cpuprofile != "" {
			r.Notes = append(r.Notes, "The CPU profile covers the whole process (load generator and fake backend included); use -gateway-process for a profile of the gateway alone.")
		}
	}
	r.Backend = o.backend
	r.Chunks = o.chunks
	r.ChunkDelay = o.chunkDelay.String()
	return r
}

// find returns the result of target in scenario, or nil.
func (r *report) find(scenario, target string) *result {
	for i := range r.Results {
		if r.Results[i].Scenario == scenario && r.Results[i].Target == target {
			return &r.Results[i]
		}
	}
	return nil
}

// errors counts failed requests over the whole run.
func (r *report) errors() int64 {
	var n int64
	for _, res := range r.Results {
		n += res.Errors
	}
	return n
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// compare fills Comparisons and Targets from the results.
func (r *report) compare(o *options) {
	if r.Mode == "url" {
		return
	}
	for _, sc := range scenarios(o) {
		gw, bare, direct := r.find(sc.Name, "gateway"), r.find(sc.Name, "bare-proxy"), r.find(sc.Name, "direct")
		if gw == nil || bare == nil || direct == nil {
			continue
		}
		c := comparison{
			Scenario: sc.Name,
			VsBare:   ratio(gw.RPS, bare.RPS),
			VsDirect: ratio(gw.RPS, direct.RPS),
			AddedP50: gw.Latency.P50 - bare.Latency.P50,
		}
		if gw.Chunk != nil && bare.Chunk != nil {
			d := gw.Chunk.P50 - bare.Chunk.P50
			c.AddedChunkP50 = &d
		}
		r.Comparisons = append(r.Comparisons, c)
	}
	find := func(name string) *comparison {
		for i := range r.Comparisons {
			if r.Comparisons[i].Scenario == name {
				return &r.Comparisons[i]
			}
		}
		return nil
	}
	if len(o.concurrency) > 0 {
		hi, lo := slices.Max(o.concurrency), slices.Min(o.concurrency)
		if c := find(fmt.Sprintf("plain@%d", hi)); c != nil {
			r.Targets = append(r.Targets, targetCheck{
				What: fmt.Sprintf("gateway/bare-proxy throughput @%d", hi), Value: c.VsBare, Unit: "x",
				Target: ">= 0.9x", Met: c.VsBare >= 0.9,
			})
		}
		if c := find(fmt.Sprintf("plain@%d", lo)); c != nil {
			r.Targets = append(r.Targets, targetCheck{
				What: fmt.Sprintf("added p50 latency @%d vs bare proxy", lo), Value: c.AddedP50, Unit: "µs",
				Target: "<= 50µs", Met: c.AddedP50 <= 50,
			})
		}
	}
	if len(o.streamConcurrency) > 0 {
		// Like the added latency, time to first byte is compared unloaded.
		lo := slices.Min(o.streamConcurrency)
		if c := find(fmt.Sprintf("stream@%d", lo)); c != nil {
			r.Targets = append(r.Targets, targetCheck{
				What: fmt.Sprintf("stream TTFB p50 @%d vs bare proxy", lo), Value: c.AddedP50, Unit: "µs",
				Target: "<= 200µs", Met: c.AddedP50 <= 200,
			})
		}
	}
	if m := r.Memory; m != nil && m.Idle > 0 {
		mb := float64(m.Idle) / (1 << 20)
		r.Targets = append(r.Targets, targetCheck{
			What: "idle RSS (" + m.Scope + ")", Value: mb, Unit: "MiB", Target: "< 30 MiB", Met: mb < 30,
		})
		// The streaming memory target needs the gateway alone and 1000
		// concurrent streams (for example -stream-concurrency 1000
		// -chunk-delay 50ms -gateway-process).
		if n := slices.Max(append([]int{0}, o.streamConcurrency...)); n >= 1000 && r.Mode == "gateway-process" && m.Peak > 0 {
			mb := float64(m.Peak) / (1 << 20)
			r.Targets = append(r.Targets, targetCheck{
				What: fmt.Sprintf("peak RSS with %d concurrent streams (%s)", n, m.Scope), Value: mb, Unit: "MiB",
				Target: "< 150 MiB", Met: mb < 150,
			})
		}
	}
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// us formats microseconds for the table.
func us(v float64) string {
	d := time.Duration(v * float64(time.Microsecond))
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fµs", v)
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fms", v/1000)
	}
	return fmt.Sprintf("%.2fs", v/1e6)
}

func signedUS(v float64) string {
	if v >= 0 {
		return "+" + us(v)
	}
	return "-" + us(-v)
}

func (r *report) writeText(out io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "nexus-bench: %s, %s, %d CPUs, GOMAXPROCS=%d, mode %s", r.GoVersion, r.Platform, r.NumCPU, r.GOMAXPROCS, r.Mode)
	if r.URL != "" {
		fmt.Fprintf(&b, ", target %s", r.URL)
	}
	fmt.Fprintf(&b, "\n%s measured per scenario and target, in %d interleaved round(s), after %s warm-up", r.Duration, r.Rounds, r.Warmup)
	if r.Mode != "url" {
		fmt.Fprintf(&b, "; %s fake backend, %d chunks per stream, chunk delay %s", r.Backend, r.Chunks, r.ChunkDelay)
	}
	b.WriteString("\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	allocs := r.Mode == "in-process"
	fmt.Fprint(tw, "scenario\ttarget\treq/s\tp50\tp90\tp99\terrors\t")
	if allocs {
		fmt.Fprint(tw, "allocs/req\tB/req\t")
	}
	fmt.Fprintln(tw)
	row := func(name string, res result, rps string, s summary) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t", name, res.Target, rps, us(s.P50), us(s.P90), us(s.P99), res.Errors)
		if allocs {
			fmt.Fprintf(tw, "%.0f\t%.0f\t", res.AllocsPerReq, res.BytesPerReq)
		}
		fmt.Fprintln(tw)
	}
	for _, res := range r.Results {
		rps := fmt.Sprintf("%.0f", res.RPS)
		if !res.Stream {
			row(res.Scenario, res, rps, res.Latency)
			continue
		}
		row(res.Scenario+" ttfb", res, rps, res.Latency)
		row(res.Scenario+" chunk", res, "", *res.Chunk)
		row(res.Scenario+" total", res, "", *res.Total)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("  plain: latency of the whole request. stream: ttfb = time to the first event, chunk = time per chunk after\n" +
		"  the first ((total - ttfb) / (events - 1), per stream), total = whole stream; req/s of streams = streams/s.\n")
	if allocs {
		b.WriteString("  allocs/req, B/req: heap allocations of the whole process (load generator + backend + hop) per request.\n")
	}
	for _, res := range r.Results {
		if res.FirstError != "" {
			fmt.Fprintf(&b, "  first error of %s → %s: %s\n", res.Scenario, res.Target, res.FirstError)
		}
	}

	if len(r.Comparisons) > 0 {
		b.WriteString("\nGateway compared with the bare proxy and with the backend directly:\n")
		for _, c := range r.Comparisons {
			fmt.Fprintf(&b, "  %-10s throughput gateway/bare-proxy %.2fx, gateway/direct %.2fx; added p50 vs bare proxy %s",
				c.Scenario, c.VsBare, c.VsDirect, signedUS(c.AddedP50))
			if c.AddedChunkP50 != nil {
				fmt.Fprintf(&b, " (ttfb), %s per chunk", signedUS(*c.AddedChunkP50))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Targets) > 0 {
		b.WriteString("\nTargets (DESIGN §6; reported, never enforced):\n")
		for _, t := range r.Targets {
			v := fmt.Sprintf("%.2fx", t.Value)
			switch t.Unit {
			case "µs":
				v = signedUS(t.Value)
			case "MiB":
				v = fmt.Sprintf("%.1f MiB", t.Value)
			}
			verdict := "met"
			if !t.Met {
				verdict = "NOT MET"
			}
			fmt.Fprintf(&b, "  %s: %s (target %s) %s\n", t.What, v, t.Target, verdict)
		}
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(&b, "\nMemory (%s): idle RSS %s, peak RSS (VmHWM) %s\n", m.Scope, mib(m.Idle), mib(m.Peak))
		if m.BareIdle > 0 {
			fmt.Fprintf(&b, "  bare proxy child for scale: idle RSS %s, peak RSS %s\n", mib(m.BareIdle), mib(m.BarePeak))
		}
	}
	if r.CPUProfile != "" {
		fmt.Fprintf(&b, "\nCPU profile written to %s (go tool pprof -top %s)\n", r.CPUProfile, r.CPUProfile)
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		b.WriteString("Note: " + n + "\n")
	}
	_, err := io.WriteString(out, b.String())
	return err
}
