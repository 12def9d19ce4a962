// Package apikey holds the API key aggregate: a named, tenant-scoped
// credential for integrations, holding an explicit set of permissions
// ("resource:action"), an optional expiry, and a revocation.
//
// The secret is "rtk_" followed by 43 base64url characters (32 random
// bytes, NewSecret); its first 12 characters are the public prefix that
// finds the key, and only its SHA-256 (HashSecret) is stored. The secret
// itself is shown once, by the command that creates the key, and is never
// recorded. A fast hash is enough: the secret has 256 bits of entropy, so
// there is nothing to search (docs/adr/0027).
//
// A key never outgrows its creator: the command layer refuses permissions
// the creator does not hold (rbac.CheckGrant), and at use the key acts as
// rbac.KeyActor, its permissions capped by its creator's current role.
//
// Every decision takes the time as a parameter; nothing here reads a clock.
// An APIKey changes only through its events (api_key.created,
// api_key.revoked), in the shape of packages session and user: decisions
// return the events they produced, already applied; Load rebuilds from
// stored events. An APIKey is not safe for concurrent use.
package apikey
