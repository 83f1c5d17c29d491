package nexustest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Prometheus text of GET /metrics for vLLM, SGLang and llama.cpp. Names,
// HELP texts and labels follow the engines' sources (vllm/v1/metrics/
// loggers.py, sglang/srt/metrics/collector.py, llama.cpp tools/server); only
// the series a router reads are simulated. The KV figures are the blocks
// held by the sequences in the slots (prompt plus decoded tokens, rounded
// up to blocks of 16) over the capacity: CacheBlocks blocks, or Slots ×
// ContextLength tokens without a prefix cache. Blocks that only sit in the
// prefix cache count as free, as in vLLM, where they are evictable.

// engineSnapshot is the state the signal endpoints report, read at once.
type engineSnapshot struct {
	running, waiting int
	kvTokens         int
	kvUsage          float64
	c                engineCounters
	slots            []engineSlotView
}

type engineSlotView struct {
	id            int
	task          int64
	busy          bool
	remain, doneN int
}

// snapshot reads the engine's live state.
func (e *Engine) snapshot() engineSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := engineSnapshot{running: e.busy, waiting: len(e.queue), c: e.st}
	s.kvTokens, s.kvUsage = e.kvUsage()
	s.slots = make([]engineSlotView, len(e.slots))
	for i, sl := range e.slots {
		s.slots[i] = engineSlotView{id: sl.id, task: sl.task, busy: sl.busy, remain: sl.remain, doneN: int(sl.decoded.Load())}
	}
	return s
}

// enginePromText builds Prometheus text exposition.
type enginePromText struct {
	b []byte
	// python formats values as Python's prometheus_client does (4.0);
	// otherwise as C++ streams do (4).
	python bool
}

func (p *enginePromText) family(name, help, typ string) {
	p.b = append(p.b, "# HELP "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, typ...)
	p.b = append(p.b, '\n')
}

// sample writes one series; labels is pre-rendered (`a="x",b="y"`), "" for
// none.
func (p *enginePromText) sample(name, labels string, v float64) {
	p.b = append(p.b, name...)
	if labels != "" {
		p.b = append(p.b, '{')
		p.b = append(p.b, labels...)
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ' ')
	if p.python && v == math.Trunc(v) && math.Abs(v) < 1e16 {
		p.b = strconv.AppendFloat(p.b, v, 'f', 1, 64)
	} else {
		p.b = strconv.AppendFloat(p.b, v, 'g', -1, 64)
	}
	p.b = append(p.b, '\n')
}

// metric writes a family with a single series.
func (p *enginePromText) metric(name, help, typ, labels string, v float64) {
	p.family(name, help, typ)
	p.sample(name, labels, v)
}

func (p *enginePromText) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(p.b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.b)
}

// engineLabel renders name="value" with the value escaped.
func engineLabel(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(`="`)
	for _, r := range value {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// engineLabels are the label sets of the Prometheus series, rendered once.
type engineLabels struct {
	model     string // model_name="…"
	vllm      string // model_name="…",engine="0"
	sglang    string // model_name="…",engine_type="unified",tp_rank="0",pp_rank="0"
	vllmCache string // labels of vllm:cache_config_info
}

func newEngineLabels(s *engineSettings, prefixCaching bool) engineLabels {
	model := engineLabel("model_name", s.Models[0])
	return engineLabels{
		model:  model,
		vllm:   model + `,engine="0"`,
		sglang: model + `,engine_type="unified",tp_rank="0",pp_rank="0"`,
		vllmCache: engineLabel("block_size", strconv.Itoa(EngineBlockTokens)) + "," +
			engineLabel("enable_prefix_caching", strconv.FormatBool(prefixCaching)) + "," +
			engineLabel("num_gpu_blocks", strconv.Itoa(s.kvBlocks)) + `,engine="0"`,
	}
}

func engineSeconds(d time.Duration) float64 { return d.Seconds() }

// vllmMetrics answers GET /metrics the way vLLM's V1 engine does.
func (e *Engine) vllmMetrics(w http.ResponseWriter, _ *http.Request) {
	s := e.snapshot()
	l := e.labels.vllm
	p := enginePromText{python: true, b: make([]byte, 0, 2048)}
	p.metric("vllm:num_requests_running", "Number of requests in model execution batches.", "gauge", l, float64(s.running))
	p.metric("vllm:num_requests_waiting", "Number of requests waiting to be processed.", "gauge", l, float64(s.waiting))
	p.metric("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", "gauge", l, s.kvUsage)
	queries := s.c.promptTokens
	if e.cache == nil {
		queries = 0
	}
	p.metric("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", "counter", l, float64(queries))
	p.metric("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", "counter", l, float64(s.c.cachedTokens))
	p.metric("vllm:prompt_tokens_total", "Number of prefill tokens processed.", "counter", l, float64(s.c.promptTokens))
	p.metric("vllm:generation_tokens_total", "Number of generation tokens processed.", "counter", l, float64(s.c.completionTokens))
	p.metric("vllm:request_success_total", "Count of successfully processed requests.", "counter", l+`,finished_reason="stop"`, float64(s.c.served))
	p.metric("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", "gauge", e.labels.vllmCache, 1)
	p.write(w)
}

// sglangMetrics answers GET /metrics the way SGLang does: scheduler gauges
// labelled by model, engine type and ranks; tokenizer counters by model.
func (e *Engine) sglangMetrics(w http.ResponseWriter, _ *http.Request) {
	s := e.snapshot()
	model, l := e.labels.model, e.labels.sglang
	hitRate := 0.0
	if s.c.promptTokens > 0 {
		hitRate = float64(s.c.cachedTokens) / float64(s.c.promptTokens)
	}
	p := enginePromText{python: true, b: make([]byte, 0, 2048)}
	p.metric("sglang:num_running_reqs", "The number of running requests.", "gauge", l, float64(s.running))
	p.metric("sglang:num_used_tokens", "The number of used tokens.", "gauge", l, float64(s.kvTokens))
	p.metric("sglang:token_usage", "The token usage.", "gauge", l, s.kvUsage)
	p.metric("sglang:num_queue_reqs", "The number of requests in the waiting queue.", "gauge", l, float64(s.waiting))
	p.metric("sglang:cache_hit_rate", "The prefix cache hit rate.", "gauge", l, hitRate)
	p.metric("sglang:max_total_num_tokens", "Maximum total number of tokens in the KV cache pool.", "gauge", l, float64(e.cfg.kvBlocks*EngineBlockTokens))
	p.metric("sglang:prompt_tokens_total", "Number of prefill tokens processed.", "counter", model, float64(s.c.promptTokens))
	p.metric("sglang:generation_tokens_total", "Number of generation tokens processed.", "counter", model, float64(s.c.completionTokens))
	p.metric("sglang:cached_tokens_total", "Number of cached prompt tokens.", "counter", model, float64(s.c.cachedTokens))
	p.metric("sglang:num_requests_total", "Number of requests processed.", "counter", model, float64(s.c.served+s.c.canceled))
	p.write(w)
}

// llamaMetrics answers GET /metrics the way llama.cpp's server does with
// --metrics. Its token counters count evaluated (uncached) prompt tokens.
func (e *Engine) llamaMetrics(w http.ResponseWriter, _ *http.Request) {
	s := e.snapshot()
	evaluated := s.c.promptTokens - s.c.cachedTokens
	rate := func(n int64, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	p := enginePromText{b: make([]byte, 0, 2048)}
	p.metric("llamacpp:prompt_tokens_total", "Number of prompt tokens processed.", "counter", "", float64(evaluated))
	p.metric("llamacpp:prompt_seconds_total", "Prompt process time", "counter", "", engineSeconds(s.c.prefillTime))
	p.metric("llamacpp:tokens_predicted_total", "Number of generation tokens processed.", "counter", "", float64(s.c.completionTokens))
	p.metric("llamacpp:tokens_predicted_seconds_total", "Predict process time", "counter", "", engineSeconds(s.c.decodeTime))
	p.metric("llamacpp:prompt_tokens_seconds", "Average prompt throughput in tokens/s.", "gauge", "", rate(evaluated, s.c.prefillTime))
	p.metric("llamacpp:predicted_tokens_seconds", "Average generation throughput in tokens/s.", "gauge", "", rate(s.c.completionTokens, s.c.decodeTime))
	p.metric("llamacpp:requests_processing", "Number of requests processing.", "gauge", "", float64(s.running))
	p.metric("llamacpp:requests_deferred", "Number of requests deferred.", "gauge", "", float64(s.waiting))
	p.write(w)
}
