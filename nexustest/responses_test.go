package nexustest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

func TestResponsesRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Reply("Hi there"), nexustest.Name("gpu-1"))
	c := newClient(t)
	resp, data := do(t, c, "POST", b.URL()+"/v1/responses",
		`{"model":"test-model","instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":"hello!!"}]}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
	m := decode(t, data)
	id := m["id"].(string)
	assert.True(t, strings.HasPrefix(id, "resp_"), id)
	assert.Equal(t, "response", m["object"])
	assert.Equal(t, "completed", m["status"])
	assert.Equal(t, "test-model", m["model"])
	assert.Equal(t, "be brief", m["instructions"])
	assert.Equal(t, true, m["store"])
	assert.NotZero(t, m["created_at"])
	for _, k := range []string{"error", "incomplete_details", "previous_response_id"} {
		assert.Contains(t, m, k)
		assert.Nil(t, m[k], k)
	}
	out := m["output"].([]any)
	require.Len(t, out, 1)
	item := out[0].(map[string]any)
	assert.Equal(t, "message", item["type"])
	assert.True(t, strings.HasPrefix(item["id"].(string), "msg_"))
	assert.Equal(t, "completed", item["status"])
	assert.Equal(t, "assistant", item["role"])
	assert.Equal(t, []any{map[string]any{"type": "output_text", "text": "Hi there", "annotations": []any{}, "logprobs": []any{}}}, item["content"])
	assert.Equal(t, 3.0, m["usage"].(map[string]any)["input_tokens"], "15 bytes of text")
	assert.Equal(t, 2.0, m["usage"].(map[string]any)["output_tokens"])
	assert.Equal(t, 5.0, m["usage"].(map[string]any)["total_tokens"])
	assert.Equal(t, map[string]any{"backend": "gpu-1"}, m["nexustest_extra"])

	// Stored: GET returns it, DELETE removes it.
	assert.Equal(t, []string{id}, b.ResponseIDs())
	resp, got := do(t, c, "GET", b.URL()+"/v1/responses/"+id, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, string(data), string(got))
	resp, del := do(t, c, "DELETE", b.URL()+"/v1/responses/"+id, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, map[string]any{"id": id, "object": "response", "deleted": true}, decode(t, del))
	assert.Empty(t, b.ResponseIDs())
	for _, method := range []string{"GET", "DELETE"} {
		resp, data = do(t, c, method, b.URL()+"/v1/responses/"+id, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, method)
		e := errorOf(t, data)
		assert.Equal(t, "invalid_request_error", e["type"])
		assert.Contains(t, e["message"], id)
	}

	// store: false is not kept; an unknown previous_response_id is refused.
	resp, _ = do(t, c, "POST", b.URL()+"/v1/responses", `{"model":"test-model","input":"x","store":false}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, b.ResponseIDs())
	resp, data = do(t, c, "POST", b.URL()+"/v1/responses", `{"model":"test-model","input":"x","previous_response_id":"resp_elsewhere"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	e := errorOf(t, data)
	assert.Equal(t, "previous_response_not_found", e["code"])
	assert.Equal(t, "previous_response_id", e["param"])
	assert.Equal(t, "Previous response with id 'resp_elsewhere' not found.", e["message"])
}

func TestResponsesIDsDifferAcrossBackends(t *testing.T) {
	t.Parallel()
	a, b := nexustest.NewBackend(t), nexustest.NewBackend(t)
	c := newClient(t)
	for _, be := range []*nexustest.Backend{a, b} {
		resp, _ := do(t, c, "POST", be.URL()+"/v1/responses", `{"model":"test-model","input":"x"}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Len(t, a.ResponseIDs(), 1)
	require.Len(t, b.ResponseIDs(), 1)
	assert.NotEqual(t, a.ResponseIDs(), b.ResponseIDs())
	resp, _ := do(t, c, "GET", b.URL()+"/v1/responses/"+a.ResponseIDs()[0], "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a response lives on the backend that made it")
}

func TestResponsesStreamRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Stream("Hel", "lo"))
	resp := postTo(t, t.Context(), newClient(t), b.URL()+"/v1/responses", `{"model":"test-model","input":"hi","stream":true}`)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events, err := readNamedEvents(resp.Body)
	require.NoError(t, err)
	want := []string{
		"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.done",
		"response.content_part.done", "response.output_item.done", "response.completed",
	}
	require.Len(t, events, len(want))
	var itemID string
	for i, ev := range events {
		assert.Equal(t, want[i], ev.Name)
		m := decode(t, []byte(ev.Data))
		assert.Equal(t, ev.Name, m["type"], "data.type matches event:")
		assert.InDelta(t, i, m["sequence_number"], 0)
		switch ev.Name {
		case "response.created", "response.in_progress":
			r := m["response"].(map[string]any)
			assert.Equal(t, "in_progress", r["status"])
			assert.Equal(t, []any{}, r["output"])
			assert.Nil(t, r["usage"])
		case "response.output_item.added":
			item := m["item"].(map[string]any)
			itemID = item["id"].(string)
			assert.Equal(t, "in_progress", item["status"])
			assert.InDelta(t, 0, m["output_index"], 0)
		case "response.output_text.delta":
			assert.Equal(t, itemID, m["item_id"])
			assert.InDelta(t, 0, m["content_index"], 0)
			assert.Equal(t, []string{"Hel", "lo"}[i-4], m["delta"])
		case "response.output_text.done":
			assert.Equal(t, "Hello", m["text"])
		case "response.content_part.done":
			assert.Equal(t, "Hello", m["part"].(map[string]any)["text"])
		case "response.completed":
			r := m["response"].(map[string]any)
			assert.Equal(t, "completed", r["status"])
			assert.NotNil(t, r["usage"])
		}
	}
	assert.Len(t, b.ResponseIDs(), 1, "a streamed response is stored too")
}

func TestResponsesOpenAIClient(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("gpt"), nexustest.EchoPrompt())
	client := openaiClient(t, b)
	ctx := t.Context()

	first, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("ping")},
	})
	require.NoError(t, err)
	assert.Equal(t, "You said: ping", first.OutputText())
	assert.Equal(t, responses.ResponseStatusCompleted, first.Status)
	assert.Equal(t, int64(3), first.Usage.OutputTokens)

	stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model:              "gpt",
		Input:              responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("pong")},
		PreviousResponseID: param.NewOpt(first.ID),
	})
	var deltas strings.Builder
	var completed responses.Response
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			deltas.WriteString(ev.AsResponseOutputTextDelta().Delta)
		case "response.completed":
			completed = ev.AsResponseCompleted().Response
		}
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "You said: pong", deltas.String())
	assert.Equal(t, "You said: pong", completed.OutputText())
	assert.Equal(t, first.ID, completed.PreviousResponseID)
	assert.Equal(t, "response.created", types[0])
	assert.Equal(t, "response.completed", types[len(types)-1])

	got, err := client.Responses.Get(ctx, completed.ID, responses.ResponseGetParams{})
	require.NoError(t, err)
	assert.Equal(t, "You said: pong", got.OutputText())
	require.NoError(t, client.Responses.Delete(ctx, completed.ID))
	_, err = client.Responses.Get(ctx, completed.ID, responses.ResponseGetParams{})
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	_, err = client.Responses.New(ctx, responses.ResponseNewParams{
		Model:              "gpt",
		Input:              responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("x")},
		PreviousResponseID: param.NewOpt("resp_unknown"),
	})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Equal(t, "previous_response_not_found", apiErr.Code)

	// The first request's body reached the backend as sent.
	var body map[string]any
	require.NoError(t, json.Unmarshal(b.Requests()[0].Body, &body))
	assert.Equal(t, "ping", body["input"])
}
