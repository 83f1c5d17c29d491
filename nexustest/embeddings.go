package nexustest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
)

// DefaultEmbeddingDimensions is the length of an embedding when the request
// does not set "dimensions".
const DefaultEmbeddingDimensions = 8

// embeddingsRequest is the part of an embeddings request the fake reads.
type embeddingsRequest struct {
	baseRequest
	Input          json.RawMessage `json:"input"` // string, strings, tokens or token arrays
	Dimensions     *int            `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"` // "float" (default) or "base64"
}

type embeddingList struct {
	Object string          `json:"object"` // always "list"
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  embeddingUsage  `json:"usage"`
}

type embeddingItem struct {
	Object    string `json:"object"` // always "embedding"
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// embeddings runs POST /v1/embeddings.
func (b *Backend) embeddings(w http.ResponseWriter, r *http.Request, body []byte) {
	var req embeddingsRequest
	b.infer(w, r, body, openAIDialect, &req, func(model string) bool {
		b.serveEmbeddings(w, &req, model)
		return false
	})
}

func (b *Backend) serveEmbeddings(w http.ResponseWriter, req *embeddingsRequest, model string) {
	inputs, size, ok := embeddingInputs(req.Input)
	if !ok {
		b.badRequest(w, openAIDialect, "input", "input must be a non-empty string, array of strings, array of tokens or array of token arrays")
		return
	}
	dims := DefaultEmbeddingDimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	if dims < 1 || dims > 1<<16 {
		b.badRequest(w, openAIDialect, "dimensions", "dimensions must be between 1 and 65536")
		return
	}
	if f := req.EncodingFormat; f != "" && f != "float" && f != "base64" {
		b.badRequest(w, openAIDialect, "encoding_format", "encoding_format must be \"float\" or \"base64\"")
		return
	}
	p := b.promptTokens(size)
	list := embeddingList{Object: "list", Data: make([]embeddingItem, len(inputs)), Model: model,
		Usage: embeddingUsage{PromptTokens: p, TotalTokens: p}}
	for i, in := range inputs {
		vec := Embedding(in, dims)
		var e any = vec
		if req.EncodingFormat == "base64" {
			e = encodeFloats(vec)
		}
		list.Data[i] = embeddingItem{Object: "embedding", Index: i, Embedding: e}
	}
	writeJSON(w, http.StatusOK, list)
}

// Embedding returns the vector the backend answers for input (the input
// string, or for token input the JSON text of the token array, such as
// "[1,2,3]"): dims values derived from the input by FNV-1a and SplitMix64,
// scaled to unit length. The same input always gives the same vector, so a
// test can compare what a gateway relayed with the expected value.
func Embedding(input string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(input))
	x := h.Sum64()
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		x += 0x9e3779b97f4a7c15 // SplitMix64
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		v := float64(int64(z)) / math.MaxInt64 // in [-1, 1]
		vec[i] = float32(v)
		norm += v * v
	}
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range vec {
			vec[i] = float32(float64(vec[i]) / norm)
		}
	}
	return vec
}

// encodeFloats returns vec as base64 of little-endian float32 values, the
// encoding_format "base64" of OpenAI's API.
func encodeFloats(vec []float32) string {
	buf := make([]byte, 4*len(vec))
	for i, v := range vec {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// embeddingInputs returns the inputs of an embeddings request as Embedding
// keys, their size for the token estimate (4 bytes per token for token
// input), and false if input is missing, empty or of another type.
func embeddingInputs(raw json.RawMessage) ([]string, int, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, len(s), s != ""
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		n := 0
		for _, x := range ss {
			n += len(x)
		}
		return ss, n, len(ss) > 0
	}
	var toks []int
	if json.Unmarshal(raw, &toks) == nil {
		return []string{tokenKey(toks)}, 4 * len(toks), len(toks) > 0
	}
	var batches [][]int
	if json.Unmarshal(raw, &batches) == nil {
		keys := make([]string, len(batches))
		n := 0
		for i, t := range batches {
			keys[i] = tokenKey(t)
			n += 4 * len(t)
		}
		return keys, n, len(batches) > 0
	}
	return nil, 0, false
}

func tokenKey(toks []int) string {
	data, _ := json.Marshal(toks)
	return string(data)
}
