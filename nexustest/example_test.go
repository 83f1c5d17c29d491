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
