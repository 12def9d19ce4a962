package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// barrierStore holds every Load until n Loads have returned, so that n
// commands decide from the same version before any of them appends.
type barrierStore struct {
	tenantcmd.Store
	loaded *sync.WaitGroup
}

func (s barrierStore) Load(ctx context.Context, streamType, streamID string) ([]eventstore.Event, error) {
	evs, err := s.Store.Load(ctx, streamType, streamID)
	s.loaded.Done()
	s.loaded.Wait()
	return evs, err
}

func TestConcurrentChangesFromOneVersionConflict(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		plain := newEnv(t, dbURL)
		id := plain.mustCreate(t, tenantcmd.CreateTenant{Slug: "raced", Name: "Raced"})

		var loaded sync.WaitGroup
		loaded.Add(2)
		e := newEnvWith(t, plain.store, barrierStore{Store: plain.store, loaded: &loaded})
		ctx := context.Background()
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = e.update.Handle(ctx, tenantcmd.UpdateTenant{Tenant: "raced", Name: ptr("Renamed"), AddDomains: []string{"raced.example.com"}})
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = e.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: id})
		}()
		wg.Wait()

		var conflicts int
		for _, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, commands.ErrStaleVersion) && errors.Is(err, eventstore.ErrConcurrencyConflict) && domain.CodeOf(err) == domain.CodeConflict:
				conflicts++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if conflicts != 1 {
			t.Fatalf("errors = %v, want exactly one CONFLICT", errs)
		}
		stored := plain.events(t, id)
		if len(stored) < 2 || len(stored) > 3 {
			t.Fatalf("stream has %d events, want those of the one winner", len(stored))
		}
		if errs[0] != nil {
			// The update lost: its domain must not stay reserved.
			if h := plain.holder(t, commands.ScopeTenantDomain, "raced.example.com"); h != "" {
				t.Errorf("the losing update left its domain reserved by %q", h)
			}
		}
	})
}

// staleStore answers Load with a one-event history and refuses every Append
// as the event store does when the stream moved on in between.
type staleStore struct {
	history  []eventstore.Event
	appended int
}

func (s *staleStore) Load(context.Context, string, string) ([]eventstore.Event, error) {
	return s.history, nil
}

func (s *staleStore) Append(_ context.Context, stream eventstore.Stream, expected int64, _ []eventstore.NewEvent, _ ...eventstore.AppendOption) (eventstore.Result, error) {
	s.appended++
	return eventstore.Result{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: expected + 1}
}

func (s *staleStore) ReservationHolder(context.Context, string, string) (string, bool, error) {
	return "", false, nil
}

var _ tenantcmd.Store = (*staleStore)(nil)

func TestStaleVersionIsAConflictToRetry(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	payload, err := json.Marshal(tenant.Created{TenantID: id, Slug: "stale", Name: "Stale", Domains: []string{}, Modules: []string{}, DefaultLocale: "en", Locales: []string{"en"}, Settings: json.RawMessage("{}"), At: at})
	if err != nil {
		t.Fatal(err)
	}
	store := &staleStore{history: []eventstore.Event{{Stream: eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}, Version: 1, Type: tenant.TypeCreated, SchemaVersion: 1, Payload: payload}}}
	reg, err := module.NewRegistry(module.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return at }
	d := commands.Decorators{}
	handlers := map[string]func() error{
		"update": func() error {
			_, err := tenantcmd.NewUpdateTenantHandler(store, now, d).Handle(context.Background(), tenantcmd.UpdateTenant{Tenant: id, Name: ptr("New")})
			return err
		},
		"disable": func() error {
			_, err := tenantcmd.NewDisableTenantHandler(store, now, d).Handle(context.Background(), tenantcmd.DisableTenant{Tenant: id})
			return err
		},
		"toggle": func() error {
			_, err := tenantcmd.NewToggleModuleHandler(store, reg, now, d).Handle(context.Background(), tenantcmd.ToggleModule{Who: operator, Tenant: id, Module: "alloy", Enabled: true})
			return err
		},
		"enable locale": func() error {
			_, err := tenantcmd.NewEnableLocaleHandler(store, now, d).Handle(context.Background(), tenantcmd.EnableLocale{Tenant: id, Locale: "de"})
			return err
		},
	}
	for name, handle := range handlers {
		t.Run(name, func(t *testing.T) {
			err := handle()
			if !errors.Is(err, commands.ErrStaleVersion) || domain.CodeOf(err) != domain.CodeConflict {
				t.Fatalf("error = %v, want ErrStaleVersion", err)
			}
			if m := domain.MessageOf(err); m != "the resource was changed by someone else; reload and retry" {
				t.Errorf("message = %q", m)
			}
		})
	}
	if store.appended != len(handlers) {
		t.Errorf("appends = %d, want %d (each handler appends at the loaded version once)", store.appended, len(handlers))
	}
}

func TestMetricsCountEveryCommand(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		e.mustCreate(t, tenantcmd.CreateTenant{Slug: "counted", Name: "Counted"})
		_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: "counted", Name: "Again"})
		_, _ = e.create.Handle(ctx, tenantcmd.CreateTenant{Slug: "", Name: "No slug"})
		_, _ = e.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: "counted"})
		_, _ = e.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: "counted"})
		_, _ = e.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: "ghost"})
		_, _ = e.toggle.Handle(ctx, tenantcmd.ToggleModule{Who: operator, Tenant: "counted", Module: "index"})

		want := `
# HELP rustok_commands_total Commands handled, by command and result code (OK or the error code).
# TYPE rustok_commands_total counter
rustok_commands_total{code="BAD_USER_INPUT",command="tenant.create"} 1
rustok_commands_total{code="BAD_USER_INPUT",command="tenant.toggle_module"} 1
rustok_commands_total{code="CONFLICT",command="tenant.create"} 1
rustok_commands_total{code="NOT_FOUND",command="tenant.disable"} 1
rustok_commands_total{code="OK",command="tenant.create"} 1
rustok_commands_total{code="OK",command="tenant.disable"} 2
`
		if err := testutil.GatherAndCompare(e.metrics, strings.NewReader(want), "rustok_commands_total"); err != nil {
			t.Error(err)
		}
		// One duration series per (command, outcome) seen.
		if n := testutil.CollectAndCount(e.metrics, "rustok_command_duration_seconds"); n != 5 {
			t.Errorf("rustok_command_duration_seconds has %d series, want 5", n)
		}
	})
}
