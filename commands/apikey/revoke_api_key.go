package apikey

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rustok/rustok/commands"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/eventstore"
)

// RevokeAPIKey ends an API key of the actor's tenant.
type RevokeAPIKey struct {
	// TenantID is the tenant of the request.
	TenantID string
	// Actor must hold settings:delete.
	Actor rbac.Actor
	// Meta goes into the log with the event.
	Meta eventstore.Metadata
	// ID is the key to revoke.
	ID string
}

// LogAttrs returns the tenant, the key and the request's ids for the log
// line.
func (c RevokeAPIKey) LogAttrs() []slog.Attr { return logAttrs(c.TenantID, c.ID, c.Actor, c.Meta) }

type revokeAPIKey struct{ deps Deps }

// NewRevokeAPIKeyHandler returns the handler of RevokeAPIKey, decorated as
// "api_key.revoke". It records api_key.revoked with the actor as revoker; a
// key already revoked is a no-op (Result{Position: 0}), also when two
// revocations race (the loser is retried once and finds it revoked). An
// expired key can be revoked.
//
// Errors: ErrInvalidID; a *rbac.DeniedError naming settings:delete
// (UNAUTHENTICATED for the anonymous actor, FORBIDDEN otherwise); a
// MODULE_DISABLED error; ErrNotFound for a key that does not exist or is of
// another tenant; commands.ErrStaleVersion after one retry.
//
// It panics if d lacks Store, Modules or Now.
func NewRevokeAPIKeyHandler(d Deps, dec commands.Decorators) commands.Handler[RevokeAPIKey] {
	d.check("NewRevokeAPIKeyHandler", false)
	return commands.Decorate[RevokeAPIKey]("api_key.revoke", revokeAPIKey{deps: d}, dec)
}

func (h revokeAPIKey) Handle(ctx context.Context, cmd RevokeAPIKey) (commands.Result, error) {
	res, err := commands.RetryStale(func() (commands.Result, error) {
		at := h.deps.Now()
		return pipeline(h.deps).Change(ctx, commands.Run{
			TenantID: cmd.TenantID, Actor: cmd.Actor, Meta: cmd.Meta,
			Access:   commands.Access{Permission: permDelete},
			Validate: func() error { return checkID(cmd.ID) },
		}, cmd.ID, func(_ context.Context, k *apikey.APIKey) (commands.Decision[apikey.Event], error) {
			return commands.Decide(k.Revoke(cmd.Actor.UserID(), at))
		})
	})
	if err != nil {
		return commands.Result{}, fmt.Errorf("revoke API key %s: %w", clip(cmd.ID), err)
	}
	return res, nil
}
