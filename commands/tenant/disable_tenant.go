package tenant

import (
	"context"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// DisableTenant disables a tenant: every request to it is refused until it
// is enabled again.
type DisableTenant struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the tenant and the actor's ids for the command's log line.
func (c DisableTenant) LogAttrs() []slog.Attr { return logAttrs(c.Tenant, c.Actor) }

type disableTenant struct {
	store Store
	now   func() time.Time
}

// NewDisableTenantHandler returns the handler of DisableTenant, decorated as
// "tenant.disable". It records tenant.disabled; disabling a disabled tenant
// records nothing (position 0). Errors: ErrInvalidTenant,
// tenant.ErrNotFound, commands.ErrStaleVersion. It panics if store or now is
// nil.
func NewDisableTenantHandler(store Store, now func() time.Time, d commands.Decorators) commands.Handler[DisableTenant] {
	if store == nil || now == nil {
		panic("tenant.NewDisableTenantHandler: nil dependency")
	}
	return commands.Decorate[DisableTenant]("tenant.disable", disableTenant{store: store, now: now}, d)
}

func (h disableTenant) Handle(ctx context.Context, cmd DisableTenant) (commands.Result, error) {
	return change(ctx, h.store, cmd.Tenant, cmd.Actor, func(t *tenant.Tenant) ([]tenant.Event, error) {
		return t.Disable(h.now())
	})
}
