package tenant

import (
	"context"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/module"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// ToggleModule switches an optional module on or off for a tenant.
type ToggleModule struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Module is the module slug.
	Module string
	// Enabled is the state wanted.
	Enabled bool
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
	// Who is the authenticated actor, who must hold modules:manage (only
	// a super_admin does: DOMAIN.md gives admins no modules:manage). The
	// CLI acts as an operator with that role (cmd/rustok).
	Who rbac.Actor
}

// LogAttrs returns the tenant, module, wanted state and the actor's ids for
// the command's log line.
func (c ToggleModule) LogAttrs() []slog.Attr {
	return logAttrs(c.Tenant, c.Actor, slog.String("module", clip(c.Module)), slog.Bool("enabled", c.Enabled))
}

type toggleModule struct {
	store Store
	reg   *module.Registry
	now   func() time.Time
}

// NewToggleModuleHandler returns the handler of ToggleModule, decorated as
// "tenant.toggle_module". It records tenant.module_toggled under the toggle
// rules of reg; an unchanged state records nothing (position 0).
//
// Errors: a *rbac.DeniedError naming modules:manage (UNAUTHENTICATED for
// the anonymous actor, FORBIDDEN otherwise), checked first through
// commands.Authorize; ErrInvalidTenant; tenant.ErrNotFound; the rule errors of
// module.Registry.CheckToggle: module.ErrUnknownModule and
// module.ErrCoreModule (BAD_USER_INPUT), module.ErrMissingDependency and
// module.ErrDependentEnabled (CONFLICT); commands.ErrStaleVersion. It panics
// if store, reg or now is nil.
func NewToggleModuleHandler(store Store, reg *module.Registry, now func() time.Time, d commands.Decorators) commands.Handler[ToggleModule] {
	if store == nil || reg == nil || now == nil {
		panic("tenant.NewToggleModuleHandler: nil dependency")
	}
	return commands.Decorate[ToggleModule]("tenant.toggle_module", toggleModule{store: store, reg: reg, now: now}, d)
}

// permManageModules is the permission of ToggleModule.
var permManageModules = rbac.P(rbac.ResourceModules, rbac.ActionManage)

func (h toggleModule) Handle(ctx context.Context, cmd ToggleModule) (commands.Result, error) {
	if err := commands.Authorize(cmd.Who, commands.Access{Permission: permManageModules}); err != nil {
		return commands.Result{}, err
	}
	return change(ctx, h.store, cmd.Tenant, cmd.Actor, func(t *tenant.Tenant) ([]tenant.Event, error) {
		return t.ToggleModule(h.reg, cmd.Module, cmd.Enabled, h.now())
	})
}
