package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
)

// CreateAPIKey creates an API key of the actor's tenant.
type CreateAPIKey struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must be a user holding settings:create and every permission of
	// Permissions.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// Name is the key's display name (apikey.NormalizeName).
	Name string
	// Permissions are what the key may do, "resource:action" strings
	// (apikey.ParsePermissions): 1 to 100, duplicates dropped.
	Permissions []string
	// ExpiresAt is the key's expiry, nil for none; in the future and at most
	// apikey.MaxLifetime ahead.
	ExpiresAt *time.Time
}

// LogAttrs returns the tenant, the permissions asked and the request's ids
// for the log line.
func (c CreateAPIKey) LogAttrs() []slog.Attr {
	return append(logAttrs(c.TenantID, "", c.Actor, c.Meta), slog.Int("permissions", len(c.Permissions)))
}

// Created is the answer of CreateAPIKey.
type Created struct {
	// ID is the new key's id.
	ID string
	// Secret is the key's secret, "rtk_" and 43 characters: shown to the
	// client once, stored nowhere (only its hash is). Never logged.
	Secret string
	// Prefix is the secret's public first 12 characters.
	Prefix string
	// Result holds the log position of the api_key.created event, for
	// read-your-writes.
	Result commands.Result
}

// CreateHandler handles CreateAPIKey, whose answer holds the secret.
// Implementations are safe for concurrent use.
type CreateHandler interface {
	// Handle runs the command. Errors are application errors (package
	// domain) for anything the caller caused, and internal errors otherwise.
	Handle(ctx context.Context, cmd CreateAPIKey) (Created, error)
}

// createCall carries a command and the slot of its answer through a
// decorated commands.Handler, so that CreateAPIKey is logged and measured as
// every command is.
type createCall struct {
	cmd CreateAPIKey
	out *Created
}

// LogAttrs returns the command's log fields.
func (c createCall) LogAttrs() []slog.Attr { return c.cmd.LogAttrs() }

type createHandler struct {
	next commands.Handler[createCall]
}

func (h createHandler) Handle(ctx context.Context, cmd CreateAPIKey) (Created, error) {
	out := new(Created)
	if _, err := h.next.Handle(ctx, createCall{cmd: cmd, out: out}); err != nil {
		return Created{}, err
	}
	return *out, nil
}

type createAPIKey struct{ deps Deps }

// NewCreateAPIKeyHandler returns the handler of CreateAPIKey, decorated as
// "api_key.create". It draws a secret (apikey.NewSecret) and records
// api_key.created with the secret's prefix and hash, the normalized name,
// the permissions (sorted, without duplicates), the expiry and the actor as
// creator; the answer holds the secret, which nothing else ever shows.
//
// The order: the input is validated (name, permissions, expiry), then the
// actor must hold settings:create, then the module is checked, then an API
// key actor is refused and every requested permission must be one the actor
// holds (rbac.CheckGrant).
//
// Errors: apikey.ErrInvalidName, apikey.ErrNoPermissions,
// apikey.ErrTooManyPermissions, an error wrapping rbac.ErrInvalidPermission,
// apikey.ErrExpiryNotInFuture, apikey.ErrExpiryTooFar (BAD_USER_INPUT); a
// *rbac.DeniedError naming settings:create (UNAUTHENTICATED for the
// anonymous actor, FORBIDDEN otherwise); a MODULE_DISABLED error;
// ErrKeyCannotCreate; a *rbac.DeniedError (FORBIDDEN, ReasonNotGrantable)
// naming the first requested permission the actor does not hold;
// ErrKeyExists. On any error nothing is written.
//
// It panics if d lacks Store, Modules, NewID or Now.
func NewCreateAPIKeyHandler(d Deps, dec commands.Decorators) CreateHandler {
	d.check("NewCreateAPIKeyHandler", true)
	return createHandler{next: commands.Decorate[createCall]("api_key.create", createAPIKey{deps: d}, dec)}
}

func (h createAPIKey) Handle(ctx context.Context, c createCall) (commands.Result, error) {
	cmd, d := c.cmd, h.deps
	id, err := d.NewID()
	if err != nil {
		return commands.Result{}, fmt.Errorf("create API key: new id: %w", err)
	}
	secret, prefix, hash, err := apikey.NewSecret(d.random())
	if err != nil {
		return commands.Result{}, fmt.Errorf("create API key: %w", err)
	}
	at := d.Now()
	spec := apikey.Spec{
		ID: id, TenantID: cmd.TenantID, CreatedBy: cmd.Actor.UserID(), Name: cmd.Name,
		Permissions: cmd.Permissions, ExpiresAt: cmd.ExpiresAt, Prefix: prefix, SecretHash: hash,
	}
	res, err := pipeline(d).Create(ctx, commands.Run{
		TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
		Access:   commands.Access{Permission: permCreate},
		Validate: func() error { return validate(spec, at) },
	}, id, func(context.Context) (commands.Decision[apikey.Event], error) {
		if cmd.Actor.APIKey() {
			return commands.Decision[apikey.Event]{}, ErrKeyCannotCreate
		}
		k, events, err := apikey.Create(spec, at)
		if err != nil {
			return commands.Decision[apikey.Event]{}, err
		}
		if err := rbac.CheckGrant(cmd.Actor, k.Permissions()); err != nil {
			return commands.Decision[apikey.Event]{}, err
		}
		return commands.Decision[apikey.Event]{Events: events}, nil
	})
	if errors.Is(err, eventstore.ErrConcurrencyConflict) {
		// Only a reused id can already exist at NoStream.
		err = ErrKeyExists.Wrap(err)
	}
	if err != nil {
		return commands.Result{}, fmt.Errorf("create API key: %w", err)
	}
	*c.out = Created{ID: id, Secret: secret, Prefix: prefix, Result: res}
	return res, nil
}

// validate checks the client's input (name, permissions, expiry) before
// authorization, through a dry run of apikey.Create. The ids come from the
// server: a creator that is not a UUID (the anonymous actor has none) is
// left to authorization, which refuses it.
func validate(spec apikey.Spec, at time.Time) error {
	if spec.CreatedBy == "" {
		// The anonymous actor: a dry run needs some creator id.
		spec.CreatedBy = spec.ID
	}
	if _, _, err := apikey.Create(spec, at); err != nil && !errors.Is(err, apikey.ErrInvalidInput) {
		return err
	}
	return nil
}
