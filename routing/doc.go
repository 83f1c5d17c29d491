// Package routing decides which backend serves a chat request and in what
// order the gateway fails over.
//
// A Router resolves the model a client asked for through the configured
// aliases, keeps the backends of the registry that are healthy and able to
// serve the request (capabilities and context length, see Requirements),
// and lets a Strategy pick one. The Route it returns then hands out further
// attempts, one per failed attempt: the next best backend for the same model
// (up to 1+MaxRetries backends), then the configured fallback models in
// order. When nothing can serve the request at all, Route returns an *Error
// whose Kind says why and which maps to an HTTP status and an OpenAI error
// code.
//
// Capacity comes first for every strategy: a backend at its max concurrency
// (AtCapacity), or saturated by its own fresh load report (see Signals), is
// not handed to the strategy while another candidate has room. With
// Config.Affinity, a request's session key pins it to one backend by
// rendezvous hashing (Rendezvous). When every candidate is at capacity,
// Route.Full says so, and a caller may hold the request in a Queue until
// Router.HasRoom.
//
// The package does not parse HTTP or JSON: the caller fills Requirements
// from the request it has already read. Routing is in memory, lock-free
// (registry snapshots and atomics only) and allocates little; the strategy
// sees the registry's own candidate slice whenever every backend listed for
// the model is usable.
package routing
