package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
)

// Access is what a use case requires of its actor, declared by the handler
// from the command's input alone, so that authorization runs once, before
// anything is loaded (docs/adr/0025). Exactly one of Public, Permission or
// Self (without Permission) says who may run it:
//
//   - Public: anyone, the anonymous actor included (sign-up). Permission,
//     Owner, Self and AssignRole must be zero.
//   - Permission: rbac.Check(actor, Permission, Owner), the one permission
//     check; Owner is the id of the user owning the target resource for the
//     "own" scope, "" when the resource has no single owner (create, list).
//   - Self: the user Owner themself, signed in as a user (not through an API
//     key), may run it without Permission (their own profile, their own
//     password). Anyone else needs Permission; with no Permission, nobody
//     else may run it.
//
// AssignRole, when set, is a role the command gives a user: the actor must
// also pass rbac.CheckAssignRole for it (nobody grants what they do not
// hold). It is checked after Permission, and also for the Self case.
type Access struct {
	Public     bool
	Permission rbac.Permission
	Owner      string
	Self       bool
	AssignRole rbac.Role
}

// ErrSelfOnly (FORBIDDEN) is returned by Authorize for an Access with Self
// and no Permission when the actor is not the owner signed in as a user.
var ErrSelfOnly = domain.Forbidden("only the user themself may do this")

// errSelfOnlyAnonymous is ErrSelfOnly's answer to the anonymous actor.
var errSelfOnlyAnonymous = domain.Unauthenticated("authentication required").Wrap(rbac.ErrUnauthenticated)

// errInvalidAccess is internal: a handler declared an Access that allows
// nothing or mixes Public with a permission. It is a wiring mistake that
// must fail loudly rather than deny or allow by accident.
var errInvalidAccess = errors.New("commands: invalid access declaration")

// Authorize reports whether actor may run a use case that declared a, and
// returns nil when it may. It is the pipeline's authorization step, exported
// for handlers that do not fit Pipeline and for tests.
//
// Errors: the *rbac.DeniedError of rbac.Check or rbac.CheckAssignRole,
// naming the missing permission (UNAUTHENTICATED for the anonymous actor,
// FORBIDDEN otherwise); ErrSelfOnly (or UNAUTHENTICATED for the anonymous
// actor) for a self-only use case; an internal error for an invalid a.
func Authorize(actor rbac.Actor, a Access) error {
	var zero rbac.Permission
	if a.Public {
		if a.Permission != zero || a.Owner != "" || a.Self || a.AssignRole != "" {
			return fmt.Errorf("%w: public access with a permission, owner or role", errInvalidAccess)
		}
		return nil
	}
	if a.Self && a.Permission == zero && actor.Anonymous() {
		return errSelfOnlyAnonymous
	}
	if a.Self && a.Owner == "" {
		return fmt.Errorf("%w: self access without an owner", errInvalidAccess)
	}
	self := a.Self && !actor.Anonymous() && !actor.APIKey() && actor.UserID() == a.Owner
	switch {
	case self:
	case a.Permission != zero:
		if err := rbac.Check(actor, a.Permission, a.Owner); err != nil {
			return err
		}
	case a.Self:
		return ErrSelfOnly
	default:
		return fmt.Errorf("%w: neither public, nor a permission, nor self", errInvalidAccess)
	}
	if a.AssignRole != "" {
		return rbac.CheckAssignRole(actor, a.AssignRole)
	}
	return nil
}

// ModuleGate answers whether a tenant has a module enabled. The tenant
// module's read side implements it for optional modules; core modules are
// always enabled (AlwaysEnabled). Implementations are safe for concurrent
// use.
type ModuleGate interface {
	// ModuleEnabled reports whether the tenant tenantID has the module
	// enabled. An error is internal (the answer is unknown).
	ModuleEnabled(ctx context.Context, tenantID, module string) (bool, error)
}

// AlwaysEnabled is the ModuleGate of core modules (tenant, rbac, index),
// which no tenant can switch off: it enables every module.
type AlwaysEnabled struct{}

// ModuleEnabled returns true.
func (AlwaysEnabled) ModuleEnabled(context.Context, string, string) (bool, error) { return true, nil }

// ErrNoTenant is internal: a command reached the pipeline without the
// tenant of the authenticated request. The transport sets it; a client
// never does.
var ErrNoTenant = errors.New("commands: command without a tenant")

// Run is one run of a use case through a Pipeline: who asks, in which
// tenant, what they need, and the input checks.
type Run struct {
	// TenantID is the resolved tenant of the request (never client input).
	TenantID string
	// Actor is the authenticated actor of the request (never client input).
	Actor rbac.Actor
	// Meta goes into the log with every event. Its ActorID, when empty, is
	// set to the actor's user id.
	Meta eventstore.Metadata
	// Access is what the use case requires of Actor (see Authorize).
	Access Access
	// Validate, when not nil, checks the command's input before anything
	// else, without I/O; its error is returned as it is.
	Validate func() error
}

// Decision is what a use case decided: the events to append and the
// reservations (eventstore.Reserve, eventstore.Release) to take or drop in
// the same append. No events means a no-op: nothing is appended, and the
// reservations are ignored.
type Decision[E eventstore.Recordable] struct {
	Events       []E
	Reservations []eventstore.AppendOption
}

// Decide returns a Decision of events and reservations, or err with no
// Decision when the aggregate refused: it turns what a decision method
// returns (its events and its error) into what a use case decides.
func Decide[E eventstore.Recordable](events []E, err error, reservations ...eventstore.AppendOption) (Decision[E], error) {
	if err != nil {
		return Decision[E]{}, err
	}
	return Decision[E]{Events: events, Reservations: reservations}, nil
}

// RetryStale runs f, and once more if it failed with ErrStaleVersion: the
// stream moved on between load and append, and f, which loads it again,
// decides on the newer state. The second answer is returned as it is.
func RetryStale(f func() (Result, error)) (Result, error) {
	res, err := f()
	if errors.Is(err, ErrStaleVersion) {
		return f()
	}
	return res, err
}

// Pipeline runs the use cases of one aggregate in the one fixed order of
// every command: validate → authorize → module enabled → (load) → decide →
// append. It returns Result{Position} of the last event appended (0 for a
// no-op); the "wait" for read-your-writes is the transport's: it passes the
// position to the queries (docs/adr/0025). A Pipeline is a value built once
// per handler; it is safe for concurrent use.
type Pipeline[A any, E eventstore.Recordable] struct {
	// Repo loads and appends the aggregate.
	Repo Repository[A, E]
	// Module is the slug of the module the use cases belong to.
	Module string
	// Modules says whether the tenant has Module enabled.
	Modules ModuleGate
	// TenantOf returns the tenant of a loaded aggregate: Change refuses an
	// aggregate of another tenant as Repo.NotFound, so that no command can
	// reach another tenant's data by id.
	TenantOf func(A) string
}

// Create runs a use case that starts the aggregate id: validate, authorize,
// check the module, decide, and append at eventstore.NoStream. A stream that
// already exists is commands.ErrStaleVersion (CONFLICT); ids should be new.
func (p Pipeline[A, E]) Create(ctx context.Context, run Run, id string, decide func(ctx context.Context) (Decision[E], error)) (Result, error) {
	if err := p.before(ctx, &run); err != nil {
		return Result{}, err
	}
	d, err := decide(ctx)
	if err != nil {
		return Result{}, err
	}
	return p.append(ctx, run, id, eventstore.NoStream, d)
}

// Change runs a use case on the existing aggregate id: validate, authorize,
// check the module, load, decide on the loaded aggregate, and append at the
// version loaded, so that a concurrent change is ErrStaleVersion rather than
// a lost update. A missing aggregate, or one of another tenant, is
// Repo.NotFound.
func (p Pipeline[A, E]) Change(ctx context.Context, run Run, id string, decide func(ctx context.Context, a A) (Decision[E], error)) (Result, error) {
	if err := p.before(ctx, &run); err != nil {
		return Result{}, err
	}
	a, version, err := p.Repo.Load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if p.TenantOf(a) != run.TenantID {
		return Result{}, fmt.Errorf("%s %s in tenant %s: %w", p.Repo.StreamType, id, run.TenantID, p.Repo.NotFound)
	}
	d, err := decide(ctx, a)
	if err != nil {
		return Result{}, err
	}
	return p.append(ctx, run, id, version, d)
}

// before runs the steps that need nothing loaded: validate, authorize,
// module enabled.
func (p Pipeline[A, E]) before(ctx context.Context, run *Run) error {
	if run.TenantID == "" {
		return ErrNoTenant
	}
	if p.Modules == nil || p.TenantOf == nil || p.Module == "" {
		return fmt.Errorf("commands: pipeline of %s without module, module gate or tenant accessor", p.Repo.StreamType)
	}
	if run.Validate != nil {
		if err := run.Validate(); err != nil {
			return err
		}
	}
	if err := Authorize(run.Actor, run.Access); err != nil {
		return err
	}
	enabled, err := p.Modules.ModuleEnabled(ctx, run.TenantID, p.Module)
	if err != nil {
		return fmt.Errorf("module %s of tenant %s: %w", p.Module, run.TenantID, err)
	}
	if !enabled {
		return domain.ModuleDisabled(p.Module)
	}
	if run.Meta.ActorID == "" {
		run.Meta.ActorID = run.Actor.UserID()
	}
	return nil
}

func (p Pipeline[A, E]) append(ctx context.Context, run Run, id string, expected int64, d Decision[E]) (Result, error) {
	stream := eventstore.Stream{Type: p.Repo.StreamType, ID: id, TenantID: run.TenantID}
	opts := append([]eventstore.AppendOption{eventstore.WithMetadata(run.Meta)}, d.Reservations...)
	return p.Repo.Append(ctx, stream, expected, d.Events, opts...)
}
