package rbac

import (
	"errors"
	"fmt"

	"github.com/rustok/rustok/domain"
)

// Application errors of this package (see package domain for the codes).
// Match them with errors.Is: the errors returned carry a more precise message
// and wrap these values.
var (
	// ErrForbidden (FORBIDDEN): the actor lacks a permission. Wrapped by every
	// *DeniedError whose Reason is not ReasonUnauthenticated.
	ErrForbidden = domain.Forbidden("permission denied")
	// ErrUnauthenticated (UNAUTHENTICATED): an anonymous actor asked for
	// something that needs a permission. Wrapped by *DeniedError with
	// ReasonUnauthenticated.
	ErrUnauthenticated = domain.Unauthenticated("authentication required")
	// ErrInvalidPermission (BAD_USER_INPUT, field permissions): a permission
	// string that is not "resource:action" with a known resource and action.
	ErrInvalidPermission = domain.InvalidField("permissions", "permission must be resource:action with a known resource and action")
	// ErrInvalidRole (BAD_USER_INPUT, field role).
	ErrInvalidRole = domain.InvalidField("role", "role must be one of super_admin, admin, manager, customer")
)

// errInvalidActor is internal: an actor built without a user id. Identities
// come from verified tokens and keys, never straight from a client.
var errInvalidActor = errors.New("rbac: an authenticated actor needs a user id")

// errUnknownPermission is internal: the code asked Check about a permission
// that does not exist, which would otherwise always be denied silently.
var errUnknownPermission = errors.New("rbac: check of an unknown permission")

// Reason says why Check or CheckGrant refused.
type Reason int

// The reasons of a *DeniedError.
const (
	// ReasonUnauthenticated: the actor is anonymous (UNAUTHENTICATED).
	ReasonUnauthenticated Reason = iota + 1
	// ReasonMissing: the actor does not hold the permission (FORBIDDEN).
	ReasonMissing
	// ReasonNotOwner: the actor holds the permission only for its own
	// resources, and this one is someone else's or has no owner (FORBIDDEN).
	ReasonNotOwner
	// ReasonNotGrantable: the actor cannot grant a permission it does not
	// hold itself (FORBIDDEN).
	ReasonNotGrantable
)

// DeniedError is the error of Check and CheckGrant: it names the permission
// that was missing and why. It unwraps to an application error of code
// UNAUTHENTICATED (wrapping ErrUnauthenticated) or FORBIDDEN (wrapping
// ErrForbidden) whose client-safe message names the permission, so
// domain.CodeOf and domain.MessageOf work on it and on any error wrapping it.
type DeniedError struct {
	Permission Permission
	Reason     Reason
}

// Error returns the message that Unwrap's application error carries.
func (e *DeniedError) Error() string { return e.appError().Message }

// Unwrap returns the application error: FORBIDDEN or UNAUTHENTICATED.
func (e *DeniedError) Unwrap() error { return e.appError() }

func (e *DeniedError) appError() *domain.Error {
	p := e.Permission.String()
	switch e.Reason {
	case ReasonUnauthenticated:
		return domain.Unauthenticated("authentication required: permission %s is needed", p).Wrap(ErrUnauthenticated)
	case ReasonNotOwner:
		return domain.Forbidden("permission %s is required: you hold it for your own %s only", p, e.Permission.Resource).Wrap(ErrForbidden)
	case ReasonNotGrantable:
		return domain.Forbidden("permission %s cannot be granted: you do not hold it", p).Wrap(ErrForbidden)
	}
	return domain.Forbidden("permission %s is required", p).Wrap(ErrForbidden)
}

// String returns the reason's name, for logs.
func (r Reason) String() string {
	switch r {
	case ReasonUnauthenticated:
		return "unauthenticated"
	case ReasonMissing:
		return "missing"
	case ReasonNotOwner:
		return "not_owner"
	case ReasonNotGrantable:
		return "not_grantable"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}
