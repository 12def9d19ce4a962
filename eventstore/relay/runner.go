package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// Config tunes delivery. Zero values take the defaults named per field.
type Config struct {
	// BatchSize is how many events a subscriber reads per transaction (default 100).
	BatchSize int
	// PollInterval is the safety-net poll when no wake-up arrives (default 1s).
	PollInterval time.Duration
	// RetryInterval is the wait after a failed batch query (default 1s).
	RetryInterval time.Duration
	// DeadLetterAfter is how many attempts a failing event gets before it is
	// dead-lettered (default 5).
	DeadLetterAfter int
	// RetryBackoff is the first wait between attempts; it doubles, capped at
	// 250ms (default 10ms).
	RetryBackoff time.Duration
	// StatusInterval is how often the lag and dead-letter gauges are refreshed (default 5s).
	StatusInterval time.Duration
	// Wake is the wake-up signal subscribers wait on (default: a new one).
	// Share it with whatever learns of commits: eventstore Options.OnCommit,
	// the NOTIFY listener, Follow.
	Wake *Signal
}

func (c *Config) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	if c.DeadLetterAfter <= 0 {
		c.DeadLetterAfter = 5
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 10 * time.Millisecond
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 5 * time.Second
	}
	if c.Wake == nil {
		c.Wake = NewSignal()
	}
}

func (c Config) policy() deliveryPolicy {
	return deliveryPolicy{attempts: c.DeadLetterAfter, backoff: c.RetryBackoff}
}

// Metrics are the consumer metrics of CONTRACT.md. Build them once per
// registry with NewMetrics and share them between Runner and Replayer.
type Metrics struct {
	Position    *prometheus.GaugeVec
	LagEvents   *prometheus.GaugeVec
	LagSeconds  *prometheus.GaugeVec
	Errors      *prometheus.CounterVec
	DeadLetters *prometheus.GaugeVec
}

// NewMetrics creates the consumer metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Position:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rustok_consumer_position", Help: "Last log position processed by the consumer."}, []string{"consumer"}),
		LagEvents:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rustok_consumer_lag_events", Help: "Events in the log not yet processed by the consumer."}, []string{"consumer"}),
		LagSeconds:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rustok_consumer_lag_seconds", Help: "Age of the oldest event the consumer has not processed."}, []string{"consumer"}),
		Errors:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rustok_consumer_errors_total", Help: "Handler failures (each failed attempt)."}, []string{"consumer"}),
		DeadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rustok_consumer_dead_letters", Help: "Unresolved dead letters of the consumer."}, []string{"consumer"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Position, m.LagEvents, m.LagSeconds, m.Errors, m.DeadLetters} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register consumer metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Runner runs every consumer as a Watermill consumer group until its context ends.
type Runner struct {
	db        *database.DB
	store     *eventstore.Store
	consumers []Consumer
	cfg       Config
	logger    *slog.Logger
	metrics   *Metrics
	wake      *Signal
	progress  *Signal
	running   chan struct{}
	started   atomic.Bool
	healthy   atomic.Bool
	// statuses holds the latest refreshGauges result, for readiness checks.
	statuses atomic.Pointer[[]Status]
}

// NewRunner checks the consumers (unique valid names) and returns a Runner.
// metrics may be nil (no metrics).
func NewRunner(store *eventstore.Store, consumers []Consumer, cfg Config, logger *slog.Logger, metrics *Metrics) (*Runner, error) {
	cfg.setDefaults()
	if err := validateConsumers(consumers); err != nil {
		return nil, err
	}
	if metrics == nil {
		var err error
		if metrics, err = NewMetrics(nil); err != nil {
			return nil, err
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		db: store.DB(), store: store, consumers: consumers, cfg: cfg, logger: logger, metrics: metrics,
		wake: cfg.Wake, progress: NewSignal(), running: make(chan struct{}),
	}, nil
}

func validateConsumers(cs []Consumer) error {
	seen := map[string]bool{}
	for _, c := range cs {
		if err := c.validate(); err != nil {
			return err
		}
		if seen[c.Name] {
			return fmt.Errorf("consumer %s is defined twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// Wake tells idle subscribers that new events were committed. Safe to call
// from any goroutine, e.g. eventstore Options.OnCommit or a NOTIFY listener.
func (r *Runner) Wake() { r.wake.Notify() }

// Progress is signalled after every committed consumer batch in this process.
func (r *Runner) Progress() *Signal { return r.progress }

// Running is closed once every consumer is subscribed.
func (r *Runner) Running() <-chan struct{} { return r.running }

// Healthy reports whether the router is running.
func (r *Runner) Healthy() bool { return r.healthy.Load() }

// Run delivers events until ctx ends, then stops the router (in-flight batches
// finish or roll back) and returns nil. It returns an error if it cannot
// start, unless ctx ended meanwhile (a stop during the start is a stop).
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("relay runner already started")
	}
	wmLogger := watermill.NewSlogLoggerWithLevelMapping(r.logger.With("component", "relay"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, // watermill's info lines are per-subscriber chatter
	})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wmLogger)
	if err != nil {
		return fmt.Errorf("relay: new router: %w", err)
	}
	schema, offsets := adapters(r.db.Dialect(), r.cfg.BatchSize)
	for _, c := range r.consumers {
		c := c
		var last atomic.Int64
		a := newApplier(c, r.store, r.cfg.policy(), r.logger, r.metrics.Errors.WithLabelValues(c.Name), time.Now)
		b := beginner{db: r.db, group: c.Name, flush: a.flusher(func(e eventstore.Event) { last.Store(e.Position) }), onCommit: func() {
			if p := last.Load(); p > 0 {
				r.metrics.Position.WithLabelValues(c.Name).Set(float64(p))
			}
			r.progress.Notify()
		}}
		sub, err := wmsql.NewSubscriber(b, wmsql.SubscriberConfig{
			ConsumerGroup:  c.Name,
			SchemaAdapter:  schema,
			OffsetsAdapter: offsets,
			BackoffManager: &wakeBackoff{wake: r.wake, done: ctx.Done(), pollInterval: r.cfg.PollInterval, retryInterval: r.cfg.RetryInterval},
			PollInterval:   r.cfg.PollInterval,
			RetryInterval:  r.cfg.RetryInterval,
			ResendInterval: 100 * time.Millisecond,
		}, wmLogger)
		if err != nil {
			return fmt.Errorf("relay: subscriber %s: %w", c.Name, err)
		}
		router.AddConsumerHandler(c.Name, Topic, sub, a.messageHandler())
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	statusCtx, stopStatus := context.WithCancel(ctx)
	defer stopStatus()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.refreshGauges(statusCtx)
	}()
	go func() {
		<-router.Running()
		r.healthy.Store(true)
		close(r.running)
	}()
	r.logger.Info("relay starting", "consumers", len(r.consumers), "dialect", r.db.Dialect())
	err = router.Run(ctx)
	r.healthy.Store(false)
	if err != nil && ctx.Err() != nil {
		// Stopped while subscribing (a stop right after the start): the
		// subscriber's error is the stop's doing, whatever its words
		// ("transaction has already been committed or rolled back").
		r.logger.Info("relay stopped while starting", "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	r.logger.Info("relay stopped")
	return nil
}

// LastStatuses returns the consumer statuses of the latest refresh (every
// Config.StatusInterval, the first at start), and false before the first one.
// Readiness checks use it instead of counting the lag on every probe.
func (r *Runner) LastStatuses() ([]Status, bool) {
	p := r.statuses.Load()
	if p == nil {
		return nil, false
	}
	return *p, true
}

func (r *Runner) refreshGauges(ctx context.Context) {
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		sts, err := Statuses(ctx, r.store, r.consumers)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Warn("relay: read consumer status", "error", err)
			}
			continue
		}
		r.statuses.Store(&sts)
		for _, s := range sts {
			r.metrics.Position.WithLabelValues(s.Name).Set(float64(s.Position))
			r.metrics.LagEvents.WithLabelValues(s.Name).Set(float64(s.LagEvents))
			r.metrics.LagSeconds.WithLabelValues(s.Name).Set(s.LagSeconds)
			r.metrics.DeadLetters.WithLabelValues(s.Name).Set(float64(s.DeadLetters))
		}
	}
}
