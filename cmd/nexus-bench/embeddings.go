package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The embeddings scenarios send one request of embedInputs short texts and
// the fast backend answers embedInputs vectors of embedDims float32s, like
// a small sentence-embedding model (all-MiniLM-L6-v2, bge-small: 384
// dimensions) embedding a batch of chunks for retrieval. The reply is about
// 37 KB of JSON, some 80 times a chat reply, so these scenarios measure
// what a hop costs for a large plain body rather than per request.
const (
	embedInputs = 8
	embedDims   = 384
)

// embeddingsPath is where every target answers embeddings.
const embeddingsPath = "/v1/embeddings"

// embeddingsURL turns a chat completions URL (as chatURL returns it) into
// the embeddings URL beside it.
func embeddingsURL(chat string) string {
	return strings.TrimSuffix(chat, "/chat/completions") + "/embeddings"
}

// embedTexts are the inputs of every embeddings request.
var embedTexts = [embedInputs]string{
	"Nexus routes each request to the healthiest backend that serves the model.",
	"A backend that fails before the first byte is retried on the next best one.",
	"Aliases map a friendly model name to the name a backend knows.",
	"Fallback chains name the models to try when a model has no healthy backend.",
	"Health checks probe every backend and discover the models it serves.",
	"Metrics count requests, errors, tokens and latency per model and backend.",
	"Streaming replies are relayed event by event as the backend sends them.",
	"The dashboard shows backends, models and recent requests live.",
}

// embeddingsBody is the embeddings request every target receives.
func embeddingsBody(model string) []byte {
	b, _ := json.Marshal(struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		EncodingFormat string   `json:"encoding_format"`
		Dimensions     int      `json:"dimensions"`
	}{Model: model, Input: embedTexts[:], EncodingFormat: "float", Dimensions: embedDims})
	return b
}

// embeddingsReply builds the fast backend's prepared answer: embedInputs
// unit vectors of embedDims pseudo-random float32s (a fixed seed, so every
// run sends the same bytes), written in the shortest form that reads back
// as the same float32, as OpenAI's API does.
func embeddingsReply(model string) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	vec := make([]float64, embedDims)
	for i := range embedInputs {
		var norm float64
		for j := range vec {
			vec[j] = rng.NormFloat64()
			norm += vec[j] * vec[j]
		}
		norm = math.Sqrt(norm)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":[`, i)
		for j, v := range vec {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64(float32(v/norm)), 'g', -1, 32))
		}
		b.WriteString("]}")
	}
	tokens := 0
	for _, t := range embedTexts {
		tokens += len(strings.Fields(t)) + 2 // about a token per word, plus punctuation
	}
	m, _ := json.Marshal(model)
	fmt.Fprintf(&b, `],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, m, tokens, tokens)
	return []byte(b.String())
}
