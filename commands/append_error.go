package commands

import (
	"errors"
	"strings"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/eventstore"
)

// ErrStaleVersion is the application error (CONFLICT) that AppendError
// returns, wrapping the store's error, when the stream moved on between load
// and append. Match it with errors.Is.
var ErrStaleVersion = domain.Conflict("the resource was changed by someone else; reload and retry")

// The reservation scopes whose conflicts AppendError names precisely. A
// module that reserves values (eventstore.Reserve) uses these scope names.
const (
	// ScopeTenantSlug holds tenant slugs (normalized), unique across tenants.
	ScopeTenantSlug = "tenant.slug"
	// ScopeTenantDomain holds tenant host names (normalized), unique across
	// tenants.
	ScopeTenantDomain = "tenant.domain"
)

// maxValueInMessage bounds how much of a reserved value is echoed back.
const maxValueInMessage = 100

// AppendError maps an error of eventstore.Store.Append to what a client
// should see, keeping the original as the cause (errors.Is and errors.As
// still find it):
//
//   - a concurrency conflict (eventstore.ErrConcurrencyConflict) becomes
//     ErrStaleVersion (CONFLICT);
//   - a taken reservation (*eventstore.ReservationError) becomes a CONFLICT
//     naming what is taken: `slug "shop" is already taken` (field slug) for
//     ScopeTenantSlug, `domain "shop.example.com" is already used by another
//     tenant` (field domains) for ScopeTenantDomain, and otherwise
//     `<name> "<value>" is already taken` with the field <name>, the last
//     dot-separated part of the scope ("user.email" gives email);
//   - any other error, including nil, is returned unchanged.
func AppendError(err error) error {
	var taken *eventstore.ReservationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &taken):
		return reservationConflict(taken).Wrap(err)
	case errors.Is(err, eventstore.ErrConcurrencyConflict):
		return ErrStaleVersion.Wrap(err)
	}
	return err
}

func reservationConflict(r *eventstore.ReservationError) *domain.Error {
	value := domain.Clip(withoutTenant(r.Value), maxValueInMessage)
	var e *domain.Error
	switch r.Scope {
	case ScopeTenantSlug:
		e = domain.Conflict("slug %q is already taken", value)
		e.Field = "slug"
	case ScopeTenantDomain:
		e = domain.Conflict("domain %q is already used by another tenant", value)
		e.Field = "domains"
	default:
		name := r.Scope[strings.LastIndexByte(r.Scope, '.')+1:]
		if name == "" {
			name = "value"
		}
		e = domain.Conflict("%s %q is already taken", name, value)
		e.Field = name
	}
	return e
}

// withoutTenant returns a per-tenant reservation value without its tenant:
// values unique within a tenant are reserved as "<tenant id>/<value>" (see
// user.EmailReservation), and the client knows its tenant.
func withoutTenant(value string) string {
	id, rest, ok := strings.Cut(value, "/")
	if ok && domain.IsUUID(id) {
		return rest
	}
	return value
}
