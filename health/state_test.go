package health

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// checkFixture is a backend on a switchable fake and a Checker with
// thresholds 3/2 that records transitions and probe latencies.
type checkFixture struct {
	f      *fake
	reg    *registry.Registry
	b      *registry.Backend
	c      *Checker
	tr     *transitions
	probes atomic.Int64
}

func newCheckFixture(t *testing.T, flavor string, typ registry.Type, models ...string) *checkFixture {
	t.Helper()
	fx := &checkFixture{f: newFake(t, flavor, models...), reg: registry.New(), tr: &transitions{}}
	fx.b = addBackend(t, fx.reg, "b", fx.f.URL(), typ, "")
	fx.c = New(fx.reg, Config{
		FailureThreshold:  3,
		RecoveryThreshold: 2,
		Timeout:           2 * time.Second,
		OnChange:          fx.tr.record,
		OnProbe: func(b *registry.Backend, d time.Duration) {
			assert.Equal(t, fx.b, b)
			assert.Positive(t, d)
			fx.probes.Add(1)
		},
	})
	t.Cleanup(fx.c.Close)
	return fx
}

// step sets the fake to fail (503) or succeed and runs one Check.
func (fx *checkFixture) step(t *testing.T, ok bool) Result {
	t.Helper()
	if ok {
		fx.f.fail.Store(0)
	} else {
		fx.f.fail.Store(503)
	}
	res := fx.c.Check(t.Context(), fx.b)
	require.Equal(t, ok, res.OK, "probe result (err %v)", res.Err)
	return res
}

func TestStateMachine(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	steps := []struct {
		ok   bool
		want registry.Status
	}{
		{true, registry.StatusHealthy},    // unknown → healthy on first success
		{false, registry.StatusHealthy},   // 1 failure
		{false, registry.StatusHealthy},   // 2 failures
		{false, registry.StatusUnhealthy}, // 3 failures → unhealthy
		{true, registry.StatusUnhealthy},  // 1 success
		{true, registry.StatusHealthy},    // 2 successes → healthy
	}
	for i, s := range steps {
		fx.step(t, s.ok)
		require.Equal(t, s.want, fx.b.Status(), "after step %d", i)
		if i == 3 {
			assert.Equal(t, "HTTP 503", fx.b.LastError())
		}
	}
	assert.Empty(t, fx.b.LastError(), "recovery clears the error")
	assert.Equal(t, []string{"b:unknown->healthy", "b:healthy->unhealthy", "b:unhealthy->healthy"}, fx.tr.get())
	assert.EqualValues(t, len(steps), fx.probes.Load(), "OnProbe for every answered probe, 503s included")
	assert.Positive(t, fx.b.Latency())
}

func TestStateMachineCountersReset(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	for _, ok := range []bool{true, false, false, true, false, false, true, false, false} {
		fx.step(t, ok)
		require.Equal(t, registry.StatusHealthy, fx.b.Status())
	}
	fx.step(t, false)
	require.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	for _, ok := range []bool{true, false, true, false, true} {
		fx.step(t, ok)
		require.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	}
	fx.step(t, true)
	require.Equal(t, registry.StatusHealthy, fx.b.Status())
}

func TestStateMachineUnknownFailsAtOnce(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.step(t, false)
	assert.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	assert.Equal(t, "HTTP 503", fx.b.LastError())
	assert.Equal(t, []string{"b:unknown->unhealthy"}, fx.tr.get())

	// The checker made it unhealthy: recovery needs two successes.
	fx.step(t, true)
	assert.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	fx.step(t, true)
	assert.Equal(t, registry.StatusHealthy, fx.b.Status())
}

func TestStateMachineExternalUnknown(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.step(t, true)
	// Discovery marks it unknown (service vanished), then it comes back:
	// the checker must not stay stuck on its own idea of the status.
	fx.b.SetStatus(registry.StatusUnknown, "Service disappeared from mDNS")
	fx.step(t, true)
	assert.Equal(t, registry.StatusHealthy, fx.b.Status())
}

func TestPassiveEjectionRecoversOnOneSuccess(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.step(t, true)
	require.Equal(t, registry.StatusHealthy, fx.b.Status())

	// The gateway ejects the backend after request failures.
	fx.b.SetStatus(registry.StatusUnhealthy, "3 consecutive request failures")
	fx.step(t, true)
	assert.Equal(t, registry.StatusHealthy, fx.b.Status())
	assert.Equal(t, []string{"b:unknown->healthy", "b:unhealthy->healthy"}, fx.tr.get())
}

func TestPassiveEjectionAfterAFailedProbe(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.step(t, true)
	fx.step(t, false) // one failed probe: still healthy, success count reset
	require.Equal(t, registry.StatusHealthy, fx.b.Status())
	fx.b.SetStatus(registry.StatusUnhealthy, "passive")
	fx.step(t, true)
	assert.Equal(t, registry.StatusHealthy, fx.b.Status(), "the checker did not eject it: one success restores it")
}

func TestPassiveEjectionConfirmedByProbes(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.step(t, true)
	fx.b.SetStatus(registry.StatusUnhealthy, "passive")
	// The probes agree the backend is down (threshold reached): from now
	// on it is the checker's own ejection and needs the full recovery.
	for range 3 {
		fx.step(t, false)
		require.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	}
	assert.Equal(t, "HTTP 503", fx.b.LastError())
	fx.step(t, true)
	assert.Equal(t, registry.StatusUnhealthy, fx.b.Status())
	fx.step(t, true)
	assert.Equal(t, registry.StatusHealthy, fx.b.Status())
}

func TestDrainingIsNeverChanged(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOpenAI, registry.TypeVLLM, "m")
	fx.b.SetStatus(registry.StatusDraining, "")
	for _, ok := range []bool{true, true, false, false, false, false, true, true} {
		fx.step(t, ok)
		require.Equal(t, registry.StatusDraining, fx.b.Status())
	}
	assert.Empty(t, fx.tr.get())
	assert.Equal(t, []string{"m"}, modelIDs(fx.b.Models()), "models still follow the backend")
}

func TestCheckModels(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOllama, registry.TypeOllama, "llava:7b", "gemma:2b")
	var changes atomic.Int64
	fx.reg.OnChange(func() { changes.Add(1) })

	fx.step(t, true)
	assert.Equal(t, []string{"llava:7b", "gemma:2b"}, modelIDs(fx.b.Models()))
	assert.Equal(t, []*registry.Backend{fx.b}, fx.reg.Lookup("llava:7b"))
	m, ok := fx.b.Model("llava:7b")
	require.True(t, ok)
	assert.Equal(t, registry.CapYes, m.Vision)
	assert.Equal(t, 4096, m.ContextLength)
	require.EqualValues(t, 1, changes.Load())

	// Same list again: the registry is not touched.
	fx.step(t, true)
	assert.EqualValues(t, 1, changes.Load(), "unchanged models must not rebuild the index")

	// Invalid JSON: still a success, models kept.
	fx.f.invalid.Store(true)
	res := fx.step(t, true)
	assert.False(t, res.ModelsParsed)
	assert.Equal(t, []string{"llava:7b", "gemma:2b"}, modelIDs(fx.b.Models()))
	fx.f.invalid.Store(false)

	// A failure keeps the models (the status makes them unroutable).
	fx.step(t, false)
	assert.Equal(t, []string{"llava:7b", "gemma:2b"}, modelIDs(fx.b.Models()))

	// The list changes.
	fx.f.setModels("gemma:2b", "llama3.1:8b")
	fx.step(t, true)
	assert.Equal(t, []string{"gemma:2b", "llama3.1:8b"}, modelIDs(fx.b.Models()))
	assert.Empty(t, fx.reg.Lookup("llava:7b"))
	assert.EqualValues(t, 2, changes.Load())

	// An empty but valid list means the backend really serves nothing.
	fx.f.setModels()
	fx.step(t, true)
	assert.Empty(t, fx.b.Models())
	assert.False(t, fx.reg.HasModel("gemma:2b"))
}

func TestCheckShowCache(t *testing.T) {
	t.Parallel()
	fx := newCheckFixture(t, flavorOllama, registry.TypeOllama, "llava:7b", "gemma:2b", "llama3.1:8b")
	fx.step(t, true)
	require.EqualValues(t, 3, fx.f.shows.Load())

	fx.step(t, true)
	assert.EqualValues(t, 3, fx.f.shows.Load(), "unchanged models are not described again")

	fx.f.setDigest("gemma:2b", "sha256-new")
	fx.step(t, true)
	assert.EqualValues(t, 4, fx.f.shows.Load(), "a changed model is described again")

	// A failed description is retried next time.
	fx.f.setDigest("gemma:2b", "sha256-newer")
	fx.f.showFail.Store(true)
	fx.step(t, true)
	fx.f.showFail.Store(false)
	fx.step(t, true)
	assert.EqualValues(t, 6, fx.f.shows.Load())
	m, ok := fx.b.Model("gemma:2b")
	require.True(t, ok)
	assert.Equal(t, 2048, m.ContextLength)
}

func TestShowConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	models := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	fx := newCheckFixture(t, flavorOllama, registry.TypeOllama, models...)
	fx.f.showDelay.Store(int64(30 * time.Millisecond))
	fx.step(t, true)
	assert.EqualValues(t, len(models), fx.f.shows.Load())
	assert.LessOrEqual(t, fx.f.maxShow.Load(), int64(showConcurrency))
	assert.Greater(t, fx.f.maxShow.Load(), int64(1), "descriptions run concurrently")
	for _, m := range fx.b.Models() {
		assert.Equal(t, 2048, m.ContextLength, m.ID)
	}
}

func TestOnProbeNotCalledWithoutAnswer(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	b := addBackend(t, reg, "gone", closedURL(t), registry.TypeGeneric, "")
	var probes atomic.Int64
	c := New(reg, Config{OnProbe: func(*registry.Backend, time.Duration) { probes.Add(1) }})
	t.Cleanup(c.Close)
	res := c.Check(t.Context(), b)
	require.ErrorIs(t, res.Err, ErrConnection)
	assert.Zero(t, probes.Load())
	assert.Zero(t, b.Latency())
	assert.Equal(t, registry.StatusUnhealthy, b.Status())
	assert.Contains(t, b.LastError(), "connection failed: ")
}
