package tenant

import (
	"context"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// DisableLocale disables a locale for a tenant.
type DisableLocale struct {
	// Tenant is the tenant's slug or id.
	Tenant string
	// Locale is the locale to disable, matched ignoring case.
	Locale string
	// Actor carries who asked and within which request.
	Actor eventstore.Metadata
}

// LogAttrs returns the tenant, locale and the actor's ids for the command's
// log line.
func (c DisableLocale) LogAttrs() []slog.Attr {
	return logAttrs(c.Tenant, c.Actor, slog.String("locale", clip(c.Locale)))
}

type disableLocale struct {
	store Store
	now   func() time.Time
}

// NewDisableLocaleHandler returns the handler of DisableLocale, decorated as
// "tenant.disable_locale". It records tenant.locale_disabled; a locale that
// is not enabled records nothing (position 0). Errors: ErrInvalidTenant,
// tenant.ErrNotFound, tenant.ErrInvalidLocale, tenant.ErrDefaultLocale
// (CONFLICT), commands.ErrStaleVersion. It panics if store or now is nil.
func NewDisableLocaleHandler(store Store, now func() time.Time, d commands.Decorators) commands.Handler[DisableLocale] {
	if store == nil || now == nil {
		panic("tenant.NewDisableLocaleHandler: nil dependency")
	}
	return commands.Decorate[DisableLocale]("tenant.disable_locale", disableLocale{store: store, now: now}, d)
}

func (h disableLocale) Handle(ctx context.Context, cmd DisableLocale) (commands.Result, error) {
	return change(ctx, h.store, cmd.Tenant, cmd.Actor, func(t *tenant.Tenant) ([]tenant.Event, error) {
		return t.DisableLocale(cmd.Locale, h.now())
	})
}
