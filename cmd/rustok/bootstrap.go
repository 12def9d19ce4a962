package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain/rbac"
	tenantdom "github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/eventstore"
	tenantproj "github.com/rustok/rustok/projections/tenant"
	userproj "github.com/rustok/rustok/projections/user"
)

// The environment variables of the super admin bootstrap (CONTRACT.md
// "Who administers whom"). They are no configuration keys: they act once,
// at the start that finds no such user.
const (
	superAdminEmailEnv    = "SUPERADMIN_EMAIL"
	superAdminPasswordEnv = "SUPERADMIN_PASSWORD"
)

// bootstrapActorID is the actor recorded in the events of the bootstrap.
const bootstrapActorID = "system:superadmin-bootstrap"

// defaultTenantSlug is the slug of the default tenant that the bootstrap
// creates when settings.rustok.tenant.default_id is unset, or an id nobody
// holds.
const defaultTenantSlug = "default"

// bootstrapSuperAdmin makes sure, before s listens, that the platform's
// super admin of SUPERADMIN_EMAIL / SUPERADMIN_PASSWORD exists: in the
// tenant of settings.rustok.tenant.default_id (an id or a slug, as tenant
// resolution reads it), which it creates when missing, a user with that
// email and the role super_admin. A user with that email found there is
// left exactly as it is (password, role, status) and the log says so: the
// variables create the super admin once, they do not manage it. Without
// either variable it does nothing; without a default_id it uses the tenant
// "default". With one variable only it refuses to start. The password is
// never logged.
//
// A worker (no HTTP, so no identity) ignores the variables: they are the
// API server's.
func (c *cli) bootstrapSuperAdmin(ctx context.Context, s *server) error {
	email, password := c.getenv(superAdminEmailEnv), c.getenv(superAdminPasswordEnv)
	if (email == "" && password == "") || s.identity == nil {
		return nil
	}
	if email == "" || password == "" {
		return fmt.Errorf("%s and %s must be set together (they create the super admin) or not at all", superAdminEmailEnv, superAdminPasswordEnv)
	}
	a := s.a
	defaultID := a.cfg.Settings.Rustok.Tenant.DefaultID
	if defaultID == "" {
		// Nothing configured: the super admin's home is the tenant
		// "default", so that the two variables alone work in an empty
		// directory.
		defaultID = defaultTenantSlug
	}
	ref, err := tenantdom.ParseIdentifier(defaultID)
	if err != nil {
		return fmt.Errorf("settings.rustok.tenant.default_id: %w", err)
	}
	email, err = user.NormalizeEmail(email)
	if err != nil {
		return fmt.Errorf("%s: %w", superAdminEmailEnv, err)
	}
	// Checked before anything is written: a refused password must not
	// leave a new tenant without its admin.
	if err := (user.Policy{MinLength: a.cfg.Auth.Password.MinLength}).Check(password, email); err != nil {
		return fmt.Errorf("%s: %w", superAdminPasswordEnv, err)
	}
	th, err := newTenantHandlers(a)
	if err != nil {
		return err
	}
	rid, err := uuid.NewV7()
	if err != nil {
		return err
	}
	meta := eventstore.Metadata{ActorID: bootstrapActorID, RequestID: rid.String(), CorrelationID: rid.String()}
	who, err := rbac.UserActor(bootstrapActorID, rbac.RoleSuperAdmin)
	if err != nil {
		return err
	}

	spec := tenantSpec{ref: ref, slug: ref.Value, name: ref.Value}
	if ref.Kind == tenantdom.KindID {
		spec.slug, spec.name = defaultTenantSlug, "Default"
	}
	tenantID, tenantPos, err := ensureTenant(ctx, a, th.create, meta, spec)
	if err != nil {
		return fmt.Errorf("create the default tenant %s for the super admin: %w", defaultID, err)
	}
	if tenantPos > 0 {
		a.logger.Info("default tenant created for the super admin", "tenant", defaultID, "tenant_id", tenantID)
	}
	userID, userPos, role, err := ensureUser(ctx, a, s.identity, who, meta, userSpec{
		tenantID: tenantID, email: email, password: password, role: user.RoleSuperAdmin,
	})
	if err != nil {
		return fmt.Errorf("create the super admin %s: %w", email, err)
	}
	switch {
	case userPos > 0:
		a.logger.Info("super admin created", "email", email, "tenant", defaultID, "user_id", userID)
	case role != user.RoleSuperAdmin:
		a.logger.Warn("a user with "+superAdminEmailEnv+" exists with another role; left unchanged",
			"email", email, "tenant", defaultID, "user_id", userID, "role", role)
	default:
		a.logger.Info("super admin exists; left unchanged", "email", email, "tenant", defaultID, "user_id", userID)
	}

	// The super admin can sign in as soon as the server listens, even
	// with --no-workers.
	if last := max(tenantPos, userPos); last > 0 {
		for _, name := range []string{tenantproj.Name, userproj.Name} {
			if err := a.catchUp(ctx, name, last); err != nil {
				return fmt.Errorf("the super admin is saved (position %d), but updating the %s read model failed: %w", last, name, err)
			}
		}
	}
	if tenantPos > 0 {
		c.publishInvalidation(ctx, a, tenantID)
	}
	return nil
}

// discard releases what newServer built, for a server that will not run.
func (s *server) discard() {
	s.resolver.Close()
	if s.identity != nil {
		_ = s.identity.Close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
	_ = s.a.Close()
}
