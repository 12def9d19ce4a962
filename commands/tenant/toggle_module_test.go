package tenant_test

import (
	"context"
	"slices"
	"testing"

	tenantcmd "github.com/rustok/rustok/commands/tenant"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestToggleModule(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tests := []struct {
			name        string
			modules     []string // of the tenant when created
			cmd         tenantcmd.ToggleModule
			wantModules []string
			wantEvent   bool
			wantErr     error
			wantCode    domain.Code
		}{
			{name: "enable a module", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "alloy", Enabled: true},
				wantEvent: true, wantModules: []string{"content", "alloy"}},
			{name: "enable a module whose dependency is on", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "blog", Enabled: true},
				wantEvent: true, wantModules: []string{"content", "blog"}},
			{name: "disable a module", modules: []string{"content", "pages"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "pages"},
				wantEvent: true, wantModules: []string{"content"}},
			{name: "enable an enabled module is a no-op", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "content", Enabled: true},
				wantModules: []string{"content"}},
			{name: "disable a disabled module is a no-op", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "forum"},
				wantModules: []string{"content"}},
			{name: "an unknown module is bad input", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "shop", Enabled: true},
				wantErr: module.ErrUnknownModule, wantCode: domain.CodeBadInput, wantModules: []string{"content"}},
			{name: "a core module cannot be disabled", modules: []string{"content"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "rbac"},
				wantErr: module.ErrCoreModule, wantCode: domain.CodeBadInput, wantModules: []string{"content"}},
			{name: "a missing dependency is a conflict", modules: []string{"commerce"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "forum", Enabled: true},
				wantErr: module.ErrMissingDependency, wantCode: domain.CodeConflict, wantModules: []string{"commerce"}},
			{name: "a needed module cannot be disabled", modules: []string{"content", "blog"}, cmd: tenantcmd.ToggleModule{Who: operator, Module: "content"},
				wantErr: module.ErrDependentEnabled, wantCode: domain.CodeConflict, wantModules: []string{"content", "blog"}},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				slug := "mod-" + string(rune('a'+i))
				id := e.mustCreate(t, tenantcmd.CreateTenant{Slug: slug, Name: "Modules", Modules: tc.modules})
				cmd := tc.cmd
				cmd.Tenant, cmd.Actor = slug, actor
				res, err := e.toggle.Handle(context.Background(), cmd)
				wantErr(t, err, tc.wantErr, tc.wantCode, "")
				stored := e.events(t, id)
				if tc.wantEvent != (len(stored) == 2) || tc.wantEvent != (res.Position > 0) {
					t.Fatalf("want event %v: position %d, %d events", tc.wantEvent, res.Position, len(stored))
				}
				if tc.wantEvent && (stored[1].Type != tenant.TypeModuleToggled || stored[1].Position != res.Position) {
					t.Errorf("appended %s at %d", stored[1].Type, stored[1].Position)
				}
				if got := e.load(t, id).EnabledModules(); !slices.Equal(got, tc.wantModules) {
					t.Errorf("modules = %v, want %v", got, tc.wantModules)
				}
			})
		}
		_, err := e.toggle.Handle(context.Background(), tenantcmd.ToggleModule{Who: operator, Tenant: "ghost", Module: "blog", Enabled: true})
		wantErr(t, err, tenant.ErrNotFound, domain.CodeNotFound, "")
	})
}
