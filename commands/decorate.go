package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/eventstore"
)

// Decorators are the cross-cutting concerns Decorate wraps around every
// handler. A nil field switches its decorator off.
type Decorators struct {
	// Logger receives one line per command (default: none).
	Logger *slog.Logger
	// Metrics records durations and outcomes (default: none). Build it once
	// per registry with NewMetrics and share it between every handler.
	Metrics *Metrics
}

// Outcomes of a command, the values of the outcome label of
// rustok_command_duration_seconds.
const (
	// OutcomeSuccess: the command succeeded, including a no-op.
	OutcomeSuccess = "success"
	// OutcomeClientError: the command failed with an application error the
	// caller caused (any code but INTERNAL).
	OutcomeClientError = "client_error"
	// OutcomeInternalError: the command failed with an internal error.
	OutcomeInternalError = "internal_error"
)

// CodeOK is the code label of rustok_commands_total for a command that
// succeeded; failed commands carry their domain.Code.
const CodeOK = "OK"

// Metrics are the command metrics of the contract:
// rustok_command_duration_seconds{command,outcome} and
// rustok_commands_total{command,code}. They are safe for concurrent use.
type Metrics struct {
	duration *prometheus.HistogramVec
	total    *prometheus.CounterVec
}

// NewMetrics creates the command metrics and registers them on reg (none when
// reg is nil). It returns the registration error, for example when reg
// already has them: build Metrics once and share it.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rustok_command_duration_seconds",
			Help:    "Duration of command handling, by command and outcome (success, client_error, internal_error).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command", "outcome"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_commands_total",
			Help: "Commands handled, by command and result code (OK or the error code).",
		}, []string{"command", "code"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.duration, m.total} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register command metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Loggable is implemented by commands that add fields to the log line of
// their handling: the tenant, actor and request ids they carry, never
// secrets such as passwords or tokens.
type Loggable interface {
	LogAttrs() []slog.Attr
}

// ActorAttrs returns the log fields of the actor metadata a command carries:
// actor_id, request_id and correlation_id, each only when set.
func ActorAttrs(m eventstore.Metadata) []slog.Attr {
	var attrs []slog.Attr
	for _, f := range []struct{ key, value string }{
		{"actor_id", m.ActorID}, {"request_id", m.RequestID}, {"correlation_id", m.CorrelationID},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String(f.key, f.value))
		}
	}
	return attrs
}

// Decorate wraps h, the handler of the command called name (for example
// "tenant.create"), in the decorators of d, always in this order from the
// outside in: metrics, logging, h. name is the command label of the metrics
// and the command field of the log lines: keep it stable.
//
// Logging writes one line per command: debug when it succeeds, warn when it
// fails with a client error (domain.CodeOf other than INTERNAL) and error when
// it fails with an internal error, with the fields command, duration, the
// position or the code and error, and the command's own LogAttrs when it
// implements Loggable.
//
// Decorate panics if name is empty or h is nil: both are wiring mistakes.
func Decorate[C any](name string, h Handler[C], d Decorators) Handler[C] {
	if name == "" || h == nil {
		panic("commands.Decorate: empty name or nil handler")
	}
	if d.Logger != nil {
		h = logged[C]{name: name, next: h, logger: d.Logger}
	}
	if d.Metrics != nil {
		h = measured[C]{next: h, duration: d.Metrics.duration, total: d.Metrics.total, name: name}
	}
	return h
}

// outcome classifies err for the metrics and the log level.
func outcome(err error) (label string, code string) {
	switch {
	case err == nil:
		return OutcomeSuccess, CodeOK
	case domain.CodeOf(err) == domain.CodeInternal:
		return OutcomeInternalError, string(domain.CodeInternal)
	default:
		return OutcomeClientError, string(domain.CodeOf(err))
	}
}

type measured[C any] struct {
	next     Handler[C]
	duration *prometheus.HistogramVec
	total    *prometheus.CounterVec
	name     string
}

func (m measured[C]) Handle(ctx context.Context, cmd C) (Result, error) {
	start := time.Now()
	res, err := m.next.Handle(ctx, cmd)
	label, code := outcome(err)
	m.duration.WithLabelValues(m.name, label).Observe(time.Since(start).Seconds())
	m.total.WithLabelValues(m.name, code).Inc()
	return res, err
}

type logged[C any] struct {
	name   string
	next   Handler[C]
	logger *slog.Logger
}

func (l logged[C]) Handle(ctx context.Context, cmd C) (Result, error) {
	start := time.Now()
	res, err := l.next.Handle(ctx, cmd)
	attrs := []slog.Attr{slog.String("command", l.name), slog.Duration("duration", time.Since(start))}
	if c, ok := any(cmd).(Loggable); ok {
		attrs = append(attrs, c.LogAttrs()...)
	}
	label, code := outcome(err)
	switch label {
	case OutcomeSuccess:
		attrs = append(attrs, slog.Int64("position", res.Position))
		l.logger.LogAttrs(ctx, slog.LevelDebug, "command handled", attrs...)
	case OutcomeClientError:
		attrs = append(attrs, slog.String("code", code), slog.String("error", err.Error()))
		l.logger.LogAttrs(ctx, slog.LevelWarn, "command refused", attrs...)
	default:
		attrs = append(attrs, slog.String("code", code), slog.String("error", err.Error()))
		l.logger.LogAttrs(ctx, slog.LevelError, "command failed", attrs...)
	}
	return res, err
}
