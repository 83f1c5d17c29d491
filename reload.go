package nexus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// Live reload. Reload applies a new Config to a running gateway: the
// difference between the backends of the previous configuration and the
// new one (added, removed, changed), the routing section (strategy,
// weights, retries, aliases, fallbacks: a new router swapped in whole) and
// the inbound keys with their limits (a new authenticator swapped in
// whole). Everything is built and checked before anything changes, so an
// invalid configuration changes nothing.
//
// Backends added at run time through the admin API (source manual) or
// discovered (mdns) are kept, unless the new file names a backend the same:
// then the file's wins. A backend removed through the admin API and left
// unchanged in the file stays removed: a reload applies what the file
// changed, not the whole file.
//
// Settings read once at start (listen address, timeouts, concurrency and
// upload bounds, health checking, discovery, logging) keep their value;
// the result names those that differ, and the gateway logs a warning.

// ErrNoConfigLoader is returned by ReloadFromSource when the gateway was
// built without WithConfigLoader.
var ErrNoConfigLoader = errors.New("nexus: no configuration loader (WithConfigLoader) to reload from")

// ReloadResult says what one reload did; GET /v1/admin/reload shows the
// last one.
type ReloadResult struct {
	// Time is when the reload finished.
	Time time.Time `json:"time"`
	// Trigger is what asked for it: "api" (POST /v1/admin/reload), or
	// whatever the caller of ReloadFromSource named ("signal", "file");
	// empty for a direct call of Reload.
	Trigger string `json:"trigger,omitempty"`
	// Success is false when the configuration was not applied; Error then
	// says why, starting with the key concerned, and nothing changed.
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
	// Added, Removed and Changed name the backends of the file that were
	// added, removed, and replaced by a changed version (sorted; empty
	// when none).
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
	// RoutingChanged and KeysChanged say whether a new router and new
	// inbound keys were swapped in.
	RoutingChanged bool `json:"routing_changed"`
	KeysChanged    bool `json:"keys_changed"`
	// RestartRequired names the keys that differ from the running
	// configuration but only take effect after a restart (for example
	// "server.port").
	RestartRequired []string `json:"restart_required,omitempty"`
	// Warnings are the loader's (such as unknown keys).
	Warnings []string `json:"warnings,omitempty"`
}

// WithConfigLoader sets how the gateway reads its configuration again for
// POST /v1/admin/reload and ReloadFromSource: `nexus serve` passes a
// function reading the file, the environment and its flags as at start.
// The warnings it returns are logged. Without a loader the endpoint
// answers 501, and only Reload applies a new configuration.
func WithConfigLoader(load func() (Config, []string, error)) Option {
	return func(o *options) { o.loader = load }
}

// reloadState is the gateway's live-reload bookkeeping.
type reloadState struct {
	load     func() (Config, []string, error) // nil: no loader
	strategy routing.Strategy                 // WithStrategy's, kept across reloads; nil: from the config

	mu   sync.Mutex // serialises reloads; guards cur and last
	cur  Config     // the configuration applied last
	last *ReloadResult
}

// newRouter builds the router of c over reg; strategy, when not nil,
// replaces the one c names.
func (c Config) newRouter(reg *registry.Registry, strategy routing.Strategy) (*routing.Router, error) {
	if strategy == nil {
		w := routing.Weights{Priority: c.Routing.Weights.Priority, Load: c.Routing.Weights.Load, Latency: c.Routing.Weights.Latency}
		s, err := routing.ParseStrategy(c.Routing.Strategy, w)
		if err != nil {
			return nil, fmt.Errorf("nexus: routing.strategy: %w", err)
		}
		strategy = s
	}
	router, err := routing.New(reg, routing.Config{
		Strategy:   strategy,
		MaxRetries: c.Routing.MaxRetries,
		Aliases:    c.Routing.Aliases,
		Fallbacks:  c.Routing.Fallbacks,
		Signals:    c.routingSignals(), // fleet.go
		Affinity:   c.Routing.Affinity,
	})
	if err != nil {
		return nil, fmt.Errorf("nexus: %w", err)
	}
	return router, nil
}

// LastReload returns the result of the last reload; ok is false before
// the first.
func (g *Gateway) LastReload() (r ReloadResult, ok bool) {
	g.reload.mu.Lock()
	defer g.reload.mu.Unlock()
	if g.reload.last == nil {
		return ReloadResult{}, false
	}
	return *g.reload.last, true
}

// ReloadFromSource reads the configuration with the loader given to
// WithConfigLoader and applies it with Reload. trigger names what asked
// for the reload in the result and the log. A configuration that cannot
// be read or is invalid changes nothing; the error is logged, counted and
// kept as the last result. Without a loader it returns ErrNoConfigLoader.
func (g *Gateway) ReloadFromSource(trigger string) (ReloadResult, error) {
	if g.reload.load == nil {
		return ReloadResult{}, ErrNoConfigLoader
	}
	g.reload.mu.Lock()
	defer g.reload.mu.Unlock()
	cfg, warnings, err := g.reload.load()
	if err != nil {
		return g.failReload(trigger, warnings, err)
	}
	return g.applyReload(cfg, trigger, warnings)
}

// Reload applies cfg to the running gateway (see the package comment of
// reload.go, summarised in README "Live reload"): backends of the previous
// configuration added, removed or replaced, a new router and new inbound
// keys swapped in. cfg is validated first; when it is invalid nothing
// changes and the error names the key. Each reload is counted in the
// metrics (success or failure) and kept as the last result. Reloads are
// serialised; requests and streams in flight are not disturbed.
func (g *Gateway) Reload(cfg Config) (ReloadResult, error) {
	g.reload.mu.Lock()
	defer g.reload.mu.Unlock()
	return g.applyReload(cfg, "", nil)
}

// failReload records a reload that changed nothing. g.reload.mu is held.
func (g *Gateway) failReload(trigger string, warnings []string, err error) (ReloadResult, error) {
	res := ReloadResult{Time: time.Now(), Trigger: trigger, Error: err.Error(), Warnings: warnings,
		Added: []string{}, Removed: []string{}, Changed: []string{}}
	g.reload.last = &res
	g.metrics.RecordReload(context.Background(), err)
	g.log.Error("configuration not reloaded: nothing changed", "trigger", trigger, "error", err)
	return res, err
}

// reloadPlan is everything a reload will change, built before any change.
type reloadPlan struct {
	put     []registry.Config // added or changed backends, ready to register
	early   []string          // ids removed with the additions (runtime backends the file now owns)
	late    []string          // ids removed after the router swap (backends gone from the file)
	router  *routing.Router   // nil: routing unchanged
	auth    *authenticator
	keys    *limits.Keyring
	newKeys bool
}

// applyReload validates, plans and applies cfg. g.reload.mu is held.
func (g *Gateway) applyReload(cfg Config, trigger string, warnings []string) (ReloadResult, error) {
	for _, w := range warnings {
		g.log.Warn("configuration: "+w, "trigger", trigger)
	}
	if err := cfg.Validate(); err != nil {
		return g.failReload(trigger, warnings, err)
	}
	old := g.reload.cur
	res := ReloadResult{Trigger: trigger, Success: true, Warnings: warnings}
	var plan reloadPlan
	if !reflect.DeepEqual(old.Routing, cfg.Routing) {
		r, err := cfg.newRouter(g.reg, g.reload.strategy)
		if err != nil {
			return g.failReload(trigger, warnings, err)
		}
		plan.router, res.RoutingChanged = r, true
	}
	if !reflect.DeepEqual(old.Keys, cfg.Keys) || !slices.Equal(old.Server.APIKeys, cfg.Server.APIKeys) {
		keys, err := cfg.keyring(g.shared.options()...) // the same store (limitstore.go)
		if err != nil {
			return g.failReload(trigger, warnings, err)
		}
		plan.keys, plan.auth, plan.newKeys, res.KeysChanged = keys, newAuthenticator(keys, cfg.secrets()), true, true
	}
	res.Added, res.Removed, res.Changed = g.planBackends(old.Backends, cfg.Backends, &plan)
	res.RestartRequired = restartKeys(old, cfg)

	// Apply: additions and changes first (probed already, so usable at
	// once), then the new routing, then removals, so that a request never
	// finds an alias pointing at a model no backend serves yet or any more.
	if len(plan.put) > 0 || len(plan.early) > 0 {
		if _, err := g.reg.Apply(g.present(plan.early), plan.put); err != nil {
			return g.failReload(trigger, warnings, fmt.Errorf("backends: %w", err))
		}
	}
	if plan.router != nil {
		g.router.Store(plan.router)
		g.metrics.SetKnownModels(plan.router.KnownModels())
	}
	if plan.newKeys {
		g.auth.Store(plan.auth)
		g.metrics.SetKnownKeys(plan.keys.Names())
	}
	if ids := g.present(plan.late); len(ids) > 0 {
		if _, err := g.reg.Apply(ids, nil); err != nil {
			g.log.Warn("reload: removing backends", "error", err) // removed concurrently
		}
	}
	g.reload.cur = cfg
	res.Time = time.Now()
	g.reload.last = &res
	g.metrics.RecordReload(context.Background(), nil)
	g.log.Info("configuration reloaded", "trigger", trigger, "added", res.Added, "removed", res.Removed,
		"changed", res.Changed, "routing_changed", res.RoutingChanged, "keys_changed", res.KeysChanged)
	if len(res.RestartRequired) > 0 {
		g.log.Warn("configuration reloaded, but these settings only change on restart", "keys", res.RestartRequired)
	}
	return res, nil
}

// present returns the ids still registered.
func (g *Gateway) present(ids []string) []string {
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := g.reg.Get(id); ok {
			out = append(out, id)
		}
	}
	return out
}

// planBackends compares the file's backends before and after and fills
// plan: added and changed backends as registry Configs (probed first when
// their models are not listed, so they are usable from the moment they
// appear), runtime backends the file now names (replaced, or removed when
// they serve the URL of a file backend), and removed ones.
func (g *Gateway) planBackends(before, after []BackendConfig, plan *reloadPlan) (added, removed, changed []string) {
	added, removed, changed = []string{}, []string{}, []string{}
	prev := make(map[string]BackendConfig, len(before))
	for _, bc := range before {
		prev[bc.Name] = bc
	}
	next := make(map[string]bool, len(after))
	var probe []int // indexes into plan.put
	urls := map[string]bool{}
	for _, bc := range after {
		next[bc.Name] = true
		urls[registry.NormalizeURL(bc.URL)] = true
		p, existed := prev[bc.Name]
		cur, registered := g.reg.Get(bc.Name)
		switch {
		case existed && reflect.DeepEqual(p, bc) && (!registered || cur.Source == registry.SourceStatic):
			continue // unchanged (or removed through the admin API: stays so)
		case existed && registered && cur.Source == registry.SourceStatic:
			changed = append(changed, bc.Name)
		default:
			added = append(added, bc.Name)
		}
		rc := backendFromConfig(bc)
		switch {
		case len(rc.Models) > 0:
			// Listed models make it usable at once (as at start).
		case registered && cur.URL == registry.NormalizeURL(bc.URL) && cur.Type == rc.Type && cur.APIKey() == rc.APIKey:
			// The same server: keep what the probes know about it.
			rc.Models, rc.Status = cur.Models(), cur.Status()
		default:
			probe = append(probe, len(plan.put))
		}
		plan.put = append(plan.put, rc)
	}
	for _, bc := range before {
		if next[bc.Name] {
			continue
		}
		if cur, ok := g.reg.Get(bc.Name); ok && cur.Source == registry.SourceStatic {
			removed = append(removed, bc.Name)
			plan.late = append(plan.late, bc.Name)
		}
	}
	// A discovered backend at the URL of a file backend gives way to it.
	for _, b := range g.reg.Backends() {
		if b.Source == registry.SourceMDNS && urls[b.URL] && !next[b.ID] {
			plan.early = append(plan.early, b.ID)
		}
	}
	g.probeAll(plan.put, probe)
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// probeAll probes the backends put[i] for i in idx at once, each on a
// scratch registry so that nothing is visible yet, and stores what the
// probe found (status, models) in put[i].
func (g *Gateway) probeAll(put []registry.Config, idx []int) {
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() {
			scratch := registry.New()
			b, err := scratch.Add(put[i])
			if err != nil {
				return // Apply reports it
			}
			res := g.checker.Check(context.Background(), b)
			if res.OK && res.ModelsParsed {
				put[i].Models = res.Models
			}
			put[i].Status = b.Status()
		})
	}
	wg.Wait()
}

// liveKeys are the keys Reload applies; every other key that differs is
// named in ReloadResult.RestartRequired. A section listed whole ("keys")
// is live in all its keys.
var liveKeys = map[string]bool{
	"backends": true, "keys": true, "server.api_keys": true,
	"routing.strategy": true, "routing.max_retries": true, "routing.weights": true,
	"routing.aliases": true, "routing.fallbacks": true,
}

// restartKeys names the settings that differ between old and cfg but are
// read only at start ("server.port", "logging.level", ...), sorted.
func restartKeys(old, cfg Config) []string {
	var keys []string
	a, b := reflect.ValueOf(old), reflect.ValueOf(cfg)
	for i := range a.NumField() {
		section := tomlName(a.Type().Field(i))
		if section == "" || liveKeys[section] {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		if fa.Kind() != reflect.Struct {
			if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
				keys = append(keys, section)
			}
			continue
		}
		for j := range fa.NumField() {
			key := tomlName(fa.Type().Field(j))
			if key == "" || liveKeys[section+"."+key] {
				continue
			}
			if !reflect.DeepEqual(fa.Field(j).Interface(), fb.Field(j).Interface()) {
				keys = append(keys, section+"."+key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// tomlName is a struct field's key in nexus.toml; "" for none.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// handleReload serves POST /v1/admin/reload: read the configuration again
// and apply it. 200 with the ReloadResult; 422 when the configuration is
// invalid (nothing changed; the message names the key); 501 when the
// gateway has no loader (an embedder applies configurations with Reload).
func (g *Gateway) handleReload(w http.ResponseWriter, r *http.Request) {
	res, err := g.ReloadFromSource("api")
	switch {
	case errors.Is(err, ErrNoConfigLoader):
		openai.WriteError(w, http.StatusNotImplemented,
			"This gateway has no configuration file to reload; the program embedding it applies configurations with Gateway.Reload.",
			openai.TypeInvalidRequest, "", "reload_unavailable")
	case err != nil:
		openai.WriteError(w, http.StatusUnprocessableEntity, "Configuration not reloaded, nothing changed: "+err.Error(),
			openai.TypeInvalidRequest, "", "invalid_config")
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// handleLastReload serves GET /v1/admin/reload: the last reload's result,
// or 404 before the first.
func (g *Gateway) handleLastReload(w http.ResponseWriter, r *http.Request) {
	res, ok := g.LastReload()
	if !ok {
		openai.WriteError(w, http.StatusNotFound, "No reload has happened since the gateway started.",
			openai.TypeInvalidRequest, "", "no_reload")
		return
	}
	writeJSON(w, http.StatusOK, res)
}
