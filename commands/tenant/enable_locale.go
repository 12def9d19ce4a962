package tenant

import (
	"context"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// EnableLocale enables a locale (xx or xx-YY) for a tenant.
type EnableLocale struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Locale is the locale to enable, matched ignoring case.
	Locale string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the tenant, locale and the actor's ids for the command's
// log line.
func (c EnableLocale) LogAttrs() []slog.Attr {
	return logAttrs(c.Tenant, c.Actor, slog.String("locale", clip(c.Locale)))
}

type enableLocale struct {
	store Store
	now   func() time.Time
}

// NewEnableLocaleHandler returns the handler of EnableLocale, decorated as
// "tenant.enable_locale". It records tenant.locale_enabled; an enabled
// locale records nothing (position 0). Errors: ErrInvalidTenant,
// tenant.ErrNotFound, tenant.ErrInvalidLocale, tenant.ErrTooManyLocales,
// commands.ErrStaleVersion. It panics if store or now is nil.
func NewEnableLocaleHandler(store Store, now func() time.Time, d commands.Decorators) commands.Handler[EnableLocale] {
	if store == nil || now == nil {
		panic("tenant.NewEnableLocaleHandler: nil dependency")
	}
	return commands.Decorate[EnableLocale]("tenant.enable_locale", enableLocale{store: store, now: now}, d)
}

func (h enableLocale) Handle(ctx context.Context, cmd EnableLocale) (commands.Result, error) {
	return change(ctx, h.store, cmd.Tenant, cmd.Actor, func(t *tenant.Tenant) ([]tenant.Event, error) {
		return t.EnableLocale(cmd.Locale, h.now())
	})
}
