package commands_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/eventstore"
)

type ping struct {
	Tenant string
	Actor  eventstore.Metadata
}

func (p ping) LogAttrs() []slog.Attr {
	return append([]slog.Attr{slog.String("tenant", p.Tenant)}, commands.ActorAttrs(p.Actor)...)
}

var _ commands.Loggable = ping{}

func TestAppendError(t *testing.T) {
	conflict := fmt.Errorf("append tenant/x: %w", &eventstore.ConflictError{Stream: eventstore.Stream{Type: "tenant", ID: "x"}, Expected: 1, Actual: 2})
	reserved := func(scope, value string) error {
		return fmt.Errorf("append tenant/x: %w", &eventstore.ReservationError{Scope: scope, Value: value})
	}
	other := errors.New("disk full")
	tests := []struct {
		name      string
		err       error
		wantCode  domain.Code
		wantMsg   string
		wantField string
		wantIs    []error
	}{
		{name: "nil stays nil", err: nil},
		{name: "a stale version is a conflict asking to reload", err: conflict, wantCode: domain.CodeConflict,
			wantMsg: "the resource was changed by someone else; reload and retry",
			wantIs:  []error{commands.ErrStaleVersion, eventstore.ErrConcurrencyConflict}},
		{name: "a taken slug names the slug", err: reserved("tenant.slug", "shop"), wantCode: domain.CodeConflict,
			wantMsg: `slug "shop" is already taken`, wantField: "slug", wantIs: []error{eventstore.ErrReserved}},
		{name: "a taken domain names the domain", err: reserved("tenant.domain", "shop.example.com"), wantCode: domain.CodeConflict,
			wantMsg: `domain "shop.example.com" is already used by another tenant`, wantField: "domains", wantIs: []error{eventstore.ErrReserved}},
		{name: "another scope names its last part", err: reserved("user.email", "a@b.c"), wantCode: domain.CodeConflict,
			wantMsg: `email "a@b.c" is already taken`, wantField: "email", wantIs: []error{eventstore.ErrReserved}},
		{name: "a per-tenant value is shown without its tenant", err: reserved("user.email", "0b5e3f5c-8a9b-4c1d-9e2f-3a4b5c6d7e8f/ann@example.com"), wantCode: domain.CodeConflict,
			wantMsg: `email "ann@example.com" is already taken`, wantField: "email", wantIs: []error{eventstore.ErrReserved}},
		{name: "a long value is clipped", err: reserved("page.slug", strings.Repeat("x", 500)), wantCode: domain.CodeConflict,
			wantMsg: `slug "` + strings.Repeat("x", 100) + `…" is already taken`, wantField: "slug"},
		{name: "any other error is unchanged", err: other, wantCode: domain.CodeInternal, wantMsg: "internal error", wantIs: []error{other}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := commands.AppendError(tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("AppendError(nil) = %v", got)
				}
				return
			}
			if c := domain.CodeOf(got); c != tc.wantCode {
				t.Errorf("code = %s, want %s", c, tc.wantCode)
			}
			if m := domain.MessageOf(got); m != tc.wantMsg {
				t.Errorf("message = %q, want %q", m, tc.wantMsg)
			}
			if f := domain.FieldOf(got); f != tc.wantField {
				t.Errorf("field = %q, want %q", f, tc.wantField)
			}
			for _, target := range append(tc.wantIs, tc.err) {
				if !errors.Is(got, target) {
					t.Errorf("errors.Is(%v, %v) = false", got, target)
				}
			}
		})
	}
}

// recorder is a handler that answers with a fixed result and records calls.
type recorder struct {
	res   commands.Result
	err   error
	calls int
}

func (r *recorder) Handle(_ context.Context, _ ping) (commands.Result, error) {
	r.calls++
	return r.res, r.err
}

func TestDecorate(t *testing.T) {
	tests := []struct {
		name      string
		res       commands.Result
		err       error
		wantLevel string
		wantCode  string
		wantOut   string
		wantLine  []string
	}{
		{name: "success is counted OK and logged at debug", res: commands.Result{Position: 42},
			wantLevel: "DEBUG", wantCode: "OK", wantOut: commands.OutcomeSuccess, wantLine: []string{"position=42"}},
		{name: "a client error is counted by code and logged at warn", err: domain.Conflict("slug taken"),
			wantLevel: "WARN", wantCode: "CONFLICT", wantOut: commands.OutcomeClientError, wantLine: []string{"code=CONFLICT", `error="slug taken"`}},
		{name: "an internal error is counted INTERNAL and logged at error", err: errors.New("disk full"),
			wantLevel: "ERROR", wantCode: "INTERNAL", wantOut: commands.OutcomeInternalError, wantLine: []string{"code=INTERNAL", `error="disk full"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := commands.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			inner := &recorder{res: tc.res, err: tc.err}
			h := commands.Decorate[ping]("test.ping", inner, commands.Decorators{Logger: logger, Metrics: m})

			cmd := ping{Tenant: "acme", Actor: eventstore.Metadata{ActorID: "u1", RequestID: "r1"}}
			res, err := h.Handle(context.Background(), cmd)
			if res != tc.res || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Handle = %v, %v; want %v, %v", res, err, tc.res, tc.err)
			}
			if inner.calls != 1 {
				t.Errorf("inner handler called %d times", inner.calls)
			}
			if c := series(t, reg, "rustok_commands_total", map[string]string{"command": "test.ping", "code": tc.wantCode}); c.GetCounter().GetValue() != 1 {
				t.Errorf("rustok_commands_total{code=%s} = %v, want 1", tc.wantCode, c)
			}
			if n := testutil.CollectAndCount(reg, "rustok_commands_total"); n != 1 {
				t.Errorf("rustok_commands_total has %d series, want 1", n)
			}
			if h := series(t, reg, "rustok_command_duration_seconds", map[string]string{"command": "test.ping", "outcome": tc.wantOut}); h.GetHistogram().GetSampleCount() != 1 {
				t.Errorf("rustok_command_duration_seconds{outcome=%s} = %v, want one sample", tc.wantOut, h)
			}
			line := buf.String()
			want := append([]string{"level=" + tc.wantLevel, "command=test.ping", "tenant=acme", "actor_id=u1", "request_id=r1", "duration="}, tc.wantLine...)
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("log line %q lacks %q", line, w)
				}
			}
			if strings.Contains(line, "correlation_id") {
				t.Errorf("log line %q has an empty field", line)
			}
			if strings.Count(line, "\n") != 1 {
				t.Errorf("want one log line, got %q", line)
			}
		})
	}
}

// series returns the metric of family name whose labels include want, or nil.
func series(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

func TestDecorateWithoutDecoratorsCallsTheHandler(t *testing.T) {
	inner := &recorder{res: commands.Result{Position: 7}}
	h := commands.Decorate[ping]("test.ping", inner, commands.Decorators{})
	if res, err := h.Handle(context.Background(), ping{}); err != nil || res.Position != 7 || inner.calls != 1 {
		t.Fatalf("Handle = %v, %v after %d calls", res, err, inner.calls)
	}
}

func TestDecorateMetricsWrapLogging(t *testing.T) {
	// The metrics decorator is the outermost one: it times the logging too,
	// and counts a command once however many decorators run.
	reg := prometheus.NewRegistry()
	m, err := commands.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	logger := slog.New(handlerFunc(func(r slog.Record) {
		order = append(order, "log")
	}))
	inner := commands.HandlerFunc[ping](func(context.Context, ping) (commands.Result, error) {
		order = append(order, "handler")
		if n := testutil.CollectAndCount(reg, "rustok_commands_total"); n != 0 {
			t.Errorf("counted before the handler returned")
		}
		return commands.Result{}, nil
	})
	h := commands.Decorate[ping]("test.order", inner, commands.Decorators{Logger: logger, Metrics: m})
	if _, err := h.Handle(context.Background(), ping{}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "handler,log" {
		t.Errorf("order = %v", order)
	}
	if n := testutil.CollectAndCount(reg, "rustok_commands_total"); n != 1 {
		t.Errorf("rustok_commands_total series = %d, want 1", n)
	}
}

func TestNewMetricsRefusesADoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := commands.NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := commands.NewMetrics(reg); err == nil {
		t.Error("second NewMetrics on the same registry succeeded")
	}
	if _, err := commands.NewMetrics(nil); err != nil {
		t.Errorf("NewMetrics(nil) = %v", err)
	}
}

func TestDecoratePanicsOnWiringMistakes(t *testing.T) {
	for name, f := range map[string]func(){
		"empty name":  func() { commands.Decorate[ping]("", &recorder{}, commands.Decorators{}) },
		"nil handler": func() { commands.Decorate[ping]("x", nil, commands.Decorators{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// handlerFunc is a slog.Handler that passes every record to f.
type handlerFunc func(slog.Record)

func (f handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f handlerFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f handlerFunc) WithGroup(string) slog.Handler                 { return f }
