// Package session holds the session aggregate: one signed-in device of one
// user, with its refresh token, absolute lifetime and revocation.
//
// Refresh tokens are opaque and random; this package sees only their hashes.
// Every refresh rotates the token (session.refreshed). Presenting a token the
// session has already rotated away is reuse, the sign of a stolen token, and
// revokes the session, with one exception: the token replaced by the latest
// rotation, presented again within the grace window (a client that lost the
// answer, two tabs refreshing at once), gets the session's current pair
// again (OutcomeSamePair) and changes nothing. A session ends at its
// absolute expiry, however often it is refreshed.
//
// Every decision takes the time as a parameter and Policy for the durations;
// nothing here reads a clock. A Session changes only through its events
// (session.started, session.refreshed, session.revoked), in the same shape
// as package tenant: decisions return the events they produced, already
// applied; Load rebuilds from stored events. A Session is not safe for
// concurrent use.
//
// Sessions are their own streams, not events of the user's stream: a
// refresh of one device then never conflicts with another device or with a
// change of the user. See docs/adr/0022.
package session
