package tenant_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestDisableAndEnableTenant(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		id := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "toggled", Name: "Toggled"})
		disable := func(ident string) func() (commands.Result, error) {
			return func() (commands.Result, error) {
				return e.disable.Handle(ctx, tenantcmd.DisableTenant{Tenant: ident, Actor: actor})
			}
		}
		enable := func(ident string) func() (commands.Result, error) {
			return func() (commands.Result, error) {
				return e.enable.Handle(ctx, tenantcmd.EnableTenant{Tenant: ident, Actor: actor})
			}
		}
		steps := []struct {
			name       string
			when       func() (commands.Result, error)
			wantEvent  string // "" means no event, position 0
			wantStatus tenant.Status
			wantErr    error
		}{
			{name: "disable an active tenant", when: disable("toggled"), wantEvent: tenant.TypeDisabled, wantStatus: tenant.StatusDisabled},
			{name: "disable it again is a no-op", when: disable(id), wantStatus: tenant.StatusDisabled},
			{name: "enable a disabled tenant", when: enable(id), wantEvent: tenant.TypeEnabled, wantStatus: tenant.StatusActive},
			{name: "enable it again is a no-op", when: enable("TOGGLED"), wantStatus: tenant.StatusActive},
			{name: "disable an unknown tenant is not found", when: disable("ghost"), wantErr: tenant.ErrNotFound, wantStatus: tenant.StatusActive},
			{name: "enable an unknown tenant is not found", when: enable(uuid.NewString()), wantErr: tenant.ErrNotFound, wantStatus: tenant.StatusActive},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				before := e.events(t, id)
				res, err := s.when()
				wantErr(t, err, s.wantErr, "", "")
				if s.wantErr != nil && domain.CodeOf(err) != domain.CodeNotFound {
					t.Errorf("code = %s, want NOT_FOUND", domain.CodeOf(err))
				}
				after := e.events(t, id)
				switch {
				case s.wantEvent == "":
					if res.Position != 0 || len(after) != len(before) {
						t.Errorf("want no event: position %d, %d → %d events", res.Position, len(before), len(after))
					}
				case len(after) != len(before)+1 || after[len(after)-1].Type != s.wantEvent || after[len(after)-1].Position != res.Position:
					t.Errorf("want one %s at position %d, stream went %d → %d events", s.wantEvent, res.Position, len(before), len(after))
				}
				if got := e.load(t, id).Status(); got != s.wantStatus {
					t.Errorf("status = %s, want %s", got, s.wantStatus)
				}
			})
		}
	})
}
