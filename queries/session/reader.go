package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/database"
)

// View is a session as the read model holds it. It never holds token
// hashes.
type View struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	UserID   string `json:"user_id"`
	// IP and UserAgent are the client of the sign-in or of the latest
	// refresh; IP is "" when the address did not parse.
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	// Generation counts the refresh token rotations.
	Generation int64 `json:"generation"`
	// StartedAt is the sign-in (the session's "createdAt").
	StartedAt time.Time `json:"started_at"`
	// LastSeenAt is the sign-in or the latest refresh.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end of the session, never extended.
	ExpiresAt time.Time `json:"expires_at"`
	// RevokedAt is when the session was revoked, and RevokeReason why (a
	// domain/session.Reason); nil and "" while it is not revoked.
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	// Version is the session stream version the view reflects.
	Version int64 `json:"version"`
}

// ActiveAt reports whether the session may be used at at: not revoked and
// before its expiry (the aggregate's CheckActive).
func (v View) ActiveAt(at time.Time) bool { return v.RevokedAt == nil && at.Before(v.ExpiresAt) }

// MaxActive is the most sessions Active returns: the newest ones.
const MaxActive = 100

// Errors of the reader (see package domain for the codes).
var (
	// ErrNotFound (NOT_FOUND): no session with that id in the tenant, or its
	// row was cleaned up.
	ErrNotFound = domain.NotFound("session not found")
	// ErrInvalidID (BAD_USER_INPUT, field id): a session id that is not a
	// UUID.
	ErrInvalidID = domain.InvalidField("id", "session id must be a UUID")
	// ErrInvalidOwner (BAD_USER_INPUT): a tenant or user id that is not a
	// UUID (they come from the server, so this is a caller's bug).
	ErrInvalidOwner = domain.BadInput("tenant and user ids must be UUIDs")
)

// Reader answers session queries. It is safe for concurrent use.
type Reader struct {
	db *database.DB
}

// NewReader returns a Reader over db, whose schema must be migrated.
func NewReader(db *database.DB) *Reader { return &Reader{db: db} }

// viewColumns are the columns every query selects, in the order of viewRow.
const viewColumns = `id, tenant_id, user_id, ip, user_agent, generation, started_at, last_seen_at, expires_at,
	revoked_at, revoke_reason, version`

type viewRow struct {
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
	Version      int64          `db:"version"`
}

func (r viewRow) view() View {
	v := View{ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, IP: r.IP, UserAgent: r.UserAgent, Generation: r.Generation,
		StartedAt: r.StartedAt.Time, LastSeenAt: r.LastSeenAt.Time, ExpiresAt: r.ExpiresAt.Time, Version: r.Version}
	if !r.RevokedAt.IsZero() {
		at := r.RevokedAt.Time
		v.RevokedAt, v.RevokeReason = &at, r.RevokeReason.String
	}
	return v
}

// Active returns the sessions of user userID in tenant tenantID that are
// active at at (not revoked, at before their expiry), newest first (by
// sign-in, then id), at most MaxActive. Errors: ErrInvalidOwner.
func (r *Reader) Active(ctx context.Context, tenantID, userID string, at time.Time) ([]View, error) {
	tenantID, userID = domain.NormalizeID(tenantID), domain.NormalizeID(userID)
	if !domain.IsUUID(tenantID) || !domain.IsUUID(userID) {
		return nil, ErrInvalidOwner
	}
	// The conditions match rm_sessions_user_active_idx (partial: revoked_at
	// IS NULL), which serves them in order.
	q := `SELECT ` + viewColumns + ` FROM rm_sessions
		WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY started_at DESC, id DESC LIMIT ?`
	var rows []viewRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(q), tenantID, userID, dbTime(r.db, at), MaxActive); err != nil {
		return nil, fmt.Errorf("list active sessions of user %s: %w", userID, err)
	}
	views := make([]View, len(rows))
	for i, row := range rows {
		views[i] = row.view()
	}
	return views, nil
}

// MaxUserSessionIDs bounds UserSessionIDs.
const MaxUserSessionIDs = 400

// UserSessionIDs returns the ids of the sessions of user userID in tenant
// tenantID that the read model holds, revoked and expired ones included,
// newest first, at most MaxUserSessionIDs (those cleaned up by `rustok task
// cleanup sessions` are gone). Errors: ErrInvalidOwner.
func (r *Reader) UserSessionIDs(ctx context.Context, tenantID, userID string) ([]string, error) {
	tenantID, userID = domain.NormalizeID(tenantID), domain.NormalizeID(userID)
	if !domain.IsUUID(tenantID) || !domain.IsUUID(userID) {
		return nil, ErrInvalidOwner
	}
	var ids []string
	q := `SELECT id FROM rm_sessions WHERE tenant_id = ? AND user_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`
	if err := r.db.SelectContext(ctx, &ids, r.db.Rebind(q), tenantID, userID, MaxUserSessionIDs); err != nil {
		return nil, fmt.Errorf("list sessions of user %s: %w", userID, err)
	}
	return ids, nil
}

// Get returns session sessionID of tenant tenantID (matched in lowercase),
// revoked or expired ones included: check View.ActiveAt. Errors:
// ErrInvalidOwner; ErrInvalidID for a session id that is not a UUID; an
// error matching ErrNotFound if the tenant has no such session (another
// tenant's session is not found either).
func (r *Reader) Get(ctx context.Context, tenantID, sessionID string) (View, error) {
	tenantID, sessionID = domain.NormalizeID(tenantID), domain.NormalizeID(sessionID)
	if !domain.IsUUID(tenantID) {
		return View{}, ErrInvalidOwner
	}
	if !domain.IsUUID(sessionID) {
		return View{}, ErrInvalidID
	}
	var row viewRow
	err := r.db.GetContext(ctx, &row, r.db.Rebind(`SELECT `+viewColumns+` FROM rm_sessions WHERE id = ? AND tenant_id = ?`), sessionID, tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
	if err != nil {
		return View{}, fmt.Errorf("read session %s: %w", sessionID, err)
	}
	return row.view(), nil
}

// dbTime returns t in the form db's timestamp columns take (text on SQLite).
func dbTime(db *database.DB, t time.Time) any {
	if db.Dialect() == database.SQLite {
		return database.FormatTime(t)
	}
	return t.UTC()
}
