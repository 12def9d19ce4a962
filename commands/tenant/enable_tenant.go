package tenant

import (
	"context"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// EnableTenant enables a disabled tenant again.
type EnableTenant struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the tenant and the actor's ids for the command's log line.
func (c EnableTenant) LogAttrs() []slog.Attr { return logAttrs(c.Tenant, c.Actor) }

type enableTenant struct {
	store Store
	now   func() time.Time
}

// NewEnableTenantHandler returns the handler of EnableTenant, decorated as
// "tenant.enable". It records tenant.enabled; enabling an active tenant
// records nothing (position 0). Errors: ErrInvalidTenant,
// tenant.ErrNotFound, commands.ErrStaleVersion. It panics if store or now is
// nil.
func NewEnableTenantHandler(store Store, now func() time.Time, d commands.Decorators) commands.Handler[EnableTenant] {
	if store == nil || now == nil {
		panic("tenant.NewEnableTenantHandler: nil dependency")
	}
	return commands.Decorate[EnableTenant]("tenant.enable", enableTenant{store: store, now: now}, d)
}

func (h enableTenant) Handle(ctx context.Context, cmd EnableTenant) (commands.Result, error) {
	return change(ctx, h.store, cmd.Tenant, cmd.Actor, func(t *tenant.Tenant) ([]tenant.Event, error) {
		return t.Enable(h.now())
	})
}
