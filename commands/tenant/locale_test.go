package tenant_test

import (
	"context"
	"slices"
	"testing"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestEnableAndDisableLocale(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		id := e.mustCreate(t, tenantcmd.CreateTenant{Slug: "polyglot", Name: "Polyglot"})
		enable := func(l string) func() (commands.Result, error) {
			return func() (commands.Result, error) {
				return e.enableLocale.Handle(ctx, tenantcmd.EnableLocale{Tenant: "polyglot", Locale: l})
			}
		}
		disable := func(l string) func() (commands.Result, error) {
			return func() (commands.Result, error) {
				return e.disableLocale.Handle(ctx, tenantcmd.DisableLocale{Tenant: id, Locale: l})
			}
		}
		steps := []struct {
			name        string
			when        func() (commands.Result, error)
			wantEvent   string
			wantLocales []string
			wantErr     error
			wantCode    domain.Code
		}{
			{name: "enable a locale", when: enable("FR-ca"), wantEvent: tenant.TypeLocaleEnabled, wantLocales: []string{"en", "fr-CA"}},
			{name: "enable it again is a no-op", when: enable("fr-CA"), wantLocales: []string{"en", "fr-CA"}},
			{name: "an invalid locale is bad input", when: enable("french"), wantErr: tenant.ErrInvalidLocale, wantCode: domain.CodeBadInput, wantLocales: []string{"en", "fr-CA"}},
			{name: "the default locale cannot be disabled", when: disable("en"), wantErr: tenant.ErrDefaultLocale, wantCode: domain.CodeConflict, wantLocales: []string{"en", "fr-CA"}},
			{name: "disable a locale", when: disable("fr-ca"), wantEvent: tenant.TypeLocaleDisabled, wantLocales: []string{"en"}},
			{name: "disable it again is a no-op", when: disable("fr-CA"), wantLocales: []string{"en"}},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				before := len(e.events(t, id))
				res, err := s.when()
				wantErr(t, err, s.wantErr, s.wantCode, "")
				after := e.events(t, id)
				if s.wantEvent == "" {
					if res.Position != 0 || len(after) != before {
						t.Errorf("want no event: position %d, %d → %d events", res.Position, before, len(after))
					}
				} else if len(after) != before+1 || after[before].Type != s.wantEvent || after[before].Position != res.Position {
					t.Errorf("want one %s at %d; stream went %d → %d events", s.wantEvent, res.Position, before, len(after))
				}
				if got := e.load(t, id).Locales(); !slices.Equal(got, s.wantLocales) {
					t.Errorf("locales = %v, want %v", got, s.wantLocales)
				}
			})
		}
	})
}
