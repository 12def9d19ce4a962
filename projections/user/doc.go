// Package user keeps the users read model (table rm_users) from the user
// events of domain/user. Other packages import it as userproj.
//
// Projection is a relay consumer group: exactly one instance applies each
// event, in the relay's transaction, together with its checkpoint. It is a
// relay.Fold: each batch of events costs one SELECT of the batch's users and
// at most two multi-row upserts, whatever its size. Every write is guarded
// by the user stream version held in rm_users.version, so a redelivered
// event changes nothing and a row never goes back in time.
//
// The read model holds what queries show (email, name, role, status, email
// verification, timestamps), never a secret: password hashes and reset
// token hashes stay in the log, for the command side. A deleted user stays
// as a row marked deleted (a tombstone), which queries leave out.
package user
