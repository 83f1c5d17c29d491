package nexustest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nexusllm/nexus/nexustest"
)

// An Engine simulates a real server's costs; its stats report them in
// simulated time, whatever TimeScale made the wall time.
func ExampleStartEngine() {
	e, err := nexustest.StartEngine(nexustest.EngineConfig{
		Type: "llamacpp", Models: []string{"qwen"}, Slots: 2, CacheBlocks: 64,
		DecodeTime: 20 * time.Millisecond, PrefillPerToken: time.Millisecond, OutputTokens: 8,
		TimeScale: 0.01, // run 100 times faster than simulated
	})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	prompt := strings.Repeat("You are a helpful assistant. ", 20) // 580 bytes
	body := `{"model":"qwen","messages":[{"role":"system","content":"` + prompt + `"}]}`
	for range 2 {
		resp, err := http.Post(e.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()

	st := e.Stats()
	fmt.Println("served:", st.Served)
	fmt.Println("prompt tokens:", st.PromptTokens, "cached:", st.CachedTokens)
	fmt.Println("prefill:", st.PrefillTime, "decode:", st.DecodeTime)
	// Output:
	// served: 2
	// prompt tokens: 294 cached: 144
	// prefill: 150ms decode: 320ms
}
