package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/commands"
	apikeycmd "github.com/rustok/rustok/commands/apikey"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/apikeycache"
	apikeyproj "github.com/rustok/rustok/projections/apikey"
	userproj "github.com/rustok/rustok/projections/user"
	apikeyqry "github.com/rustok/rustok/queries/apikey"
	userqry "github.com/rustok/rustok/queries/user"
	httpserver "github.com/rustok/rustok/transport/http"
	"github.com/rustok/rustok/transport/http/tenancy"
)

// apiKeys is the API key side of the identity: the commands, the reader,
// the last-use recorder and the cache that authenticates keys without a
// query in steady state.
type apiKeys struct {
	create apikeycmd.CreateHandler
	revoke commands.Handler[apikeycmd.RevokeAPIKey]
	reader *apikeyqry.Reader
	usage  *apikeyqry.Usage
	cache  *apikeycache.Cache
}

func newAPIKeys(a *app, dec commands.Decorators, newID func() (string, error), users *userqry.Reader) apiKeys {
	d := apikeycmd.Deps{Store: a.store, Modules: commands.AlwaysEnabled{}, NewID: newID, Now: time.Now}
	reader := apikeyqry.NewReader(a.db)
	k := apiKeys{
		create: apikeycmd.NewCreateAPIKeyHandler(d, dec),
		revoke: apikeycmd.NewRevokeAPIKeyHandler(d, dec),
		reader: reader,
		usage:  apikeyqry.NewUsage(a.db, apikeyqry.UsageConfig{}),
	}
	k.cache = apikeycache.New(apikeycache.Config{}, func(ctx context.Context, prefix, hash string) (apikeycache.Entry, bool, error) {
		cands, err := reader.ByPrefix(ctx, prefix)
		if err != nil {
			return apikeycache.Entry{}, false, err
		}
		c, ok := apikeyqry.Match(cands, hash)
		if !ok {
			return apikeycache.Entry{}, false, nil
		}
		perms, err := rbac.ParsePermissions(c.Permissions)
		if err != nil {
			// Validated when the key was created: the stored row is corrupt.
			return apikeycache.Entry{}, false, fmt.Errorf("permissions of API key %s: %w", c.ID, err)
		}
		e := apikeycache.Entry{KeyID: c.ID, TenantID: c.TenantID, Permissions: perms, ExpiresAt: c.ExpiresAt, Revoked: c.Revoked, CreatedBy: c.CreatedBy}
		u, err := users.Get(ctx, c.TenantID, c.CreatedBy)
		switch {
		case errors.Is(err, userqry.ErrNotFound):
			// The creator was deleted: the key can do nothing.
		case err != nil:
			return apikeycache.Entry{}, false, err
		default:
			e.CreatorRole, e.CreatorActive = string(u.Role), u.Status == user.StatusActive
		}
		return e, true, nil
	})
	return k
}

var (
	errBadKey       = domain.Unauthenticated("invalid API key")
	errKeyRevoked   = domain.Unauthenticated("the API key was revoked")
	errKeyExpired   = domain.Unauthenticated("the API key has expired")
	errKeyNoCreator = domain.Unauthenticated("the API key's creator may no longer act")
	errKeyOtherTen  = domain.Forbidden("the API key belongs to another tenant")
)

// authenticateKey is authenticate for `Bearer rtk_…`: the key, found by
// the hash of its secret (through the cache), must be neither revoked nor
// expired, belong to the request's tenant (unless its creator is a
// super_admin) and have a creator who may still act; the actor holds the
// key's permissions within the creator's current role.
func (id *identity) authenticateKey(ctx context.Context, raw string) (httpserver.Identity, error) {
	prefix, hash, err := apikey.ParseSecret(raw)
	if err != nil {
		return httpserver.Identity{}, errBadKey.Wrap(err)
	}
	e, found, err := id.keys.cache.Get(ctx, prefix, hash)
	switch {
	case err != nil:
		return httpserver.Identity{}, fmt.Errorf("look up API key: %w", err)
	case !found:
		return httpserver.Identity{}, errBadKey
	case e.Revoked:
		return httpserver.Identity{}, errKeyRevoked
	case e.ExpiresAt != nil && !time.Now().Before(*e.ExpiresAt):
		return httpserver.Identity{}, errKeyExpired
	case !e.CreatorActive:
		return httpserver.Identity{}, errKeyNoCreator
	}
	role := rbac.Role(e.CreatorRole)
	if t := tenantID(ctx); t != "" && t != e.TenantID && role != rbac.RoleSuperAdmin {
		return httpserver.Identity{}, errKeyOtherTen
	}
	actor, err := rbac.KeyActor(e.CreatedBy, role, e.Permissions)
	if err != nil {
		return httpserver.Identity{}, errKeyNoCreator.Wrap(err)
	}
	if err := id.keys.usage.Touch(ctx, e.TenantID, e.KeyID, time.Now()); err != nil {
		id.a.logger.WarnContext(ctx, "record API key use", "key_id", e.KeyID, "error", err)
	}
	return httpserver.Identity{Actor: actor, UserID: e.CreatedBy, TenantID: e.TenantID}, nil
}

// keyFollowHandler keeps the key cache in step with the log on every
// instance: a revoked key, once the api_keys projection has it, and the
// keys of a user whose role or status changed or who was deleted, once
// the users projection has it.
func (id *identity) keyFollowHandler() relay.FollowHandler {
	return func(ctx context.Context, e eventstore.Event) error {
		var consumer string
		switch {
		case e.Type == apikey.TypeRevoked:
			consumer = apikeyproj.Name
		case e.Type == user.TypeRoleChanged || e.Type == user.TypeStatusChanged || e.Type == user.TypeDeleted:
			consumer = userproj.Name
		case e.Type == cacheFlushedType:
			id.keys.cache.InvalidateAll()
			return nil
		default:
			return nil
		}
		ok, err := id.waiter.WaitFor(ctx, e.Position, []string{consumer}, projectionWait)
		if err == nil && !ok {
			id.a.logger.Warn("API key cache: projection behind; invalidating anyway", "consumer", consumer, "position", e.Position)
		}
		if e.Type == apikey.TypeRevoked {
			id.keys.cache.InvalidateKey(e.Stream.ID)
		} else {
			id.keys.cache.InvalidateUser(e.Stream.ID)
		}
		return err
	}
}

// keyView is an API key as the list shows it.
type keyView = apikeyqry.View

// createAPIKey creates a key of the request's tenant; the secret is in the
// answer only.
func (id *identity) createAPIKey(ctx context.Context, name string, perms []string, expiresAt *time.Time) (apikeycmd.Created, error) {
	if err := tenancy.Require(ctx); err != nil {
		return apikeycmd.Created{}, err
	}
	c, err := id.keys.create.Handle(ctx, apikeycmd.CreateAPIKey{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx),
		Name: name, Permissions: perms, ExpiresAt: expiresAt,
	})
	if err != nil {
		return apikeycmd.Created{}, err
	}
	return c, id.await(ctx, c.Result.Position, apikeyproj.Name)
}

// revokeAPIKey revokes a key of the request's tenant: refused from the
// very next request on, here at once and on other instances as soon as
// their followers read the event.
func (id *identity) revokeAPIKey(ctx context.Context, keyID string) (int64, error) {
	if err := tenancy.Require(ctx); err != nil {
		return 0, err
	}
	res, err := id.keys.revoke.Handle(ctx, apikeycmd.RevokeAPIKey{
		TenantID: tenantID(ctx), Actor: httpserver.ActorFrom(ctx), Meta: requestMeta(ctx), ID: keyID,
	})
	if err != nil {
		return 0, err
	}
	if err := id.await(ctx, res.Position, apikeyproj.Name); err != nil {
		return res.Position, err
	}
	id.keys.cache.InvalidateKey(keyID)
	return res.Position, nil
}

// listAPIKeys lists the keys of the request's tenant (settings:list).
func (id *identity) listAPIKeys(ctx context.Context) ([]keyView, error) {
	if err := tenancy.Require(ctx); err != nil {
		return nil, err
	}
	if err := rbac.Check(httpserver.ActorFrom(ctx), rbac.P(rbac.ResourceSettings, rbac.ActionList), ""); err != nil {
		return nil, err
	}
	return id.keys.reader.List(ctx, tenantID(ctx))
}
