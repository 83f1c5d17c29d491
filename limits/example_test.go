package limits_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/nexusllm/nexus/limits"
)

func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ring, err := limits.New([]limits.Key{{
		Name:              "team-a",
		Secret:            "sk-team-a",
		Models:            []string{"llama3*", "qwen2.5:7b"},
		RequestsPerMinute: 2,
		TokensPerMinute:   1000,
		MaxConcurrent:     8,
	}}, limits.WithClock(clock))
	if err != nil {
		panic(err)
	}

	p, ok := ring.Lookup("sk-team-a")
	fmt.Println(ok, p.Name(), p.Role(), p.AllowsModel("llama3.1:8b"), p.AllowsModel("mistral"))

	for range 3 {
		t, d := p.Acquire(now)
		h := http.Header{}
		d.WriteHeaders(h)
		fmt.Printf("allowed=%v reason=%q remaining=%s reset=%s retry-after=%q\n", d.Allowed, d.Reason,
			h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"), h.Get("Retry-After"))
		t.Done(150) // after the reply: the tokens the backend reported
	}
	// Output:
	// true team-a user true false
	// allowed=true reason="" remaining=1 reset=30s retry-after=""
	// allowed=true reason="" remaining=0 reset=1m0s retry-after=""
	// allowed=false reason="requests" remaining=0 reset=1m0s retry-after="30"
}
