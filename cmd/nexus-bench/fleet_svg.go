package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
)

// The SVG of -fleet: one horizontal bar per (workload, configuration) on a
// shared logarithmic axis of simulated seconds — a thin line from p50 to
// p99, a thick box from p50 to p90, a dot at p50 — grouped by workload,
// with the figures written beside each bar. Hand-written, no dependencies.

// Layout of the picture, in SVG user units.
const (
	svgWidth    = 900
	svgLeft     = 150 // start of the plot area (labels on the left)
	svgRight    = 250 // room for the figures on the right
	svgTop      = 70
	svgRow      = 34
	svgGroupGap = 40
)

// svgColors are the configurations' colours, in fleetConfigs order.
var svgColors = []string{"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4"}

func writeFleetSVGFile(path string, rep *fleetReport) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeFleetSVG(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// svgAxis maps simulated seconds to x on a log axis over [lo, hi].
type svgAxis struct{ lo, hi float64 }

func (a svgAxis) x(v float64) float64 {
	v = min(max(v, a.lo), a.hi)
	w := float64(svgWidth - svgLeft - svgRight)
	return svgLeft + w*(math.Log10(v)-math.Log10(a.lo))/(math.Log10(a.hi)-math.Log10(a.lo))
}

// fleetAxis covers every figure, widened to whole decades.
func fleetAxis(rep *fleetReport) svgAxis {
	lo, hi := math.Inf(1), 0.0
	for _, r := range rep.Results {
		for _, v := range []float64{r.TTFT.P50, r.TTFT.P90, r.TTFT.P99} {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi == 0 {
		lo, hi = 0.1, 1
	}
	return svgAxis{lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi)+1e-9))}
}

// writeFleetSVG draws rep.
func writeFleetSVG(w io.Writer, rep *fleetReport) error {
	ax := fleetAxis(rep)
	groups := map[string][]fleetResult{}
	var order []string
	for _, r := range rep.Results {
		if _, ok := groups[r.Workload]; !ok {
			order = append(order, r.Workload)
		}
		groups[r.Workload] = append(groups[r.Workload], r)
	}
	rows := len(rep.Results)
	plotBottom := svgTop + rows*svgRow + len(order)*svgGroupGap
	height := plotBottom + 70

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="17" font-weight="bold">Nexus fleet benchmark: time to first token (simulated seconds, log scale)</text>`+"\n", 16)
	fmt.Fprintf(&b, `<text x="%d" y="48" fill="#555">bar: p50 to p90, whisker to p99, dot at p50; fresh simulated fleet per bar (2 vLLM, 1 llama.cpp, 2 Ollama)</text>`+"\n", 16)

	// Decade grid lines and labels.
	for v := ax.lo; v <= ax.hi*1.0001; v *= 10 {
		for _, m := range []float64{1, 2, 5} {
			t := v * m
			if t > ax.hi*1.0001 {
				break
			}
			x := ax.x(t)
			stroke, dash := "#ccc", ` stroke-dasharray="3,3"`
			if m == 1 {
				stroke, dash = "#999", ""
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"%s/>`+"\n", x, svgTop-8, x, plotBottom, stroke, dash)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`+"\n", x, plotBottom+18, svgNum(t))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#333">TTFT, seconds</text>`+"\n",
		svgLeft+(svgWidth-svgLeft-svgRight)/2, plotBottom+38)

	y := svgTop
	for _, wl := range order {
		fmt.Fprintf(&b, `<text x="16" y="%d" font-weight="bold">%s</text>`+"\n", y+8, html.EscapeString(wl))
		y += svgGroupGap - 14
		for _, r := range groups[wl] {
			col := svgColors[svgConfigIndex(r.Config)%len(svgColors)]
			cy := y + svgRow/2
			x50, x90, x99 := ax.x(r.TTFT.P50), ax.x(r.TTFT.P90), ax.x(r.TTFT.P99)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLeft-10, cy+4, html.EscapeString(r.Config))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x50, cy, x99, cy, col)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x99, cy-7, x99, cy+7, col)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s" fill-opacity="0.55" stroke="%s"/>`+"\n",
				x50, cy-8, max(x90-x50, 2), col, col)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="4.5" fill="%s" stroke="white"/>`+"\n", x50, cy, col)
			label := fmt.Sprintf("p50 %s  p90 %s  p99 %s", svgNum(r.TTFT.P50), svgNum(r.TTFT.P90), svgNum(r.TTFT.P99))
			extra := fmt.Sprintf("cold loads %d, errors %d", r.ColdLoads, r.Errors)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">%s</text>`+"\n", svgWidth-svgRight+12, cy, label)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">%s</text>`+"\n", svgWidth-svgRight+12, cy+13, extra)
			y += svgRow
		}
		y += 14
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// svgConfigIndex is the position of name in fleetConfigs (its colour).
func svgConfigIndex(name string) int {
	for i, c := range fleetConfigs {
		if c.Name == name {
			return i
		}
	}
	return len(fleetConfigs)
}

// svgNum formats seconds compactly: 0.05, 0.5, 2.3, 14.
func svgNum(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0fs", v)
	case v >= 1:
		return fmt.Sprintf("%.1fs", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2fs", v)
	}
	return fmt.Sprintf("%.3fs", v)
}
