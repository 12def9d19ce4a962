package apikey

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/apikey"
	"github.com/rustok/rustok/platform/database"
)

// View is a key as the API keys list shows it. It never holds the secret or
// its hash.
type View struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	// Prefix is the secret's public first 12 characters, which tell keys
	// apart in the list.
	Prefix string `json:"prefix"`
	// Permissions are "resource:action" strings, sorted.
	Permissions []string `json:"permissions"`
	// CreatedBy is the id of the user who created the key.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is nil for a key without expiry.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// RevokedAt is nil while the key is not revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// LastUsedAt is when the key last authenticated a request (within a
	// minute, see Usage), nil if never.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Version is the key stream version the view reflects.
	Version int64 `json:"version"`
}

// ActiveAt reports whether the key may be used at at: not revoked and
// before its expiry (the aggregate's CheckActive).
func (v View) ActiveAt(at time.Time) bool {
	return v.RevokedAt == nil && (v.ExpiresAt == nil || at.Before(*v.ExpiresAt))
}

// Credential is what authentication needs of a key: ByPrefix's answer.
// SecretHash is secret: never log or show it.
type Credential struct {
	ID       string
	TenantID string
	// SecretHash is the hex SHA-256 of the key's secret (apikey.HashSecret).
	SecretHash string
	// Permissions are the key's "resource:action" strings, for
	// rbac.KeyActor (with its creator's current role).
	Permissions []string
	// CreatedBy is the id of the user who created the key: the key acts
	// within that user's current role.
	CreatedBy string
	// ExpiresAt is nil for a key without expiry.
	ExpiresAt *time.Time
	// Revoked reports whether the key was revoked.
	Revoked bool
	// Version is the key stream version the credential reflects.
	Version int64
}

// ActiveAt reports whether the key may be used at at: not revoked and
// before its expiry.
func (c Credential) ActiveAt(at time.Time) bool {
	return !c.Revoked && (c.ExpiresAt == nil || at.Before(*c.ExpiresAt))
}

// Match returns the candidate whose SecretHash equals hash (the hash of the
// presented secret, apikey.ParseSecret), and whether there is one. It
// compares with every candidate in constant time, so the time it takes
// tells nothing about the hashes; an empty hash matches nothing.
func Match(candidates []Credential, hash string) (Credential, bool) {
	var (
		found Credential
		ok    bool
	)
	for _, c := range candidates {
		if hash != "" && subtle.ConstantTimeCompare([]byte(c.SecretHash), []byte(hash)) == 1 && !ok {
			found, ok = c, true
		}
	}
	return found, ok
}

// Limits of the reader.
const (
	// MaxList is the most keys List returns: the newest ones.
	MaxList = 500
	// MaxCandidates is the most keys ByPrefix returns. A prefix holds 48
	// random bits, so more than one key per prefix is already rare.
	MaxCandidates = 32
)

// Errors of the reader (see package domain for the codes).
var (
	// ErrNotFound (NOT_FOUND): no API key with that id in the tenant.
	ErrNotFound = domain.NotFound("API key not found")
	// ErrInvalidID (BAD_USER_INPUT, field id): a key id that is not a UUID.
	ErrInvalidID = domain.InvalidField("id", "API key id must be a UUID")
	// ErrInvalidTenant (BAD_USER_INPUT): a tenant id that is not a UUID (it
	// comes from the server, so this is a caller's bug).
	ErrInvalidTenant = domain.BadInput("tenant id must be a UUID")
)

// Reader answers API key queries. It is safe for concurrent use.
type Reader struct {
	db *database.DB
}

// NewReader returns a Reader over db, whose schema must be migrated.
func NewReader(db *database.DB) *Reader { return &Reader{db: db} }

// viewQuery selects the columns of viewRow, the usage joined.
const viewQuery = `SELECT k.id, k.tenant_id, k.name, k.prefix, k.permissions, k.created_by, k.created_at, k.expires_at,
	k.revoked_at, k.version, u.last_used_at
	FROM rm_api_keys k LEFT JOIN api_key_usage u ON u.key_id = k.id AND u.tenant_id = k.tenant_id`

type viewRow struct {
	ID          string        `db:"id"`
	TenantID    string        `db:"tenant_id"`
	Name        string        `db:"name"`
	Prefix      string        `db:"prefix"`
	Permissions string        `db:"permissions"`
	CreatedBy   string        `db:"created_by"`
	CreatedAt   database.Time `db:"created_at"`
	ExpiresAt   database.Time `db:"expires_at"` // zero when NULL
	RevokedAt   database.Time `db:"revoked_at"` // zero when NULL
	Version     int64         `db:"version"`
	LastUsedAt  database.Time `db:"last_used_at"` // zero when NULL
}

func (r viewRow) view() (View, error) {
	v := View{ID: r.ID, TenantID: r.TenantID, Name: r.Name, Prefix: r.Prefix, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.Time, ExpiresAt: timePtr(r.ExpiresAt), RevokedAt: timePtr(r.RevokedAt),
		LastUsedAt: timePtr(r.LastUsedAt), Version: r.Version}
	perms, err := decodePermissions(r.ID, r.Permissions)
	v.Permissions = perms
	return v, err
}

// List returns the keys of tenant tenantID that are not revoked, expired
// ones included (the list shows their expiry), newest first (by creation,
// then id), at most MaxList, each with its last use. Errors:
// ErrInvalidTenant.
func (r *Reader) List(ctx context.Context, tenantID string) ([]View, error) {
	tenantID = domain.NormalizeID(tenantID)
	if !domain.IsUUID(tenantID) {
		return nil, ErrInvalidTenant
	}
	// rm_api_keys_tenant_created_idx serves the order.
	q := viewQuery + ` WHERE k.tenant_id = ? AND k.revoked_at IS NULL ORDER BY k.created_at DESC, k.id DESC LIMIT ?`
	var rows []viewRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(q), tenantID, MaxList); err != nil {
		return nil, fmt.Errorf("list API keys of tenant %s: %w", tenantID, err)
	}
	views := make([]View, len(rows))
	for i, row := range rows {
		v, err := row.view()
		if err != nil {
			return nil, err
		}
		views[i] = v
	}
	return views, nil
}

// Get returns key id of tenant tenantID (matched in lowercase), revoked or
// expired ones included: check View.ActiveAt. Errors: ErrInvalidTenant;
// ErrInvalidID; an error matching ErrNotFound if the tenant has no such key
// (another tenant's key is not found either).
func (r *Reader) Get(ctx context.Context, tenantID, id string) (View, error) {
	tenantID, id = domain.NormalizeID(tenantID), domain.NormalizeID(id)
	if !domain.IsUUID(tenantID) {
		return View{}, ErrInvalidTenant
	}
	if !domain.IsUUID(id) {
		return View{}, ErrInvalidID
	}
	var row viewRow
	err := r.db.GetContext(ctx, &row, r.db.Rebind(viewQuery+` WHERE k.tenant_id = ? AND k.id = ?`), tenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, fmt.Errorf("API key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return View{}, fmt.Errorf("read API key %s: %w", id, err)
	}
	return row.view()
}

type credentialRow struct {
	ID          string        `db:"id"`
	TenantID    string        `db:"tenant_id"`
	SecretHash  string        `db:"secret_hash"`
	Permissions string        `db:"permissions"`
	CreatedBy   string        `db:"created_by"`
	ExpiresAt   database.Time `db:"expires_at"` // zero when NULL
	RevokedAt   database.Time `db:"revoked_at"` // zero when NULL
	Version     int64         `db:"version"`
}

// ByPrefix returns the keys, of any tenant, whose secret has the public
// prefix prefix (apikey.ParseSecret's), revoked and expired ones included
// (check Credential.ActiveAt after Match), by id, at most MaxCandidates.
// This is the one query not filtered by tenant: authentication learns the
// tenant from the key. Errors: apikey.ErrInvalidSecret (UNAUTHENTICATED)
// for a prefix not of apikey.ValidPrefix's shape.
func (r *Reader) ByPrefix(ctx context.Context, prefix string) ([]Credential, error) {
	if !apikey.ValidPrefix(prefix) {
		return nil, apikey.ErrInvalidSecret
	}
	// rm_api_keys_prefix_idx serves it.
	q := `SELECT id, tenant_id, secret_hash, permissions, created_by, expires_at, revoked_at, version
		FROM rm_api_keys WHERE prefix = ? ORDER BY id LIMIT ?`
	var rows []credentialRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(q), prefix, MaxCandidates); err != nil {
		return nil, fmt.Errorf("read API keys of prefix %s: %w", prefix, err)
	}
	out := make([]Credential, len(rows))
	for i, row := range rows {
		perms, err := decodePermissions(row.ID, row.Permissions)
		if err != nil {
			return nil, err
		}
		out[i] = Credential{ID: row.ID, TenantID: row.TenantID, SecretHash: row.SecretHash, Permissions: perms,
			CreatedBy: row.CreatedBy, ExpiresAt: timePtr(row.ExpiresAt), Revoked: !row.RevokedAt.IsZero(), Version: row.Version}
	}
	return out, nil
}

func decodePermissions(id, text string) ([]string, error) {
	perms := []string{}
	if err := json.Unmarshal([]byte(text), &perms); err != nil {
		return nil, fmt.Errorf("decode permissions of API key %s: %w", id, err)
	}
	return perms, nil
}

func timePtr(t database.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	at := t.Time
	return &at
}
