package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	tenantcmd "github.com/rustok/rustok/commands/tenant"
	usercmd "github.com/rustok/rustok/commands/user"
	"github.com/rustok/rustok/domain/rbac"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
)

// The provisioning steps shared by `rustok seed`, the super admin
// bootstrap of `serve` and `tenants create --admin-email`. Each looks at
// the log's reservations (a tenant's slug, a user's email), never at a read
// model that may lag, to find what exists already, and writes only through
// the command handlers the API uses.

// cliIdentity builds the user command handlers for a command that runs
// without a server: no relay in the process, so its waiter only polls.
// The caller closes it.
func cliIdentity(a *app) (*identity, error) {
	return newIdentity(a, relay.NewWaiter(a.db, nil))
}

// findTenant returns the id of the tenant ref names (an id or a slug, as
// settings.rustok.tenant.default_id and the CLI take them) and whether it
// exists: a slug through its reservation, an id through its stream.
func findTenant(ctx context.Context, store *eventstore.Store, ref tenantdom.Identifier) (id string, found bool, err error) {
	if ref.Kind == tenantdom.KindID {
		v, err := store.StreamVersion(ctx, tenantdom.StreamType, ref.Value)
		if err != nil {
			return "", false, fmt.Errorf("look up tenant %s: %w", ref.Value, err)
		}
		return ref.Value, v > 0, nil
	}
	holder, found, err := store.ReservationHolder(ctx, commands.ScopeTenantSlug, ref.Value)
	if err != nil {
		return "", false, fmt.Errorf("look up tenant %s: %w", ref.Value, err)
	}
	return holder, found, nil
}

// tenantSpec is a tenant to make sure of.
type tenantSpec struct {
	// ref is its id or slug.
	ref tenantdom.Identifier
	// slug, name and domains are those of a new tenant; slug is ref's
	// value when ref is a slug.
	slug, name string
	domains    []string
}

// ensureTenant creates the tenant of spec unless it exists, and returns its
// id and whether this call created it. A creation refused because a
// concurrent one took the slug or id first (another instance starting) is
// no error once the lookup finds the tenant.
func ensureTenant(ctx context.Context, a *app, create commands.Handler[tenantcmd.CreateTenant], meta eventstore.Metadata, spec tenantSpec) (id string, pos int64, err error) {
	id, found, err := findTenant(ctx, a.store, spec.ref)
	if err != nil || found {
		return id, 0, err
	}
	cmd := tenantcmd.CreateTenant{Slug: spec.slug, Name: spec.name, Domains: spec.domains, Actor: meta}
	if spec.ref.Kind == tenantdom.KindID {
		cmd.ID = spec.ref.Value
	} else if cmd.ID, err = provisionID(); err != nil {
		return "", 0, err
	}
	res, cerr := create.Handle(ctx, cmd)
	if cerr == nil {
		return cmd.ID, res.Position, nil
	}
	if id, found, err := findTenant(ctx, a.store, spec.ref); err == nil && found {
		return id, 0, nil
	}
	return "", 0, cerr
}

// userSpec is a user to make sure of.
type userSpec struct {
	tenantID, email, name, password string
	role                            user.Role
}

// ensureUser creates the user of spec unless the tenant has a user with
// that email already, and returns the user's id, whether this call created
// it, and the role of a user found (the role given for a new one). A user
// found is left exactly as it is: its role, password and status are not
// touched. A creation refused because a concurrent one took the email
// first is no error once the lookup finds the user.
func ensureUser(ctx context.Context, a *app, id *identity, who rbac.Actor, meta eventstore.Metadata, spec userSpec) (userID string, pos int64, role user.Role, err error) {
	userID, found, err := userByEmail(ctx, a.store, spec.tenantID, spec.email)
	if err != nil {
		return "", 0, "", err
	}
	if !found {
		if userID, err = id.newID(); err != nil {
			return "", 0, "", err
		}
		res, cerr := id.accounts.create.Handle(ctx, usercmd.CreateUser{
			TenantID: spec.tenantID, Actor: who, Meta: meta, ID: userID,
			Email: spec.email, Password: spec.password, Name: spec.name, Role: spec.role,
		})
		if cerr == nil {
			return userID, res.Position, spec.role, nil
		}
		if userID, found, err = userByEmail(ctx, a.store, spec.tenantID, spec.email); err != nil || !found {
			return "", 0, "", cerr
		}
	}
	u, err := userFromLog(ctx, a.store, userID)
	if err != nil {
		return "", 0, "", err
	}
	return userID, 0, u.Role(), nil
}

// userByEmail returns the id of the user of tenantID whose email is email
// (any case), through the email's reservation, and whether there is one.
func userByEmail(ctx context.Context, store *eventstore.Store, tenantID, email string) (string, bool, error) {
	value, err := user.EmailReservation(tenantID, email)
	if err != nil {
		return "", false, err
	}
	id, found, err := store.ReservationHolder(ctx, user.EmailScope, value)
	if err != nil {
		return "", false, fmt.Errorf("look up user %s: %w", email, err)
	}
	return id, found, nil
}

// userFromLog rebuilds user id from the log.
func userFromLog(ctx context.Context, store *eventstore.Store, id string) (*user.User, error) {
	evs, err := store.Load(ctx, user.StreamType, id)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	history := make([]user.Event, 0, len(evs))
	for _, ev := range evs {
		e, err := user.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
		if err != nil {
			return nil, fmt.Errorf("load user %s: %w", id, err)
		}
		history = append(history, e)
	}
	u, err := user.Load(history)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}

// provisionID returns a new lowercase UUIDv7, the form of every id.
func provisionID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}
