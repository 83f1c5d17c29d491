// Package nexustest runs a fake LLM inference server on loopback for tests,
// demos and examples.
//
// One Backend speaks every dialect Nexus talks to, on one port, so a backend
// of any type can point at it:
//
//   - OpenAI: GET /v1/models and POST /v1/chat/completions (plain JSON and
//     server-sent events, with optional usage chunk);
//   - Ollama: GET /api/tags and POST /api/show;
//   - llama.cpp: GET /health.
//
// Its behaviour is set with options (Models, Reply, Stream, Usage, Fail,
// Delay, ChunkDelay, DropAfter, StallAfter, ...) and can be changed while requests run
// (SetFail, SetModels, SetDelay, SetReply, Stop, Restart). Everything it
// receives is recorded for assertions (Requests, Hits, ChatHits, InFlight,
// Canceled, WaitCanceled).
//
// The package mirrors net/http/httptest in spirit: NewBackend starts a server
// bound to a testing.TB and closes it when the test ends; Start does the same
// for programs such as `nexus demo` and the examples. It imports only the
// standard library, so embedders can use it in their own tests without pulling
// in the rest of Nexus.
package nexustest
