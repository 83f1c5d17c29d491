// Package replicatest runs the real programs a fleet of gateways is made
// of, on loopback, for tests: redis-server (shared limits), HAProxy (the
// load balancer in front of the replicas) and `nexus serve` processes
// built from ./cmd/nexus. Every process is started by the test, listens on
// 127.0.0.1 only, and is killed when the test ends. A missing program skips
// the test, or fails it when the CI environment variable is set.
package replicatest
