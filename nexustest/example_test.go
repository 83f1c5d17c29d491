package nexustest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nexusllm/nexus/nexustest"
)

// Example starts a fake backend, asks it for a chat completion the way an
// OpenAI client would, and inspects what it received.
func Example() {
	b, err := nexustest.Start(nexustest.Models("llama3"), nexustest.Reply("Hi there!"), nexustest.Usage(12, 3))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, b.URL()+"/v1/chat/completions",
		strings.NewReader(`{"model":"llama3","messages":[{"role":"user","content":"Hello?"}]}`))
	req.Header.Set("Authorization", "Bearer backend-key")
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)

	var reply struct {
		Choices []struct {
			Message struct{ Content string }
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	_ = json.Unmarshal(data, &reply)
	fmt.Println(resp.StatusCode, reply.Choices[0].Message.Content, reply.Usage.TotalTokens)
	fmt.Println(b.ChatHits(), b.Requests()[0].Header.Get("Authorization"))
	// Output:
	// 200 Hi there! 15
	// 1 Bearer backend-key
}

// Example_stream shows the event sequence of a streamed reply.
func Example_stream() {
	b, err := nexustest.Start(nexustest.Stream("Hel", "lo"))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(b.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"test-model","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	events, _ := readEvents(resp.Body)
	for _, ev := range events {
		if ev == "[DONE]" {
			fmt.Println(ev)
			continue
		}
		var c struct {
			Choices []struct {
				Delta        map[string]any
				FinishReason *string `json:"finish_reason"`
			}
		}
		_ = json.Unmarshal([]byte(ev), &c)
		fmt.Println(c.Choices[0].Delta, c.Choices[0].FinishReason != nil)
	}
	// Output:
	// map[content: role:assistant] false
	// map[content:Hel] false
	// map[content:lo] false
	// map[] true
	// [DONE]
}

// Example_messages streams an Anthropic Messages reply and prints its event
// sequence.
func Example_messages() {
	b, err := nexustest.Start(nexustest.Models("claude-test"), nexustest.Reply("Hi there"))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(b.URL()+"/v1/messages?beta=true", "application/json",
		strings.NewReader(`{"model":"claude-test","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			fmt.Print(name)
		}
	}
	fmt.Println(b.Requests()[0].RawQuery)
	// Output:
	// message_start
	// content_block_start
	// ping
	// content_block_delta
	// content_block_delta
	// content_block_stop
	// message_delta
	// message_stop
	// beta=true
}

// Example_endpoints serves only embeddings and rerank, as an embedding server
// would, and shows that chat is then not found.
func Example_endpoints() {
	b, err := nexustest.Start(nexustest.Models("embed"),
		nexustest.Endpoints(nexustest.EndpointEmbeddings, nexustest.EndpointRerank))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	post := func(path, body string) (int, []byte) {
		resp, err := client.Post(b.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}

	_, data := post("/v1/embeddings", `{"model":"embed","input":["a","b"],"dimensions":4}`)
	var emb struct {
		Data []struct{ Embedding []float32 }
	}
	_ = json.Unmarshal(data, &emb)
	fmt.Println(len(emb.Data), len(emb.Data[0].Embedding), emb.Data[1].Embedding[0] == nexustest.Embedding("b", 4)[0])

	_, data = post("/v1/rerank", `{"model":"embed","query":"red fox","documents":["blue sky","a red fox"]}`)
	var rr struct {
		Results []struct {
			Index          int
			RelevanceScore float64 `json:"relevance_score"`
		}
	}
	_ = json.Unmarshal(data, &rr)
	fmt.Println(rr.Results)

	status, _ := post("/v1/chat/completions", `{"model":"embed","messages":[]}`)
	fmt.Println(status)
	// Output:
	// 2 4 true
	// [{1 1} {0 0}]
	// 404
}
