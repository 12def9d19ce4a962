package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/config"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/migrations"
	"github.com/rustok/rustok/platform/database"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
	sessionproj "github.com/rustok/rustok/projections/session"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	userproj "github.com/rustok/rustok/projections/user"
)

// app is everything a command needs, built once by build in dependency
// order and released by Close.
type app struct {
	cfg          config.Config
	logger       *slog.Logger
	registry     *prometheus.Registry
	db           *database.DB
	store        *eventstore.Store
	wake         *relay.Signal
	notifier     *relay.Notifier
	modules      *module.Registry
	consumers    []relay.Consumer
	relayMetrics *relay.Metrics
	relayConfig  relay.Config
	// cmdMetrics are the command metrics shared by every handler of the
	// process (commandMetrics); they register once per registry.
	cmdMetrics *commands.Metrics
	// resetKey derives password reset tokens (commands/user and the reset
	// mail reactor): derived once from the signing material (deriveKey).
	resetKey []byte
}

// commandMetrics returns the process's command metrics, registering them on
// the registry the first time.
func (a *app) commandMetrics() (*commands.Metrics, error) {
	if a.cmdMetrics != nil {
		return a.cmdMetrics, nil
	}
	m, err := commands.NewMetrics(a.registry)
	if err != nil {
		return nil, err
	}
	a.cmdMetrics = m
	return m, nil
}

// buildOptions say what a command needs beyond the database.
type buildOptions struct {
	// migrate runs pending migrations first (serve/worker with database.auto_migrate).
	migrate bool
}

// consumers is the one list of projections; build adds the reactors, which
// need the configuration (app.reactors).
func consumers() []relay.Consumer {
	return []relay.Consumer{
		tenantproj.Projection(),
		userproj.Projection(),
		sessionproj.Projection(),
		apikeyproj.Projection(),
	}
}

// build opens the database and constructs the write and relay side.
func build(ctx context.Context, cfg config.Config, logger *slog.Logger, opts buildOptions) (*app, error) {
	if opts.migrate {
		// Up is crash-safe, repairs a dirty mark it can judge, and takes
		// the migration lock, so that instances starting together migrate once.
		r, err := migrations.New(cfg.Database.URL, migrations.Options{Logger: logger})
		if err != nil {
			return nil, err
		}
		if err := r.Up(ctx); err != nil {
			return nil, err
		}
	}
	db, err := database.Open(ctx, cfg.Database.URL, database.Options{
		MaxOpenConns:      cfg.Database.MaxOpenConns,
		SQLiteSynchronous: database.Synchronous(cfg.Database.SQLiteSynchronous),
	})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, db: db, wake: relay.NewSignal(), registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.checkSchema(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if db.Dialect() == database.Postgres && cfg.Settings.Rustok.Events.Notify {
		a.notifier = relay.NewNotifier(db, relay.ChannelName(db.Target.Schema), logger)
	}
	a.store, err = eventstore.New(db, eventstore.Options{
		Registerer: a.registry,
		Upcasters:  eventstore.NewUpcasters(),
		OnCommit: func(int64) {
			a.wake.Notify()
			if a.notifier != nil {
				a.notifier.Notify()
			}
		},
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if a.modules, err = module.NewRegistry(module.Builtin()...); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("module registry: %w", err)
	}
	if err := a.modules.ValidateDefaults(cfg.Settings.Rustok.Modules.DefaultEnabled); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("settings.rustok.modules.default_enabled: %w", err)
	}
	if a.resetKey, err = deriveKey(cfg.Auth.JWT, resetKeyLabel); err != nil {
		_ = db.Close()
		return nil, err
	}
	reactors, err := a.reactors()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a.consumers = append(consumers(), reactors...)
	if a.relayMetrics, err = relay.NewMetrics(a.registry); err != nil {
		_ = db.Close()
		return nil, err
	}
	ev := cfg.Settings.Rustok.Events
	a.relayConfig = relay.Config{
		BatchSize:       ev.RelayBatchSize,
		PollInterval:    ev.PollInterval,
		DeadLetterAfter: ev.DeadLetterAfter,
		Wake:            a.wake,
	}
	return a, nil
}

// checkSchema turns "no such table" into advice to migrate: every error is
// one sentence naming the command to run.
func (a *app) checkSchema(ctx context.Context) error {
	r, err := migrations.NewRunner(a.cfg.Database.URL)
	if err != nil {
		return err
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	switch {
	case st.Dirty:
		return fmt.Errorf("database schema is dirty at version %d (a migration was interrupted): run `rustok migrate up`, which verifies and repairs it or says what to do", st.Version)
	case st.Version < st.Latest:
		return fmt.Errorf("database schema is at version %d of %d: run `rustok migrate up` (or set database.auto_migrate)", st.Version, st.Latest)
	case st.Version > st.Latest:
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d): upgrade rustok", st.Version, st.Latest)
	}
	return nil
}

// consumer returns the consumer named name.
func (a *app) consumer(name string) (relay.Consumer, bool) {
	for _, c := range a.consumers {
		if c.Name == name {
			return c, true
		}
	}
	return relay.Consumer{}, false
}

// catchUp brings consumer name up to position (or to the visible head when
// position is 0) in this process, so a CLI read after a CLI write is current
// even with no server running.
func (a *app) catchUp(ctx context.Context, name string, position int64) error {
	c, ok := a.consumer(name)
	if !ok {
		return fmt.Errorf("unknown consumer %s", name)
	}
	_, err := relay.CatchUpTo(ctx, a.store, c, a.relayConfig, position, shortTimeout)
	return err
}

// Close releases the database.
func (a *app) Close() error {
	return a.db.Close()
}

// newLogger builds the process logger from logger.{level,format}.
func newLogger(cfg config.Logger, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactAttr masks the secrets that a logged string or error may quote (a
// database, Redis or NATS URL in a driver's message): the message, every
// string value and every error value go through config.RedactURL, so that
// no log line of the process shows a password, whoever logged it.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != "" {
			if r := config.RedactURL(s); r != s {
				a.Value = slog.StringValue(r)
			}
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			a.Value = slog.StringValue(config.RedactURL(err.Error()))
		}
	}
	return a
}

// errUsage marks errors in how a command was called (exit code 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e usageError) Error() string   { return e.msg }
func (e usageError) Is(t error) bool { return t == errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// shortTimeout is for CLI steps that should not hang.
const shortTimeout = 30 * time.Second
