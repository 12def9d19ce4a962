// Package rbac decides who may do what: the permissions (resource:action),
// the role matrix of DOMAIN.md as data, and Check, the one function every
// command handler and every resolver calls before it acts.
//
// A permission is held either for any resource of its kind or, for the "own"
// scope, only for resources the actor owns (customers updating their own
// comments). The effective check is: the exact permission, or
// resource:manage, which implies every action on the resource.
//
// An Actor is anonymous (the zero Actor), a user acting with a role, or an
// API key: the key's explicit permission set, capped at the current role of
// the user who created it, so that demoting the user shrinks the key too.
// CheckGrant tells whether an actor may hand out a set of permissions (to an
// API key, or by assigning a role); nobody grants what they do not hold.
//
// The package is pure and its values are immutable: everything is safe for
// concurrent use.
package rbac
