// Package apikey keeps the API keys read model (table rm_api_keys) from the
// API key events: one row per key, with its tenant, name, public prefix,
// secret hash, permissions, creator, creation, expiry and revocation. Other
// packages import it as apikeyproj.
//
// Projection is a relay consumer group and a relay.Fold, as the sessions
// projection (projections/session): each batch of events costs one SELECT of
// the batch's keys and one guarded multi-row upsert, whatever its size.
// Every write is guarded by the key stream version held in
// rm_api_keys.version, so a redelivered event changes nothing and a row
// never goes back in time. A revoked key keeps its row (revoked_at): the
// projection never deletes.
//
// The row holds the secret's hash, which authentication compares
// (queries/apikey.Reader.ByPrefix); never the secret. When each key was last
// used is not here: it is operational data in api_key_usage, written by
// queries/apikey.Usage and untouched by a replay (docs/adr/0027).
package apikey
