// Package user answers user queries from the users read model (rm_users,
// written only by projections/user). Other packages import it as userqry.
//
// Every query is scoped to one tenant: it takes the tenant id and filters
// by it, so no query returns another tenant's users. Deleted users are kept
// in the read model as tombstones and never returned. Lists are Relay-style
// connections, newest users first, paged by opaque cursors.
//
// The read model follows the log: a user changed by a command is seen here
// once the users projection has applied the change (see the relay's
// read-your-writes Waiter).
package user
