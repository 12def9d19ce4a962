package tenant

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/eventstore"
)

// Store is the part of the event store the tenant handlers use;
// *eventstore.Store implements it.
type Store = commands.Store

// ErrInvalidTenant (BAD_USER_INPUT, field tenant) is returned, wrapping the
// identifier error of domain/tenant (errors.Is tenant.ErrInvalidIdentifier),
// when a command's Tenant is neither a tenant id nor a valid slug.
var ErrInvalidTenant = domain.InvalidField("tenant", "tenant must be a tenant id (UUID) or a slug")

// stream returns the event store stream of tenant id.
func stream(id string) eventstore.Stream {
	return eventstore.Stream{Type: tenant.StreamType, ID: id, TenantID: id}
}

// resolve turns a tenant identifier (an id or a slug, see
// tenant.ParseIdentifier) into a tenant id. A slug is resolved through its
// reservation, which the create command took in the tenant's first append.
// An id is returned as it is: load finds whether the tenant exists.
func resolve(ctx context.Context, store Store, ident string) (string, error) {
	id, err := tenant.ParseIdentifier(ident)
	if err != nil {
		return "", ErrInvalidTenant.Wrap(err)
	}
	if id.Kind == tenant.KindID {
		return id.Value, nil
	}
	holder, found, err := store.ReservationHolder(ctx, commands.ScopeTenantSlug, id.Value)
	if err != nil {
		return "", fmt.Errorf("resolve tenant %q: %w", id.Value, err)
	}
	if !found {
		return "", fmt.Errorf("tenant %q: %w", id.Value, tenant.ErrNotFound)
	}
	return holder, nil
}

// repository is the tenants' aggregate repository on store.
func repository(store Store) commands.Repository[*tenant.Tenant, tenant.Event] {
	return commands.Repository[*tenant.Tenant, tenant.Event]{
		Store: store, StreamType: tenant.StreamType, Decode: tenant.Decode, Fold: tenant.Load, NotFound: tenant.ErrNotFound,
	}
}

// load rebuilds tenant id from its stream and returns it with the stream
// version to expect when appending. A missing stream is tenant.ErrNotFound.
func load(ctx context.Context, store Store, id string) (*tenant.Tenant, int64, error) {
	return repository(store).Load(ctx, id)
}

// appendEvents appends the events of one decision to tenant id's stream at
// version expected (see commands.Repository.Append: no events is a no-op,
// refusals become application errors).
func appendEvents(ctx context.Context, store Store, id string, expected int64, events []tenant.Event, opts ...eventstore.AppendOption) (commands.Result, error) {
	return repository(store).Append(ctx, stream(id), expected, events, opts...)
}

// change runs the common shape of a command on one existing tenant that
// needs no reservation: resolve, load, decide, append with the actor's
// metadata.
func change(ctx context.Context, store Store, ident string, actor eventstore.Metadata,
	decide func(t *tenant.Tenant) ([]tenant.Event, error)) (commands.Result, error) {
	id, err := resolve(ctx, store, ident)
	if err != nil {
		return commands.Result{}, err
	}
	t, version, err := load(ctx, store, id)
	if err != nil {
		return commands.Result{}, err
	}
	events, err := decide(t)
	if err != nil {
		return commands.Result{}, fmt.Errorf("tenant %s: %w", id, err)
	}
	res, err := appendEvents(ctx, store, id, version, events, eventstore.WithMetadata(actor))
	if err != nil {
		return commands.Result{}, fmt.Errorf("tenant %s: %w", id, err)
	}
	return res, nil
}

// maxLoggedInput bounds how much of a client-supplied value is logged or
// quoted in an error.
const maxLoggedInput = 100

// logAttrs returns the log fields of a command on tenant ident.
func logAttrs(ident string, actor eventstore.Metadata, extra ...slog.Attr) []slog.Attr {
	attrs := append([]slog.Attr{slog.String("tenant", clip(ident))}, extra...)
	return append(attrs, commands.ActorAttrs(actor)...)
}

// clip shortens client input for a log line or an error message.
func clip(s string) string { return domain.Clip(s, maxLoggedInput) }
