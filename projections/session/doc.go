// Package session keeps the sessions read model (table rm_sessions) from the
// session events: one row per session, with its user, client (ip, user
// agent), rotation count, start, last refresh, absolute expiry and
// revocation. It never holds refresh token hashes. Other packages import it
// as sessionproj.
//
// Projection is a relay consumer group and a relay.Fold, as the tenants
// projection (projections/tenant): each batch of events costs one SELECT of
// the batch's sessions and one guarded multi-row upsert, whatever its size.
// Every write is guarded by the session stream version held in
// rm_sessions.version, so a redelivered event changes nothing and a row never
// goes back in time. A revoked session keeps its row (revoked_at,
// revoke_reason): the projection never deletes.
//
// Rows of sessions that ended long ago are deleted by `rustok task cleanup
// sessions` (queries/session.Cleanup), not by the projection; a replay
// re-creates them, and the next cleanup deletes them again (see
// queries/session for why that is sound).
package session
