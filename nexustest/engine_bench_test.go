package nexustest_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nexusllm/nexus/nexustest"
)

// BenchmarkEngineChat measures the engine's own cost per request over
// loopback, with every simulated duration off: the floor under any
// simulation.
func BenchmarkEngineChat(b *testing.B) {
	for _, stream := range []bool{false, true} {
		name := "plain"
		if stream {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) {
			e := nexustest.NewEngine(b, nexustest.EngineConfig{
				Models: []string{"m"}, DecodeTime: -1, PrefillPerToken: -1, CacheBlocks: 1024, OutputTokens: 16,
			})
			c := engineClient(b)
			body := engineReq{model: "m", text: strings.Repeat("hello ", 200), stream: stream, includeUsage: stream}.body()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Post(e.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}

// BenchmarkEngineSimulation runs 16 clients against 4 slots with the
// default durations 100 times faster, and reports the simulated time per
// request the engine charged and the highest queue it saw.
func BenchmarkEngineSimulation(b *testing.B) {
	e := nexustest.NewEngine(b, nexustest.EngineConfig{
		Models: []string{"m"}, Slots: 4, CacheBlocks: 256, TimeScale: 0.01,
	})
	c := engineClient(b)
	body := engineReq{model: "m", text: strings.Repeat("shared system prompt ", 50), stream: true}.body()
	b.ReportAllocs()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			for range work {
				resp, err := c.Post(e.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	st := e.Stats()
	if st.Served > 0 {
		sim := (st.PrefillTime + st.DecodeTime) / time.Duration(st.Served)
		b.ReportMetric(float64(sim.Microseconds()), "sim-µs/req")
		b.ReportMetric(float64(st.MaxWaiting), "max-waiting")
	}
}
