package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rustok/rustok/domain/session"
	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/eventstore/relay"
	"github.com/rustok/rustok/platform/database"
)

// Name is the projection's consumer group and checkpoint key.
//
// WARNING: renaming it replays the projection from position 0 under the new
// name (and leaves the old checkpoint behind).
const Name = "sessions"

// TableSessions is the read-model table the projection owns (created by
// migration 000004): one row per session, its state after the event of
// stream version `version`. The projection always names it through
// relay.Tx.Table, because a replay writes to a fresh copy.
const TableSessions = "rm_sessions"

// ErrMissingRow is returned (wrapped) by a handler of an event that changes a
// session the read model does not have, which happens only when the
// session's session.started event was not applied (for example,
// dead-lettered), or when cleanup deleted the row of a session that had
// ended and the log then still brought an event of it (see
// queries/session.Cleanup). The relay retries the event and then
// dead-letters it, which makes the gap visible in `rustok projections
// status`.
var ErrMissingRow = errors.New("session row missing from the read model")

// ErrInvalidHistory is returned (wrapped) by a handler of an event the
// session aggregate would refuse in its stream: a second session.started, an
// event after session.revoked, or an event whose tenant or user differ from
// the session's. The relay dead-letters it.
var ErrInvalidHistory = errors.New("session event does not follow its stream")

// Projection returns the sessions projection: a relay consumer of kind
// projection that owns TableSessions and handles every session event type
// (session.EventTypes). The read model keeps what the session aggregate
// keeps, without token hashes: the client (ip, user agent) and last_seen_at
// of the sign-in or latest rotation, the rotation count (generation), the
// absolute expiry, and the revocation's time and reason.
//
// It is a relay.Fold: per batch of events it reads the rows of the batch's
// sessions with one SELECT, folds the events into them in memory, and writes
// them back with one guarded multi-row upsert.
func Projection() relay.Consumer {
	return relay.Consumer{
		Name:   Name,
		Kind:   relay.KindProjection,
		Tables: []string{TableSessions},
		Batch: relay.Fold[row]{
			Load: load,
			Save: save,
			On: map[string]relay.FoldHandler[row]{
				session.TypeStarted: relay.FoldOn(started),
				session.TypeRefreshed: relay.FoldOn(func(r *relay.Row[row], p session.Refreshed, e eventstore.Event) error {
					return change(r, e, p.SessionID, "", func(s *row) {
						// As the aggregate: the client of the latest rotation.
						s.Generation = int64(p.Generation)
						s.IP, s.UserAgent = p.IP, p.UserAgent
						s.LastSeenAt = eventTime(p.At, e)
					})
				}),
				session.TypeRevoked: relay.FoldOn(func(r *relay.Row[row], p session.Revoked, e eventstore.Event) error {
					return change(r, e, p.SessionID, p.UserID, func(s *row) {
						s.RevokedAt = eventTime(p.At, e)
						s.RevokeReason = string(p.Reason)
					})
				}),
			},
		}.Batch(),
	}
}

// row is a session's row of rm_sessions without its id and version, which
// relay.Row holds (StreamID, Version). It has no slices or maps, so the
// Fold's plain copy is a deep copy.
type row struct {
	TenantID, UserID string
	IP, UserAgent    string
	Generation       int64
	StartedAt        time.Time
	LastSeenAt       time.Time
	ExpiresAt        time.Time
	// RevokedAt is zero, and RevokeReason empty, while the session is not
	// revoked.
	RevokedAt    time.Time
	RevokeReason string
}

// endedAt is when the session stopped being usable: its revocation if that
// came before its expiry, else its expiry (in the future for a live
// session).
func (r row) endedAt() time.Time {
	if !r.RevokedAt.IsZero() && r.RevokedAt.Before(r.ExpiresAt) {
		return r.RevokedAt
	}
	return r.ExpiresAt
}

// started is the session's first event (stream version 1): the fold applies
// it only when the session has no row yet. The row's tenant is the stream's
// (the log's tenant column), which must be the payload's.
func started(r *relay.Row[row], p session.Started, e eventstore.Event) error {
	switch {
	case r.Exists:
		return fmt.Errorf("%s of session %s at version %d: the session was already started: %w", e.Type, e.Stream.ID, e.Version, ErrInvalidHistory)
	case p.SessionID != e.Stream.ID || p.TenantID != e.Stream.TenantID:
		return fmt.Errorf("%s of session %q in tenant %q, stored in stream %s of tenant %q: %w",
			e.Type, p.SessionID, p.TenantID, e.Stream.ID, e.Stream.TenantID, ErrInvalidHistory)
	}
	at := eventTime(p.At, e)
	r.Value = row{TenantID: e.Stream.TenantID, UserID: p.UserID, IP: p.IP, UserAgent: p.UserAgent,
		StartedAt: at, LastSeenAt: at, ExpiresAt: p.ExpiresAt.UTC()}
	return nil
}

// change applies fn to the row of the event's session. The fold calls it
// only for an event newer than the row (relay.CheckVersion). A session
// without a row is ErrMissingRow; an event of another session or user (when
// userID is set), or after the revocation, is ErrInvalidHistory.
func change(r *relay.Row[row], e eventstore.Event, sessionID, userID string, fn func(*row)) error {
	switch {
	case !r.Exists:
		return fmt.Errorf("%s of session %s at version %d: %w", e.Type, e.Stream.ID, e.Version, ErrMissingRow)
	case sessionID != e.Stream.ID || (userID != "" && userID != r.Value.UserID):
		return fmt.Errorf("%s of session %q of user %q, stored in stream %s of user %q: %w",
			e.Type, sessionID, userID, e.Stream.ID, r.Value.UserID, ErrInvalidHistory)
	case !r.Value.RevokedAt.IsZero():
		return fmt.Errorf("%s of session %s at version %d after %s: %w", e.Type, e.Stream.ID, e.Version, session.TypeRevoked, ErrInvalidHistory)
	}
	fn(&r.Value)
	return nil
}

// dbRow is a row of rm_sessions as stored.
type dbRow struct {
	ID           string         `db:"id"`
	TenantID     string         `db:"tenant_id"`
	UserID       string         `db:"user_id"`
	IP           string         `db:"ip"`
	UserAgent    string         `db:"user_agent"`
	Generation   int64          `db:"generation"`
	StartedAt    database.Time  `db:"started_at"`
	LastSeenAt   database.Time  `db:"last_seen_at"`
	ExpiresAt    database.Time  `db:"expires_at"`
	RevokedAt    database.Time  `db:"revoked_at"` // zero when NULL
	RevokeReason sql.NullString `db:"revoke_reason"`
	EndedAt      database.Time  `db:"ended_at"`
	Version      int64          `db:"version"`
}

// columns are the columns of rm_sessions, in the order save writes them.
func columns() []string {
	return []string{"id", "tenant_id", "user_id", "ip", "user_agent", "generation", "started_at", "last_seen_at",
		"expires_at", "revoked_at", "revoke_reason", "ended_at", "version"}
}

// load reads the rows of the given sessions with one multi-row SELECT.
func load(ctx context.Context, tx *relay.Tx, ids []string) ([]relay.Row[row], error) {
	var rows []dbRow
	q := `SELECT ` + strings.Join(columns(), ", ") + ` FROM ` + tx.Table(TableSessions) + ` WHERE id IN (?)`
	if err := tx.SelectIn(ctx, &rows, q, ids); err != nil {
		return nil, fmt.Errorf("read %d sessions: %w", len(ids), err)
	}
	out := make([]relay.Row[row], len(rows))
	for i, d := range rows {
		out[i] = relay.Row[row]{StreamID: d.ID, Version: d.Version, Value: row{
			TenantID: d.TenantID, UserID: d.UserID, IP: d.IP, UserAgent: d.UserAgent, Generation: d.Generation,
			StartedAt: d.StartedAt.Time, LastSeenAt: d.LastSeenAt.Time, ExpiresAt: d.ExpiresAt.Time,
			RevokedAt: d.RevokedAt.Time, RevokeReason: d.RevokeReason.String,
		}}
	}
	return out, nil
}

// save writes the changed sessions with one guarded multi-row upsert.
func save(ctx context.Context, tx *relay.Tx, changes []relay.Change[row]) error {
	rows := make([][]any, 0, len(changes))
	for _, c := range changes {
		v := c.After.Value
		var revokedAt, reason any // NULL while not revoked
		if !v.RevokedAt.IsZero() {
			revokedAt, reason = tx.Time(v.RevokedAt), v.RevokeReason
		}
		rows = append(rows, []any{c.After.StreamID, v.TenantID, v.UserID, v.IP, v.UserAgent, v.Generation,
			tx.Time(v.StartedAt), tx.Time(v.LastSeenAt), tx.Time(v.ExpiresAt), revokedAt, reason,
			tx.Time(v.endedAt()), c.After.Version})
	}
	return tx.Upsert(ctx, relay.Upsert{Table: TableSessions, Columns: columns(), Key: []string{"id"}, Version: "version"}, rows)
}

// eventTime is the time an event records, or the time it was stored if the
// payload has none.
func eventTime(at time.Time, e eventstore.Event) time.Time {
	if at.IsZero() {
		return e.RecordedAt.UTC()
	}
	return at.UTC()
}
