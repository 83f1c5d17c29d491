package nexustest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// rerankRequest is the part of a rerank request (the Jina and Cohere shape
// served by vLLM and llama.cpp) the fake reads.
type rerankRequest struct {
	baseRequest
	Query           *string           `json:"query"`
	Documents       []json.RawMessage `json:"documents"` // strings or {"text": ...}
	TopN            int               `json:"top_n"`     // 0: all
	ReturnDocuments *bool             `json:"return_documents"`
}

// rerankReply is vLLM's /v1/rerank response.
type rerankReply struct {
	ID      string         `json:"id"`
	Model   string         `json:"model"`
	Usage   rerankUsage    `json:"usage"`
	Results []rerankResult `json:"results"`
}

type rerankUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type rerankResult struct {
	Index          int             `json:"index"`
	Document       *rerankDocument `json:"document,omitempty"`
	RelevanceScore float64         `json:"relevance_score"`
}

type rerankDocument struct {
	Text string `json:"text"`
}

// rerank runs POST /v1/rerank.
func (b *Backend) rerank(w http.ResponseWriter, r *http.Request, body []byte) {
	var req rerankRequest
	b.infer(w, r, body, openAIDialect, &req, func(model string) bool {
		b.serveRerank(w, &req, model)
		return false
	})
}

func (b *Backend) serveRerank(w http.ResponseWriter, req *rerankRequest, model string) {
	if req.Query == nil {
		b.badRequest(w, openAIDialect, "query", "query is required")
		return
	}
	docs := make([]string, len(req.Documents))
	for i, raw := range req.Documents {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			var obj struct {
				Text *string `json:"text"`
			}
			if json.Unmarshal(raw, &obj) != nil || obj.Text == nil {
				b.badRequest(w, openAIDialect, "documents", "each document must be a string or an object with a text field")
				return
			}
			text = *obj.Text
		}
		docs[i] = text
	}
	n := len(*req.Query)
	results := make([]rerankResult, len(docs))
	for i, d := range docs {
		n += len(d)
		results[i] = rerankResult{Index: i, RelevanceScore: RelevanceScore(*req.Query, d)}
	}
	// Highest score first; equal scores keep document order.
	slices.SortStableFunc(results, func(x, y rerankResult) int {
		switch {
		case x.RelevanceScore > y.RelevanceScore:
			return -1
		case x.RelevanceScore < y.RelevanceScore:
			return 1
		}
		return 0
	})
	if req.TopN > 0 && req.TopN < len(results) {
		results = results[:req.TopN]
	}
	if req.ReturnDocuments == nil || *req.ReturnDocuments {
		for i := range results {
			results[i].Document = &rerankDocument{Text: docs[results[i].Index]}
		}
	}
	p := b.promptTokens(n)
	writeJSON(w, http.StatusOK, rerankReply{
		ID: b.nextID("rerank-"), Model: model,
		Usage: rerankUsage{PromptTokens: p, TotalTokens: p}, Results: results,
	})
}

// RelevanceScore is the score the backend's /v1/rerank gives document for
// query: the share of the query's distinct words (case-folded, split at
// anything not a letter or digit) that occur in document, in [0, 1].
func RelevanceScore(query, document string) float64 {
	q := words(query)
	if len(q) == 0 {
		return 0
	}
	d := words(document)
	hit := 0
	for w := range q {
		if d[w] {
			hit++
		}
	}
	return float64(hit) / float64(len(q))
}

func words(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		set[w] = true
	}
	return set
}
