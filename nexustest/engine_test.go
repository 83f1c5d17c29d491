package nexustest_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/nexustest"
)

// engineForever is a decode time no test waits out: requests hold their
// slot until the client leaves.
const engineForever = time.Hour

func TestStartEngineValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  nexustest.EngineConfig
		want string
	}{
		{"no models", nexustest.EngineConfig{Type: "vllm"}, "at least one model"},
		{"unknown type", nexustest.EngineConfig{Type: "tgi", Models: []string{"m"}}, `unknown engine type "tgi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := nexustest.StartEngine(tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, e)
		})
	}
}

func TestEngineDefaults(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{Models: []string{"m"}, DecodeTime: -1, PrefillPerToken: -1})
	assert.Equal(t, "vllm", e.Type())
	assert.Equal(t, "vllm", e.Name())
	rep := engineChat(t, engineClient(t), e, engineReq{model: "m", text: "hi"})
	assert.Equal(t, nexustest.DefaultEngineOutputTokens, rep.Usage.CompletionTokens)
	assert.Equal(t, "stop", rep.Choices[0].FinishReason)
	assert.Equal(t, []string{"m"}, e.Stats().Loaded, "without LoadTime and MaxLoaded every model starts loaded")
}

func TestEngineSlotsBoundConcurrency(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{Models: []string{"m"}, Slots: 2, DecodeTime: engineForever})
	c := engineClient(t)

	first := engineHold(t, c, e, engineReq{model: "m", text: "one"})
	engineRunning(t, e, 1, 0)
	engineHold(t, c, e, engineReq{model: "m", text: "two"})
	engineRunning(t, e, 2, 0)
	engineHold(t, c, e, engineReq{model: "m", text: "three"})
	st := engineRunning(t, e, 2, 1) // the third waits for a slot
	assert.Equal(t, 2, st.MaxRunning)
	assert.Equal(t, 1, st.MaxWaiting)

	// A client that leaves frees its slot at once for the one waiting.
	first.stop()
	st = engineRunning(t, e, 2, 0)
	assert.Equal(t, int64(1), st.Canceled)
	assert.Equal(t, 2, st.MaxRunning, "never more than Slots at once")
}

func TestEngineQueuedClientLeaves(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{Models: []string{"m"}, Slots: 1, DecodeTime: engineForever})
	c := engineClient(t)
	holder := engineHold(t, c, e, engineReq{model: "m", text: "hold"})
	engineRunning(t, e, 1, 0)
	queued := engineHold(t, c, e, engineReq{model: "m", text: "queued"})
	engineRunning(t, e, 1, 1)

	queued.stop()
	st := engineRunning(t, e, 1, 0)
	assert.Equal(t, int64(1), st.Canceled)

	holder.stop()
	st = engineRunning(t, e, 0, 0)
	assert.Equal(t, int64(2), st.Canceled)
	assert.Zero(t, st.Served)
}

func TestEngineFIFO(t *testing.T) {
	// One slot; the holder's long prompt keeps it in prefill until the
	// test cancels it. The others, queued one after the other, must get
	// the slot in arrival order: their tasks are numbered as granted.
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Models: []string{"m"}, Slots: 1, PrefillPerToken: time.Millisecond, DecodeTime: -1, OutputTokens: 2,
	})
	c := engineClient(t)
	holder := engineHold(t, c, e, engineReq{model: "m", text: strings.Repeat("x", 400_000)})
	engineRunning(t, e, 1, 0)

	const n = 4
	replies := make([]engineReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = engineChat(t, c, e, engineReq{model: "m", text: "q"}) })
		engineRunning(t, e, 1, i+1)
	}
	holder.stop()
	wg.Wait()
	for i, r := range replies {
		assert.Equal(t, int64(i+1), r.Info.Task, "request %d served out of order", i)
		assert.Equal(t, 0, r.Info.Slot)
	}
	st := e.Stats()
	assert.Equal(t, int64(n), st.Served)
	assert.Equal(t, n, st.MaxWaiting)
}

func TestEngineDecodeTime(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Models: []string{"m"}, DecodeTime: 2 * time.Millisecond, PrefillPerToken: -1, OutputTokens: 10, TimeScale: 0.01,
	})
	c := engineClient(t)
	tests := []struct {
		name       string
		req        engineReq
		wantTokens int
		wantFinish string
	}{
		{"default length", engineReq{model: "m", text: "hi"}, 10, "stop"},
		{"max_tokens caps", engineReq{model: "m", text: "hi", maxTokens: 7}, 7, "length"},
		{"max_tokens above default", engineReq{model: "m", text: "hi", maxTokens: 50}, 10, "stop"},
	}
	total := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := engineChat(t, c, e, tt.req)
			assert.Equal(t, tt.wantTokens, rep.Usage.CompletionTokens)
			assert.Equal(t, tt.wantFinish, rep.Choices[0].FinishReason)
			assert.Equal(t, rep.Usage.PromptTokens+rep.Usage.CompletionTokens, rep.Usage.TotalTokens)
			assert.Len(t, strings.Fields(rep.Choices[0].Message.Content), tt.wantTokens, "one word per token")
			total += tt.wantTokens
			st := e.Stats()
			assert.Equal(t, time.Duration(total)*2*time.Millisecond, st.DecodeTime, "simulated decode time = tokens × DecodeTime")
			assert.Equal(t, int64(total), st.CompletionTokens)
		})
	}
}

// engineEvents reads a whole SSE body into its data payloads.
func engineEvents(t *testing.T, c *http.Client, e *nexustest.Engine, r engineReq) []string {
	t.Helper()
	resp, err := c.Post(e.URL()+"/v1/chat/completions", "application/json", strings.NewReader(r.body()))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, data)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestEngineStream(t *testing.T) {
	for _, typ := range []string{"vllm", "llamacpp"} {
		t.Run(typ, func(t *testing.T) {
			e := nexustest.NewEngine(t, nexustest.EngineConfig{
				Type: typ, Models: []string{"m"}, DecodeTime: time.Millisecond, PrefillPerToken: -1, OutputTokens: 5, TimeScale: 0.01,
			})
			c := engineClient(t)
			for _, includeUsage := range []bool{false, true} {
				events := engineEvents(t, c, e, engineReq{model: "m", text: "hello", stream: true, includeUsage: includeUsage})
				require.Equal(t, "[DONE]", events[len(events)-1])
				var text strings.Builder
				var usage map[string]any
				finish := ""
				for _, ev := range events[:len(events)-1] {
					var ch map[string]any
					require.NoError(t, json.Unmarshal([]byte(ev), &ch), ev)
					require.Equal(t, "chat.completion.chunk", ch["object"])
					if u, ok := ch["usage"].(map[string]any); ok {
						usage = u
						continue
					}
					choice := ch["choices"].([]any)[0].(map[string]any)
					if s, ok := choice["delta"].(map[string]any)["content"].(string); ok {
						text.WriteString(s)
					}
					if f, ok := choice["finish_reason"].(string); ok {
						finish = f
						_, hasTimings := ch["timings"]
						assert.Equal(t, typ == "llamacpp", hasTimings, "llama.cpp sends timings in the last chunk")
					}
				}
				assert.Len(t, strings.Fields(text.String()), 5)
				assert.Equal(t, "stop", finish)
				if includeUsage {
					require.NotNil(t, usage)
					assert.EqualValues(t, 5, usage["completion_tokens"])
					assert.Contains(t, usage, "prompt_tokens_details")
				} else {
					assert.Nil(t, usage, "no usage chunk unless asked for")
				}
			}
		})
	}
}

// enginePrompt returns user text whose prompt ("user\n" + text + "\n") is
// exactly tokens tokens of 4 bytes, ending with tail.
func enginePrompt(tokens int, fill, tail string) string {
	n := tokens*4 - len("user\n\n") - len(tail)
	return strings.Repeat(fill, n) + tail
}

func TestEnginePrefixCache(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Type: "llamacpp", Models: []string{"m", "n"}, CacheBlocks: 6,
		PrefillPerToken: time.Millisecond, DecodeTime: -1, OutputTokens: 1, TimeScale: 0.001,
	})
	c := engineClient(t)
	a := enginePrompt(100, "a", "")          // 6 full blocks (96 tokens) + 4 tokens
	a2 := enginePrompt(100, "a", "tailtail") // same 96-token prefix, other tail
	whole := enginePrompt(96, "a", "")       // exactly 6 blocks, the first 5 as in a

	tests := []struct {
		name       string
		model      string
		text       string
		wantCached int
	}{
		{"cold", "m", a, 0},
		{"same prompt", "m", a, 96},
		{"same prefix, other tail", "m", a2, 96},
		{"shared first blocks", "m", whole, 80}, // its 6th block evicts a's
		{"a prompt all cached still computes its last block", "m", whole, 80},
		{"least recently used block was evicted", "m", a, 80},
		{"other model shares nothing", "n", a, 0}, // fills the cache
		{"all evicted", "m", a, 0},
	}
	var prefill time.Duration
	var cached int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := engineChat(t, c, e, engineReq{model: tt.model, text: tt.text})
			prompt := rep.Usage.PromptTokens
			assert.Equal(t, tt.wantCached, rep.Usage.PromptTokensDetails.CachedTokens)
			require.NotNil(t, rep.Timings)
			assert.Equal(t, tt.wantCached, rep.Timings.CacheN)
			assert.Equal(t, prompt-tt.wantCached, rep.Timings.PromptN)
			prefill += time.Duration(prompt-tt.wantCached) * time.Millisecond
			cached += int64(tt.wantCached)
			st := e.Stats()
			assert.Equal(t, prefill, st.PrefillTime, "only uncached tokens are prefilled")
			assert.Equal(t, cached, st.CachedTokens)
			assert.LessOrEqual(t, st.CacheBlocks, 6)
		})
	}
}

func TestEngineModelLoadAndEviction(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Type: "ollama", Models: []string{"a", "b", "c"}, MaxLoaded: 2, LoadTime: 10 * time.Second,
		DecodeTime: -1, PrefillPerToken: -1, OutputTokens: 1, TimeScale: 0.0001,
	})
	c := engineClient(t)
	assert.Empty(t, e.Stats().Loaded, "with a LoadTime models start unloaded")
	steps := []struct {
		model      string
		wantCold   bool
		wantLoaded []string
		wantEvict  int64
	}{
		{"a", true, []string{"a"}, 0},
		{"a", false, []string{"a"}, 0},
		{"b", true, []string{"b", "a"}, 0},
		{"a", false, []string{"a", "b"}, 0},
		{"c", true, []string{"c", "a"}, 1}, // b is least recently used
		{"b", true, []string{"b", "c"}, 2},
	}
	cold := int64(0)
	for i, s := range steps {
		rep := engineChat(t, c, e, engineReq{model: s.model, text: "hi"})
		assert.Equal(t, s.wantCold, rep.Info.ColdLoad, "step %d", i)
		if s.wantCold {
			cold++
		}
		st := e.Stats()
		assert.Equal(t, s.wantLoaded, st.Loaded, "step %d", i)
		assert.Equal(t, cold, st.ColdLoads, "step %d", i)
		assert.Equal(t, s.wantEvict, st.Evictions, "step %d", i)
		assert.Equal(t, time.Duration(cold)*10*time.Second, st.LoadTime, "step %d", i)
	}
}

func TestEngineClientLeavesDuringLoad(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Type: "ollama", Models: []string{"a"}, Slots: 1, LoadTime: engineForever, DecodeTime: -1,
	})
	c := engineClient(t)
	h := engineHold(t, c, e, engineReq{model: "a", text: "hi"})
	engineRunning(t, e, 1, 0)
	h.stop()
	st := engineRunning(t, e, 0, 0)
	assert.Equal(t, int64(1), st.Canceled)
	assert.Zero(t, st.ColdLoads, "an abandoned load does not count")
	assert.Empty(t, st.Loaded)
}

func TestEngineErrors(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{Models: []string{"m"}})
	c := engineClient(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantMessage              string
	}{
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"x","messages":[]}`, 404, "The model `x` does not exist."},
		{"malformed JSON", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid JSON body"},
		{"missing model", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, "you must provide a model parameter"},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, "method GET not allowed"},
		{"other engine's endpoint", "GET", "/api/ps", "", 404, "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := engineDo(t, c, tt.method, e.URL()+tt.path, tt.body)
			assert.Equal(t, tt.wantStatus, status)
			var env struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(data, &env), "body: %s", data)
			assert.Contains(t, env.Error.Message, tt.wantMessage)
			assert.NotEmpty(t, env.Error.Type)
		})
	}
	assert.Equal(t, int64(3), e.Stats().Rejected)
}

func TestEngineCloseCutsRequestsAndLeaksNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	e, err := nexustest.StartEngine(nexustest.EngineConfig{Models: []string{"m"}, Slots: 1, DecodeTime: engineForever})
	require.NoError(t, err)
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	h := engineHold(t, c, e, engineReq{model: "m", text: "running"})
	engineRunning(t, e, 1, 0)
	q := engineHold(t, c, e, engineReq{model: "m", text: "queued"})
	engineRunning(t, e, 1, 1)

	e.Close()
	e.Close() // idempotent
	_, err = h.body.Read(make([]byte, 1024))
	require.Error(t, err, "the stream is cut")
	st := e.Stats()
	assert.Zero(t, st.Canceled, "requests cut by Close are not client cancels")
	assert.Zero(t, st.Running)
	assert.Zero(t, st.Waiting)

	_, err = c.Get(e.URL() + "/v1/models")
	require.Error(t, err, "connections are refused after Close")
	h.stop()
	q.stop()
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}
