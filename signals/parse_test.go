package signals

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// want builds an expected reading; unspecified fields are -1 as in NewLoad.
func want(f func(l *registry.Load)) *registry.Load {
	l := registry.NewLoad(time.Time{})
	f(l)
	return l
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		parse   func([]byte) (*registry.Load, error)
		want    *registry.Load
	}{
		{"vllm", "vllm_metrics.txt", ParseVLLM, want(func(l *registry.Load) {
			l.Running, l.Waiting, l.KVCacheUsage = 3+2+4, 1+0+2, 0.61
		})},
		{"vllm before 0.9", "vllm_legacy_metrics.txt", ParseVLLM, want(func(l *registry.Load) {
			l.Running, l.Waiting, l.KVCacheUsage = 12, 7, 0.9313
		})},
		{"sglang tensor parallel", "sglang_metrics.txt", ParseSGLang, want(func(l *registry.Load) {
			l.Running, l.Waiting, l.KVCacheUsage = 7, 3, 0.55
		})},
		{"llama.cpp metrics", "llamacpp_metrics.txt", ParseLlamaCppMetrics, want(func(l *registry.Load) {
			l.Running, l.Waiting, l.SlotsBusy = 3, 2, 3
		})},
		{"llama.cpp slots", "llamacpp_slots.json", ParseLlamaCppSlots, want(func(l *registry.Load) {
			l.Running, l.SlotsTotal, l.SlotsBusy = 3, 4, 3
		})},
		{"llama.cpp props", "llamacpp_props.json", ParseLlamaCppProps, want(func(l *registry.Load) {
			l.SlotsTotal = 4
		})},
		{"ollama ps", "ollama_ps.json", ParseOllamaPS, want(func(l *registry.Load) {
			l.LoadedModels = []registry.LoadedModel{
				{Name: "llama3.1:8b", SizeVRAM: 6654289920, ExpiresAt: time.Date(2026, 12, 1, 12, 4, 59, 123456789, time.UTC), ContextLength: 8192},
				{Name: "nomic-embed-text:latest", SizeVRAM: 0, ExpiresAt: time.Date(2026, 12, 1, 11, 1, 30, 500000000, time.UTC), ContextLength: 2048},
			}
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.parse(fixture(t, tc.fixture))
			require.NoError(t, err)
			for i := range got.LoadedModels { // compare instants, not zones
				got.LoadedModels[i].ExpiresAt = got.LoadedModels[i].ExpiresAt.UTC()
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParsePromEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		parse   func([]byte) (*registry.Load, error)
		page    string
		want    *registry.Load
		wantErr bool
	}{
		{name: "vllm running only: the rest is unknown", parse: ParseVLLM,
			page: "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 4\n",
			want: want(func(l *registry.Load) { l.Running = 4 })},
		{name: "vllm prefers the current kv gauge", parse: ParseVLLM,
			page: "vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.9\nvllm:kv_cache_usage_perc{model_name=\"m\"} 0.2\n",
			want: want(func(l *registry.Load) { l.KVCacheUsage = 0.2 })},
		{name: "untyped samples without HELP or TYPE", parse: ParseVLLM,
			page: "vllm:num_requests_running 2\nvllm:num_requests_waiting 1\n",
			want: want(func(l *registry.Load) { l.Running, l.Waiting = 2, 1 })},
		{name: "NaN and Inf samples are skipped", parse: ParseVLLM,
			page: "vllm:num_requests_running{engine=\"0\"} NaN\nvllm:num_requests_running{engine=\"1\"} 2\nvllm:num_requests_waiting +Inf\n",
			want: want(func(l *registry.Load) { l.Running = 2 })},
		{name: "usage clamped to 0..1, counts never negative", parse: ParseVLLM,
			page: "vllm:kv_cache_usage_perc 1.7\nvllm:num_requests_waiting -3\n",
			want: want(func(l *registry.Load) { l.KVCacheUsage, l.Waiting = 1, 0 })},
		{name: "CRLF line ends and blank lines", parse: ParseVLLM,
			page: "\r\n# HELP vllm:num_requests_running x\r\nvllm:num_requests_running 5\r\n\r\n",
			want: want(func(l *registry.Load) { l.Running = 5 })},
		{name: "a page broken elsewhere still reads", parse: ParseVLLM,
			page: "some_other_metric{oops 1 2 3\nvllm:num_requests_running 1\n# TYPE other counter\n# TYPE other counter\n",
			want: want(func(l *registry.Load) { l.Running = 1 })},
		{name: "a broken load line is an error", parse: ParseVLLM,
			page: "vllm:num_requests_running{model_name=\"m} 1\n", wantErr: true},
		{name: "no load metrics is an error", parse: ParseVLLM,
			page: "# HELP python_info x\npython_info 1\n", wantErr: true},
		{name: "empty page is an error", parse: ParseVLLM, page: "", wantErr: true},
		{name: "HTML is an error", parse: ParseSGLang, page: "<html><body>502 Bad Gateway</body></html>", wantErr: true},
		{name: "sglang data parallel ranks are summed", parse: ParseSGLang,
			page: "sglang:num_running_reqs{dp_rank=\"0\",tp_rank=\"0\"} 2\nsglang:num_running_reqs{dp_rank=\"0\",tp_rank=\"1\"} 2\n" +
				"sglang:num_running_reqs{dp_rank=\"1\",tp_rank=\"0\"} 5\nsglang:num_running_reqs{tp_rank=\"1\",dp_rank=\"1\"} 5\n" +
				"sglang:token_usage{dp_rank=\"0\"} 0.3\nsglang:token_usage{dp_rank=\"1\"} 0.7\n",
			want: want(func(l *registry.Load) { l.Running, l.KVCacheUsage = 7, 0.7 })},
		{name: "llama.cpp deferred only", parse: ParseLlamaCppMetrics,
			page: "llamacpp:requests_deferred 4\n",
			want: want(func(l *registry.Load) { l.Waiting = 4 })},
		{name: "llama.cpp page read as vllm has nothing", parse: ParseVLLM,
			page: "llamacpp:requests_processing 3\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.parse([]byte(tc.page))
			if tc.wantErr {
				assert.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseJSONEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		parse   func([]byte) (*registry.Load, error)
		body    string
		want    *registry.Load
		wantErr bool
	}{
		{name: "no slots", parse: ParseLlamaCppSlots, body: "[]",
			want: want(func(l *registry.Load) { l.Running, l.SlotsTotal, l.SlotsBusy = 0, 0, 0 })},
		{name: "slots null", parse: ParseLlamaCppSlots, body: "null", wantErr: true},
		{name: "slots error object", parse: ParseLlamaCppSlots, body: `{"error":{"code":501,"message":"This server does not support slots endpoint."}}`, wantErr: true},
		{name: "slots of numbers", parse: ParseLlamaCppSlots, body: "[1,2]", wantErr: true},
		{name: "props without total_slots", parse: ParseLlamaCppProps, body: `{"model_path":"x"}`, wantErr: true},
		{name: "props garbage", parse: ParseLlamaCppProps, body: "<html>", wantErr: true},
		{name: "ps nothing loaded", parse: ParseOllamaPS, body: `{"models":[]}`,
			want: want(func(l *registry.Load) { l.LoadedModels = []registry.LoadedModel{} })},
		{name: "ps without models", parse: ParseOllamaPS, body: `{}`, wantErr: true},
		{name: "ps models null", parse: ParseOllamaPS, body: `{"models":null}`, wantErr: true},
		{name: "ps odd entries", parse: ParseOllamaPS,
			body: `{"models":[{"model":"qwen3:8b","expires_at":"soon","size_vram":-5},{"name":""}]}`,
			want: want(func(l *registry.Load) { l.LoadedModels = []registry.LoadedModel{{Name: "qwen3:8b"}} })},
		{name: "ps garbage", parse: ParseOllamaPS, body: "not json", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.parse([]byte(tc.body))
			if tc.wantErr {
				assert.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestSelectLinesKeepsOnlyNamed checks the line filter in front of the
// Prometheus parser against names that share prefixes.
func TestSelectLinesKeepsOnlyNamed(t *testing.T) {
	t.Parallel()
	page := strings.Join([]string{
		"# HELP vllm:num_requests_running Number of requests.",
		"# TYPE vllm:num_requests_running gauge",
		"vllm:num_requests_running{model_name=\"m\"} 1",
		"vllm:num_requests_running_total 9",
		"#HELP vllm:num_requests_running no space after #",
		"# EOF",
		"# a comment about vllm:num_requests_running",
		"  vllm:num_requests_running 2",
		"vllm:num_requests_waiting 3",
	}, "\n")
	got := string(selectLines([]byte(page), []string{"vllm:num_requests_running"}))
	assert.Equal(t, strings.Join([]string{
		"# HELP vllm:num_requests_running Number of requests.",
		"# TYPE vllm:num_requests_running gauge",
		"vllm:num_requests_running{model_name=\"m\"} 1",
		"#HELP vllm:num_requests_running no space after #",
		"  vllm:num_requests_running 2",
	}, "\n")+"\n", got)
}

// fuzzParsers never panic and, when they succeed, return a reading within
// the documented ranges.
func fuzzParsers(t *testing.T, data []byte) {
	parsers := []func([]byte) (*registry.Load, error){
		ParseVLLM, ParseSGLang, ParseLlamaCppMetrics, ParseLlamaCppSlots, ParseLlamaCppProps, ParseOllamaPS,
	}
	for _, parse := range parsers {
		l, err := parse(data)
		if err != nil {
			if l != nil {
				t.Fatalf("reading %+v returned with error %v", l, err)
			}
			continue
		}
		if l.Running < -1 || l.Waiting < -1 || l.SlotsTotal < -1 || l.SlotsBusy < -1 {
			t.Fatalf("count below -1: %+v", l)
		}
		if l.KVCacheUsage != -1 && (l.KVCacheUsage < 0 || l.KVCacheUsage > 1) {
			t.Fatalf("usage out of range: %+v", l)
		}
		if !l.UpdatedAt.IsZero() {
			t.Fatalf("parser set UpdatedAt: %+v", l)
		}
	}
}

func FuzzParsers(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	require.NoError(f, err)
	for _, e := range entries {
		// Pages past 16 KiB slow the fuzzing engine to a crawl; the large
		// vLLM page is covered by TestParseFixtures.
		if e.IsDir() {
			continue
		}
		if b := fixture(f, e.Name()); len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte("vllm:num_requests_running{a=\"\\\"\"} 1e308\nvllm:num_requests_running{a=\"b\"} 1e308\n"))
	f.Add([]byte(`[{"is_processing":true},{"is_processing":"yes"}]`))
	f.Fuzz(fuzzParsers)
}
