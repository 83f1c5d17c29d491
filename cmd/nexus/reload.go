package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/nexusllm/nexus"
)

// reloadDebounce is how long the config file's directory must be quiet
// before a change is read: editors write a file in several steps (write a
// temporary file, rename it over the old one) and a Kubernetes ConfigMap
// update swaps a symlink, each a burst of events.
const reloadDebounce = 250 * time.Millisecond

// reloadTriggers are what makes `nexus serve` read its configuration again.
type reloadTriggers struct {
	// hup delivers SIGHUP; nil means none.
	hup <-chan os.Signal
	// path is the config file to watch; "" means no watch.
	path string
	// reload reads the configuration again and applies it; trigger is
	// "signal" or "file". Its errors are logged by the gateway.
	reload func(trigger string)
	log    *slog.Logger
	// debounce is the quiet time before a file change is read; zero means
	// reloadDebounce.
	debounce time.Duration

	w    *fsnotify.Watcher // set by start; nil when not watching
	last [sha256.Size]byte // the file's content at the last reload
}

// start sets up the watch of the config file's directory (so an editor's
// rename-and-replace save and a symlink swap such as a ConfigMap's
// "..data" link are seen like a plain write) and notes the file's content.
// A watch that cannot be set up is logged; SIGHUP keeps working. Call loop
// next, which owns the watch from then on.
func (t *reloadTriggers) start() {
	t.last = fileSum(t.path)
	if t.path == "" {
		return
	}
	w, err := t.watch()
	if err != nil {
		t.log.Warn("config file is not watched; reload it with SIGHUP or POST /v1/admin/reload", "path", t.path, "error", err)
		return
	}
	t.w = w
}

// loop serves the triggers until ctx is done. After each burst of file
// events and a quiet debounce, the file is resolved and read again, and a
// reload happens only when its content changed.
func (t *reloadTriggers) loop(ctx context.Context) {
	debounce := t.debounce
	if debounce <= 0 {
		debounce = reloadDebounce
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if t.w != nil {
		defer t.w.Close()
		events, errs = t.w.Events, t.w.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.hup:
			t.log.Info("SIGHUP: reloading the configuration", "path", t.path)
			t.last = fileSum(t.path)
			t.reload("signal")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			t.log.Debug("config directory changed", "event", ev.String())
			timer.Reset(debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			t.log.Warn("watching the config file", "path", t.path, "error", err)
		case <-timer.C:
			t.followLink(t.w)
			sum := fileSum(t.path)
			if sum == t.last || sum == ([sha256.Size]byte{}) {
				continue // unchanged, or gone for now (mid-swap): wait for the next event
			}
			t.last = sum
			t.log.Info("config file changed: reloading the configuration", "path", t.path)
			t.reload("file")
		}
	}
}

// watch watches the directory of the config file and, when the file is
// a symlink, the directory of the file it points to (so a write through
// the link is seen too).
func (t *reloadTriggers) watch() (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(filepath.Dir(t.path)); err != nil {
		w.Close()
		return nil, err
	}
	t.followLink(w)
	return w, nil
}

// followLink adds the directory of the file the config path resolves to
// now, after a symlink swap for example. Directories gone since leave the
// watch list by themselves.
func (t *reloadTriggers) followLink(w *fsnotify.Watcher) {
	if w == nil {
		return
	}
	real, err := filepath.EvalSymlinks(t.path)
	if err != nil {
		return
	}
	dir := filepath.Dir(real)
	if dir == filepath.Dir(t.path) || slices.Contains(w.WatchList(), dir) {
		return
	}
	if err := w.Add(dir); err != nil {
		t.log.Debug("watching the directory the config file links to", "dir", dir, "error", err)
	}
}

// fileSum is the SHA-256 of the file at path, following symlinks; zero
// when it cannot be read.
func fileSum(path string) [sha256.Size]byte {
	if path == "" {
		return [sha256.Size]byte{}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(data)
}

// startReloads runs the reload triggers of serve (SIGHUP and the watch of
// src.path) until ctx is done or the returned stop is called; stop waits
// for them to end.
func startReloads(ctx context.Context, gw *nexus.Gateway, log *slog.Logger, src *reloadSource) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t := &reloadTriggers{hup: hup, path: src.path, log: log, reload: func(trigger string) {
		_, _ = gw.ReloadFromSource(trigger) // the gateway logs, counts and keeps the outcome
	}}
	t.start() // watching before serve answers its first request
	go func() {
		defer close(done)
		t.loop(ctx)
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
