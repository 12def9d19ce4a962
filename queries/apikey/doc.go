// Package apikey answers API key queries from the API keys read model
// (rm_api_keys, written by projections/apikey) and records when keys are
// used (api_key_usage, written only by Usage). Other packages import it as
// apikeyqry.
//
// Reader.List is the API keys list of a tenant (GraphQL apiKeys): never a
// secret or its hash. Reader.ByPrefix is the authentication lookup: the
// candidate credentials of a presented secret's public prefix, of every
// tenant (the key says which tenant it belongs to; the transport refuses a
// key of another tenant than the request's with FORBIDDEN). Match picks the
// candidate whose hash equals the presented secret's, in constant time.
//
// The read model follows the log: a key created or revoked by a command is
// seen here once the projection has applied the event (see the relay's
// read-your-writes Waiter). A revocation must take effect at once for
// authentication, so the transport's credential cache must be invalidated
// by api_key.revoked, as the principal cache is by session events.
//
// Last use is not an event: one per request would flood the log. Usage
// writes it to api_key_usage, at most once a minute per key and process;
// it is operational data, which a replay of the projection neither rebuilds
// nor clears (docs/adr/0027).
package apikey
