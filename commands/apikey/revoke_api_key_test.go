package apikey_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/commands"
	apikeycmd "github.com/rustok/rustok/commands/apikey"
	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/domain/rbac"
	"github.com/rustok/rustok/platform/database/dbtest"
)

func TestRevokeAPIKey(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		ctx := context.Background()
		admin := actor(t, rbac.RoleAdmin)
		revoke := func(a rbac.Actor, tenant, id string) (commands.Result, error) {
			return e.revoke.Handle(ctx, apikeycmd.RevokeAPIKey{TenantID: tenant, Actor: a, ID: id})
		}
		key := e.mustCreate(t, admin, "products:read")
		before := e.head(t)

		_, err := revoke(actor(t, rbac.RoleManager), e.tenant, key.ID)
		wantCode(t, err, domain.CodeForbidden, rbac.ErrForbidden)
		wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionDelete), rbac.ReasonMissing)
		_, err = revoke(rbac.Anonymous(), e.tenant, key.ID)
		wantCode(t, err, domain.CodeUnauthenticated, nil)
		_, err = revoke(admin, e.other, key.ID)
		wantCode(t, err, domain.CodeNotFound, apikeycmd.ErrNotFound)
		_, err = revoke(admin, e.tenant, uuid.NewString())
		wantCode(t, err, domain.CodeNotFound, apikeycmd.ErrNotFound)
		for _, bad := range []string{"", "key", key.ID + " ", "01900000-0000-7000-8000-0000000000AB"} {
			_, err = revoke(admin, e.tenant, bad)
			wantCode(t, err, domain.CodeBadInput, apikeycmd.ErrInvalidID)
		}
		if h := e.head(t); h != before {
			t.Fatalf("refused revocations appended: head %d → %d", before, h)
		}

		e.clock.advance(time.Hour)
		other := actor(t, rbac.RoleAdmin)
		res, err := revoke(other, e.tenant, key.ID)
		if err != nil || res.Position == 0 {
			t.Fatalf("revoke: %+v, %v", res, err)
		}
		at, by, ok := e.load(t, key.ID).Revoked()
		if !ok || by != other.UserID() || !at.Equal(t0.Add(time.Hour)) {
			t.Errorf("Revoked = %v, %q, %v", at, by, ok)
		}
		if err := e.load(t, key.ID).CheckActive(t0.Add(2 * time.Hour)); err != apikey.ErrRevoked {
			t.Errorf("CheckActive = %v", err)
		}
		// Revoking again is a no-op.
		res, err = revoke(admin, e.tenant, key.ID)
		if err != nil || res.Position != 0 || e.load(t, key.ID).Version() != 2 {
			t.Fatalf("revoke again: %+v, %v", res, err)
		}
	})
}

func TestRevokeAPIKeyByAnAPIKey(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		key := e.mustCreate(t, actor(t, rbac.RoleAdmin), "products:read")
		ctx := context.Background()
		_, err := e.revoke.Handle(ctx, apikeycmd.RevokeAPIKey{TenantID: e.tenant, Actor: keyActor(t, rbac.P(rbac.ResourceProducts, rbac.ActionRead)), ID: key.ID})
		wantDenied(t, err, rbac.P(rbac.ResourceSettings, rbac.ActionDelete), rbac.ReasonMissing)
		res, err := e.revoke.Handle(ctx, apikeycmd.RevokeAPIKey{TenantID: e.tenant, Actor: keyActor(t, rbac.P(rbac.ResourceSettings, rbac.ActionDelete)), ID: key.ID})
		if err != nil || res.Position == 0 {
			t.Fatalf("revoke by a key holding settings:delete: %+v, %v", res, err)
		}
	})
}

// TestConcurrentRevocations: of revocations racing for one key exactly one
// appends; the others are no-ops, not conflicts.
func TestConcurrentRevocations(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		admin := actor(t, rbac.RoleAdmin)
		key := e.mustCreate(t, admin, "products:read")
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			appended  int
			failures  []error
			positions []int64
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.revoke.Handle(context.Background(), apikeycmd.RevokeAPIKey{TenantID: e.tenant, Actor: admin, ID: key.ID})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
				}
				if res.Position > 0 {
					appended++
				}
				positions = append(positions, res.Position)
			}()
		}
		wg.Wait()
		if len(failures) > 0 || appended != 1 {
			t.Fatalf("positions %v, errors %v; want exactly one append and no error", positions, failures)
		}
		if v := e.load(t, key.ID).Version(); v != 2 {
			t.Errorf("version %d", v)
		}
	})
}
