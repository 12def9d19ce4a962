package rbac

// Check reports whether actor may use perm on a resource owned by the user
// owner ("" when the resource has no single owner, such as for create and
// list): the actor must hold perm or perm's resource:manage, for any
// resource or, in the "own" scope, with owner equal to its user id. It
// returns nil when allowed.
//
// Every command handler and every resolver calls Check before acting.
//
// Errors: a *DeniedError naming perm, which is UNAUTHENTICATED (errors.Is
// ErrUnauthenticated) for the anonymous actor and FORBIDDEN (errors.Is
// ErrForbidden) otherwise; an internal error for an invalid perm, so that a
// typo in code fails loudly instead of denying forever.
func Check(actor Actor, perm Permission, owner string) error {
	if !perm.Valid() {
		return errUnknownPermission
	}
	if actor.Anonymous() {
		return &DeniedError{Permission: perm, Reason: ReasonUnauthenticated}
	}
	scope, ok := actor.scope(perm)
	switch {
	case !ok:
		return &DeniedError{Permission: perm, Reason: ReasonMissing}
	case scope == ScopeOwn && (owner == "" || owner != actor.UserID()):
		return &DeniedError{Permission: perm, Reason: ReasonNotOwner}
	}
	return nil
}

// Can reports whether Check(actor, perm, owner) allows; it is what the
// GraphQL field User.can answers.
func Can(actor Actor, perm Permission, owner string) bool {
	return Check(actor, perm, owner) == nil
}

// CheckGrant reports whether actor may grant every permission of perms to
// someone else (an API key it creates, a role it assigns): each one must be
// held by the actor, in any scope (a key given a permission held only for
// the owner's own resources keeps that scope, see KeyActor). A requested
// resource:manage needs resource:manage itself, since it implies actions
// that do not exist yet. It returns nil when allowed, including for an empty
// perms.
//
// Errors: a *DeniedError naming the first permission not held, with
// ReasonUnauthenticated for the anonymous actor and ReasonNotGrantable
// otherwise; one wrapping ErrInvalidPermission for an invalid permission.
func CheckGrant(actor Actor, perms []Permission) error {
	for _, p := range perms {
		if !p.Valid() {
			return invalidPermission("permission %q is unknown", p.String())
		}
		if actor.Anonymous() {
			return &DeniedError{Permission: p, Reason: ReasonUnauthenticated}
		}
		if _, ok := actor.scope(p); !ok {
			return &DeniedError{Permission: p, Reason: ReasonNotGrantable}
		}
	}
	return nil
}

// CheckAssignRole reports whether actor may give a user the role role: it
// needs users:update and must be able to grant every permission of the role
// (CheckGrant), so an admin cannot make a super_admin and a manager cannot
// change roles at all.
//
// Errors: ErrInvalidRole for an unknown role; those of Check and
// CheckGrant.
func CheckAssignRole(actor Actor, role Role) error {
	if !role.Valid() {
		return ErrInvalidRole
	}
	if err := Check(actor, P(ResourceUsers, ActionUpdate), ""); err != nil {
		return err
	}
	return CheckGrant(actor, RolePermissions(role))
}
