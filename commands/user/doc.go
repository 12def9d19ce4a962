// Package user handles the user commands: public sign-up (RegisterUser),
// creating a user as an administrator (CreateUser), updating a profile
// (UpdateUser), changing a role (ChangeRole) or a status (ChangeStatus),
// deleting a user (DeleteUser) and changing one's own password
// (ChangePassword). Other packages import it as usercmd.
//
// Every handler runs through commands.Pipeline in the one fixed order:
// validate the input, authorize the actor the command carries with
// rbac.Check (the permission is declared from the input, before anything is
// loaded), check that the tenant has the module enabled (users belong to the
// core module rbac), load the user, let the aggregate of domain/user decide,
// and append its events in one append at the version loaded. A concurrent
// change is a CONFLICT (commands.ErrStaleVersion), a decision that changes
// nothing appends nothing and returns commands.Result{Position: 0}.
//
// The tenant and the actor of a command come from the authenticated request,
// never from client input. A user of another tenant is NOT_FOUND, as is a
// deleted one (user.ErrDeleted).
//
// Emails are unique within a tenant through the event store reservation
// user.EmailScope / user.EmailReservation, taken, moved or released in the
// same append as the events: a taken email is a CONFLICT on the field email,
// whatever its case, and of two sign-ups racing for one email exactly one
// wins.
//
// Passwords are checked against user.Policy before they are hashed, and are
// hashed (or verified) through Hasher, which *password.Hasher implements;
// a hasher with no free slot is ErrBusy. Passwords are never logged.
//
// The handlers are safe for concurrent use.
package user
