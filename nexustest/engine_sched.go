package nexustest

import (
	"context"
	"slices"
	"sync/atomic"
	"time"
)

// engineSlot is one decoding slot. Fields other than decoded are guarded by
// Engine.mu.
type engineSlot struct {
	id      int
	busy    bool
	task    int64 // current or last task; -1 before the first
	model   string
	prompt  int // prompt tokens of the current task
	remain  int // tokens still to decode when the task began decoding
	decoded atomic.Int64
}

// engineWaiter is a request waiting in the FIFO queue for a slot.
type engineWaiter struct {
	ready chan struct{} // closed when slot is set
	slot  *engineSlot
}

func (e *Engine) initSlots() {
	e.slots = make([]*engineSlot, e.cfg.Slots)
	for i := range e.slots {
		e.slots[i] = &engineSlot{id: i, task: -1}
	}
}

// acquire waits in FIFO order for a free slot. It returns nil if ctx ends
// first, having left the queue.
func (e *Engine) acquire(ctx context.Context) *engineSlot {
	e.mu.Lock()
	if len(e.queue) == 0 {
		if s := e.freeSlot(); s != nil {
			e.grant(s)
			e.mu.Unlock()
			return s
		}
	}
	w := &engineWaiter{ready: make(chan struct{})}
	e.queue = append(e.queue, w)
	e.st.maxWaiting = max(e.st.maxWaiting, len(e.queue))
	e.mu.Unlock()

	select {
	case <-w.ready:
		return w.slot
	case <-ctx.Done():
	}
	e.mu.Lock()
	if s := w.slot; s != nil {
		// Granted while the client left: pass the slot on at once.
		e.mu.Unlock()
		e.release(s)
		return nil
	}
	if i := slices.Index(e.queue, w); i >= 0 {
		e.queue = slices.Delete(e.queue, i, i+1)
	}
	e.mu.Unlock()
	return nil
}

// freeSlot returns the lowest-numbered idle slot, or nil. e.mu is held.
func (e *Engine) freeSlot() *engineSlot {
	for _, s := range e.slots {
		if !s.busy {
			return s
		}
	}
	return nil
}

// grant marks s busy with a new task. e.mu is held.
func (e *Engine) grant(s *engineSlot) {
	s.busy = true
	s.task = e.tasks
	e.tasks++
	s.model, s.prompt, s.remain = "", 0, 0
	s.decoded.Store(0)
	e.busy++
	e.st.maxRunning = max(e.st.maxRunning, e.busy)
}

// release frees s, handing it straight to the head of the queue if anyone
// waits.
func (e *Engine) release(s *engineSlot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.busy = false
	e.busy--
	if len(e.queue) == 0 {
		return
	}
	w := e.queue[0]
	e.queue = slices.Delete(e.queue, 0, 1)
	e.grant(s)
	w.slot = s
	close(w.ready)
}

// engineModel is the residency of one model. Guarded by Engine.mu.
type engineModel struct {
	name     string
	loaded   bool
	loading  chan struct{} // non-nil while a load runs; closed when it ends
	users    int           // requests using the model now
	lastUsed uint64        // Engine.tick at last use
	usedAt   time.Time     // wall time of last use (for Ollama's expires_at)
}

func (e *Engine) initModels() {
	preload := e.cfg.LoadTime == 0 && e.cfg.MaxLoaded == 0
	for _, name := range e.cfg.Models {
		if _, dup := e.models[name]; dup {
			continue
		}
		e.order = append(e.order, name)
		e.models[name] = &engineModel{name: name, loaded: preload, usedAt: e.started}
	}
}

// useModel makes the model resident, loading it (and evicting others) when
// it is not, and counts the request as one of its users. cold reports that
// this request paid for a load. ok is false if ctx ended first.
func (e *Engine) useModel(ctx context.Context, name string) (cold, ok bool) {
	for {
		e.mu.Lock()
		m := e.models[name]
		if m.loaded {
			e.touch(m)
			m.users++
			e.mu.Unlock()
			return false, true
		}
		if ch := m.loading; ch != nil {
			// Someone else is loading it: wait for that load, then look
			// again (it may have been abandoned).
			e.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return false, false
			}
		}
		e.evictFor(m)
		ch := make(chan struct{})
		m.loading = ch
		e.mu.Unlock()

		done := engineSleep(ctx, nil, e.cfg.scaled(e.cfg.LoadTime))

		e.mu.Lock()
		m.loading = nil
		close(ch)
		if done {
			m.loaded = true
			m.users++
			e.touch(m)
			e.st.coldLoads++
			e.st.loadTime += e.cfg.LoadTime
		}
		e.mu.Unlock()
		return done, done
	}
}

// doneModel ends one use of a model.
func (e *Engine) doneModel(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.models[name]
	m.users--
	e.touch(m)
}

// touch marks m as just used. e.mu is held.
func (e *Engine) touch(m *engineModel) {
	e.tick++
	m.lastUsed = e.tick
	m.usedAt = time.Now()
}

// evictFor unloads models until m fits under MaxLoaded: the least recently
// used idle model first, else the least recently used busy one (its
// requests go on; the simulation does not cut them). e.mu is held.
func (e *Engine) evictFor(m *engineModel) {
	if e.cfg.MaxLoaded == 0 {
		return
	}
	for {
		resident := 0
		var idle, any *engineModel
		for _, name := range e.order {
			o := e.models[name]
			if o == m || (!o.loaded && o.loading == nil) {
				continue
			}
			resident++
			if !o.loaded {
				continue // a load in progress cannot be evicted
			}
			if any == nil || o.lastUsed < any.lastUsed {
				any = o
			}
			if o.users == 0 && (idle == nil || o.lastUsed < idle.lastUsed) {
				idle = o
			}
		}
		if resident < e.cfg.MaxLoaded {
			return
		}
		victim := idle
		if victim == nil {
			victim = any
		}
		if victim == nil {
			return // only loads in progress: let them overlap
		}
		victim.loaded = false
		e.st.evictions++
	}
}

// engineSleep waits d, or less if ctx ends first, and reports whether the
// full wait elapsed. A non-nil timer is reused instead of allocating one.
func engineSleep(ctx context.Context, t *time.Timer, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if t == nil {
		t = time.NewTimer(d)
		defer t.Stop()
	} else {
		t.Reset(d)
	}
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}
