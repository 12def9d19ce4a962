// Package apikey handles the API key commands: creating a key for an
// integration (CreateAPIKey), which answers its secret once, and revoking
// one (RevokeAPIKey). Other packages import it as apikeycmd.
//
// Every handler runs through commands.Pipeline on the API key aggregate of
// domain/apikey (validate → authorize → module enabled → load → decide →
// append); API keys belong to the core module rbac. Creating needs
// settings:create and every requested permission (rbac.CheckGrant: nobody
// grants what they do not hold); an API key cannot create keys. Revoking
// needs settings:delete; a key of another tenant is NOT_FOUND, and revoking
// a revoked key is a no-op (commands.Result{Position: 0}).
//
// The secret is drawn from Deps.Random (crypto/rand) by apikey.NewSecret;
// only its prefix and SHA-256 are recorded. Secrets are never logged. See
// docs/adr/0027.
//
// The handlers are safe for concurrent use.
package apikey
