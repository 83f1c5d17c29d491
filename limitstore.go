package nexus

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/metric"

	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/metrics"
)

// Metric names of the shared limit store, registered on the gateway's
// metrics when [limits] store = "redis".
const (
	metricLimitStoreUp       = "nexus_limits_store_up"
	metricLimitStoreOutages  = "nexus_limits_store_outages_total"
	metricLimitLocalDecision = "nexus_limits_local_decisions_total"
)

// WithLimitStore makes the gateway keep its keys' request and token budgets
// in the Store newStore returns (called once with one limits.Limit per key,
// in key order) instead of the one [limits] configures; for example
// limits.NewRedis(client, cfg).Store, with a Redis client of the
// embedder's own. The caller owns and closes what newStore uses. nil means
// the configured store.
func WithLimitStore(newStore func([]limits.Limit) (limits.Store, error)) Option {
	return func(o *options) { o.limitStore = newStore }
}

// sharedLimits is where a gateway's per-key budgets are kept when they are
// not in the keyring's own memory. A nil *sharedLimits (the default, store
// = "memory") adds no keyring option and closes nothing.
type sharedLimits struct {
	newStore func([]limits.Limit) (limits.Store, error)
	redis    *limits.Redis       // opened from [limits]; nil for WithLimitStore
	reg      metric.Registration // its metrics; nil until observe
}

// openSharedLimits returns the store cfg's [limits] section asks for, or
// override when set. With store = "redis" it opens a client (no connection
// is made before the first request).
func openSharedLimits(c LimitsConfig, override func([]limits.Limit) (limits.Store, error), log *slog.Logger) (*sharedLimits, error) {
	if override != nil {
		return &sharedLimits{newStore: override}, nil
	}
	if c.Store != LimitStoreRedis {
		return nil, nil
	}
	r, err := limits.OpenRedis(c.RedisURL, limits.RedisConfig{
		Prefix:        c.RedisKeyPrefix,
		Timeout:       c.RedisTimeout,
		ProbeInterval: c.RedisProbeInterval,
		Logger:        log.With(logging.ComponentKey, "limits"),
	})
	if err != nil {
		return nil, errors.New("nexus: limits.redis_url: " + err.Error())
	}
	return &sharedLimits{newStore: r.Store, redis: r}, nil
}

// options returns the keyring options that put the budgets in the store;
// none for nil. A keyring rebuilt on reload must get them too.
func (s *sharedLimits) options() []limits.Option {
	if s == nil {
		return nil
	}
	return []limits.Option{limits.WithStore(s.newStore)}
}

// observe registers the Redis store's state on m: nexus_limits_store_up (1
// while Redis answers, 0 while each gateway counts on its own),
// nexus_limits_store_outages_total and nexus_limits_local_decisions_total.
// A failure only loses these metrics; it is logged.
func (s *sharedLimits) observe(m *metrics.Metrics, log *slog.Logger) {
	if s == nil || s.redis == nil || m.MeterProvider() == nil {
		return
	}
	if err := s.register(m); err != nil {
		log.Warn("limits: cannot register the shared store's metrics", "error", err)
	}
}

func (s *sharedLimits) register(m *metrics.Metrics) error {
	meter := m.MeterProvider().Meter("github.com/nexusllm/nexus/limits")
	up, err1 := meter.Int64ObservableGauge(metricLimitStoreUp, metric.WithDescription(
		"1 while the shared per-key limit store (Redis) answers; 0 while each gateway enforces per-key limits on its own."))
	outages, err2 := meter.Int64ObservableCounter(metricLimitStoreOutages, metric.WithDescription(
		"Times the shared per-key limit store (Redis) stopped answering."))
	local, err3 := meter.Int64ObservableCounter(metricLimitLocalDecision, metric.WithDescription(
		"Per-key limit decisions taken by this gateway alone because the shared store (Redis) did not answer."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	r := s.redis
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		shared := int64(0)
		if r.Shared() {
			shared = 1
		}
		o.ObserveInt64(up, shared)
		o.ObserveInt64(outages, r.Outages())
		o.ObserveInt64(local, r.LocalDecisions())
		return nil
	}, up, outages, local)
	if err != nil {
		return err
	}
	s.reg = reg
	return nil
}

// Close unregisters the metrics and closes the Redis store it opened.
func (s *sharedLimits) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	if s.reg != nil {
		errs = append(errs, s.reg.Unregister())
	}
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
	}
	return errors.Join(errs...)
}
