package nexus_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/routing"
)

// Modes of flakyChat.
const (
	flakyOK   = iota // answer at once
	flakyFail        // answer 500
	flakyHold        // hold until the gate opens
)

// flakyChat is a chat handler whose behaviour a test switches between
// succeeding, failing and holding requests.
type flakyChat struct {
	mode atomic.Int32
	gate *gate
}

func (f *flakyChat) handler(w http.ResponseWriter, r *http.Request) {
	switch f.mode.Load() {
	case flakyFail:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"message":"engine crashed","type":"server_error","param":null,"code":null}}`))
		return
	case flakyHold:
		f.gate.handler(w, r)
		return
	}
	writeCompletion(w, "flaky")
}

// backendStatus returns the admin API's view of the backend called name.
func backendStatus(t *testing.T, base, name string) api.Backend {
	t.Helper()
	for _, b := range listBackends(t, base) {
		if b.Name == name {
			return b
		}
	}
	require.FailNow(t, "no backend "+name)
	return api.Backend{}
}

// servedBy sends one chat request, which must succeed, and returns the
// backend that served it.
func servedBy(t *testing.T, base string) string {
	t.Helper()
	status, h, body := chatAs(t, base, "m")
	require.Equal(t, http.StatusOK, status, "%s", body)
	return h.Get(nexus.HeaderBackend)
}

// TestPassiveEjectionHalfOpen: with health checks off, a backend that
// fails requests is ejected after passive_failure_threshold failures, gets
// nothing during the cool-down, then exactly one trial request; a failed
// trial ejects it for another cool-down, a successful one readmits it.
// Clients never see the failures: the healthy peer serves them.
func TestPassiveEjectionHalfOpen(t *testing.T) {
	t.Parallel()
	flaky := &flakyChat{gate: newGate()}
	t.Cleanup(flaky.gate.open)
	flaky.mode.Store(flakyFail)
	bad := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Handler(flaky.handler))
	good := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("bad", bad, 1), backendConfig("good", good, 10))
	cfg.HealthCheck.Enabled = false
	cfg.HealthCheck.PassiveFailureThreshold = 2
	cfg.HealthCheck.PassiveCooldownSeconds = 1
	cfg.Routing.Strategy = routing.StrategyPriorityOnly // bad first while it is in rotation
	cfg.Server.FirstByteTimeout = 30 * time.Second
	_, base := startGateway(t, cfg)
	require.Equal(t, "healthy", backendStatus(t, base, "bad").Status, "the start-up probe found it healthy")

	// Two failed requests (each failed over to good) eject it.
	for range 2 {
		assert.Equal(t, "good", servedBy(t, base))
	}
	ejected := time.Now()
	require.EqualValues(t, 2, bad.ChatHits())
	st := backendStatus(t, base, "bad")
	assert.Equal(t, "unhealthy", st.Status)
	require.NotNil(t, st.LastError)
	assert.Contains(t, *st.LastError, "2 consecutive request failures")

	// Cooling down: nothing reaches it.
	for range 3 {
		assert.Equal(t, "good", servedBy(t, base))
	}
	if time.Since(ejected) < time.Second {
		assert.EqualValues(t, 2, bad.ChatHits(), "an ejected backend gets nothing during its cool-down")
	} else {
		t.Log("the cool-down ended before the check; skipping it")
	}

	// After the cool-down one trial reaches it; it fails, so the backend
	// is out for another cool-down.
	require.Eventually(t, func() bool {
		assert.Equal(t, "good", servedBy(t, base))
		return bad.ChatHits() == 3
	}, 10*time.Second, 50*time.Millisecond, "a trial request after the cool-down")
	reejected := time.Now()
	st = backendStatus(t, base, "bad")
	assert.Equal(t, "unhealthy", st.Status)
	require.NotNil(t, st.LastError)
	assert.Contains(t, *st.LastError, "trial request failed")
	assert.Equal(t, "good", servedBy(t, base))
	if time.Since(reejected) < time.Second {
		assert.EqualValues(t, 3, bad.ChatHits(), "a failed trial starts another cool-down")
	}

	// It recovers. The next trial is held at the backend: while it is in
	// flight no other request is let through, however many arrive.
	flaky.mode.Store(flakyHold)
	var (
		mu       sync.Mutex
		statuses []string
		wg       sync.WaitGroup
	)
	send := func() {
		status, h, body := chatAs(t, base, "m")
		mu.Lock()
		statuses = append(statuses, fmt.Sprintf("%d %s %s", status, h.Get(nexus.HeaderBackend), body))
		mu.Unlock()
	}
	require.Eventually(t, func() bool {
		if bad.InFlight() == 1 {
			return true
		}
		wg.Go(send)
		return false
	}, 10*time.Second, 20*time.Millisecond, "the trial after the second cool-down")
	var burst sync.WaitGroup
	for range 10 {
		burst.Go(send)
	}
	for range 5 {
		assert.Equal(t, "good", servedBy(t, base), "one trial at a time")
	}
	burst.Wait()
	assert.EqualValues(t, 4, bad.ChatHits(), "exactly one trial request reached the backend")
	assert.Equal(t, "unhealthy", backendStatus(t, base, "bad").Status, "not readmitted before the trial succeeds")

	flaky.mode.Store(flakyOK)
	flaky.gate.open()
	wg.Wait()
	trials := 0
	for _, s := range statuses {
		assert.True(t, strings.HasPrefix(s, "200 "), s)
		if strings.HasPrefix(s, "200 bad ") {
			trials++
		}
	}
	assert.Equal(t, 1, trials, "the trial's client got the recovered backend's answer")

	require.Eventually(t, func() bool { return backendStatus(t, base, "bad").Status == "healthy" },
		5*time.Second, 10*time.Millisecond, "a successful trial readmits the backend")
	assert.Nil(t, backendStatus(t, base, "bad").LastError)
	for range 3 {
		assert.Equal(t, "bad", servedBy(t, base), "back in rotation, first by priority")
	}
	assert.EqualValues(t, 7, bad.ChatHits())
}
