package rbac

import "slices"

// Actor is who asks: anonymous (the zero Actor, which holds no permission),
// a user with a role, or an API key. Build one with Anonymous, UserActor or
// KeyActor; an Actor is an immutable value.
type Actor struct {
	userID string
	role   Role
	// keyPerms is nil for a user and anonymous; for an API key it is the
	// key's explicit permission set (never nil, maybe empty).
	keyPerms []Permission
}

// Anonymous returns the actor of a request without credentials.
func Anonymous() Actor { return Actor{} }

// UserActor returns the actor of a user signed in with role (the "role"
// claim of the access token, or the role of the stored user).
//
// Errors: ErrInvalidRole for an unknown role; an internal error for an
// empty userID.
func UserActor(userID string, role Role) (Actor, error) {
	if userID == "" {
		return Actor{}, errInvalidActor
	}
	if !role.Valid() {
		return Actor{}, ErrInvalidRole
	}
	return Actor{userID: userID, role: role}, nil
}

// KeyActor returns the actor of an API key created by the user userID and
// holding the explicit permissions perms. ownerRole is the owner's current
// role: the key may do only what both its permissions and that role allow,
// in the role's scope. So a key never outgrows its owner, and demoting the
// owner shrinks every key they made. Duplicates in perms are ignored; an
// empty perms gives a key that may do nothing.
//
// Errors: ErrInvalidRole for an unknown role; one wrapping
// ErrInvalidPermission for an invalid permission; an internal error for an
// empty userID.
func KeyActor(userID string, ownerRole Role, perms []Permission) (Actor, error) {
	a, err := UserActor(userID, ownerRole)
	if err != nil {
		return Actor{}, err
	}
	a.keyPerms = make([]Permission, 0, len(perms))
	for _, p := range perms {
		if !p.Valid() {
			return Actor{}, invalidPermission("permission %q is unknown", p.String())
		}
		if !slices.Contains(a.keyPerms, p) {
			a.keyPerms = append(a.keyPerms, p)
		}
	}
	return a, nil
}

// Anonymous reports whether a is the anonymous actor.
func (a Actor) Anonymous() bool { return a.userID == "" }

// APIKey reports whether a is an API key.
func (a Actor) APIKey() bool { return a.keyPerms != nil }

// UserID returns the id of the user (for an API key, of its owner), or ""
// for the anonymous actor.
func (a Actor) UserID() string { return a.userID }

// Role returns the user's role (for an API key, its owner's), or "" for the
// anonymous actor.
func (a Actor) Role() Role { return a.role }

// KeyPermissions returns a copy of an API key's explicit permissions, or nil
// for other actors.
func (a Actor) KeyPermissions() []Permission { return slices.Clone(a.keyPerms) }

// scope returns the scope in which a holds p (directly or through
// resource:manage), preferring ScopeAny, and whether a holds it at all.
func (a Actor) scope(p Permission) (Scope, bool) {
	if a.Anonymous() {
		return "", false
	}
	if a.keyPerms != nil && !slices.Contains(a.keyPerms, p) && !slices.Contains(a.keyPerms, p.manage()) {
		return "", false
	}
	g := roleGrants[a.role]
	s, ok := g[p]
	if ok && s == ScopeAny {
		return s, true
	}
	if m, mok := g[p.manage()]; mok {
		if m == ScopeAny {
			return m, true
		}
		s, ok = m, true
	}
	return s, ok
}
