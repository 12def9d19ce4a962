// Package session handles the session commands: signing in with an email
// and a password (SignIn), exchanging a refresh token for a new pair
// (Refresh), signing out (SignOut), ending one session from the sessions
// list (RevokeSession) or all the others (RevokeAll), and, for the user
// commands, ending a user's sessions after a password change or reset, a
// ban or a deletion (Revoker). Other packages import it as sessioncmd.
//
// Every handler runs through commands.Pipeline on the session aggregate of
// domain/session (validate → authorize → module enabled → load → decide →
// append at the version loaded); sessions belong to the core module rbac.
// SignIn and Refresh answer Tokens (the access token of platform/token and
// the refresh token) through TokenHandler, decorated as every command.
//
// Refresh tokens are "<session id>.<secret>" (ParseRefreshToken): the
// session is found by its stream id, and the session stores only the
// SHA-256 of the token. The first secret is 32 random bytes; every rotation
// derives the next one with HMAC-SHA256 under Deps.RefreshKey from the
// session id, the generation and the previous token's hash, so that a
// refresh within the grace window gets the very pair the rotation gave,
// although the pair is not stored. See docs/adr/0026.
//
// SignIn reads the user from the event store (the email reservation, then
// the user's stream), never from a read model, and answers an unknown email
// after a dummy password verification with the same error as a wrong
// password. Passwords and tokens are never logged.
//
// The handlers are safe for concurrent use.
package session
