// Package user holds the user aggregate of one tenant, its events and the
// rules of DOMAIN.md "Users, sessions, roles": email normalization, the
// password policy, roles and statuses, who may sign in, password resets.
//
// A User changes only through its events: a decision method (Rename,
// ChangeRole, ChangePassword, ...) checks the rules and returns the events it
// produced, already applied to the user; Load rebuilds a user by applying
// stored events through the same code. Decisions that would change nothing
// return no events and no error. A deleted user accepts no further decision
// (ErrDeleted). A User is not safe for concurrent use.
//
// Passwords never reach the aggregate: the command layer checks a new
// password with Policy.Check, hashes it (argon2id, platform code) and passes
// the hash. The hash is an opaque string here; it is stored in the events
// (user.registered, user.password_changed), as are reset token hashes, so
// every reader of the log outside the command side must pass events through
// Redact first (history, event stream, webhooks).
//
// Rules that need other users (an email unique in its tenant) are enforced
// by the command layer through an event store reservation in the scope
// EmailScope with the value EmailReservation returns. Sessions are another
// aggregate (package session); permissions are package rbac, whose role
// names are the Role values of this package.
package user
