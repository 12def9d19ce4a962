package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/tenant"
	"github.com/rustok/rustok/platform/database"
)

// View is a tenant as the read model holds it.
type View struct {
	ID     string `json:"id"`
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	Status string `json:"status"` // "active" or "disabled"
	// Domains are the tenant's host names, in the order added.
	Domains []string `json:"domains"`
	// Modules are the enabled optional modules, in the order enabled;
	// module.Registry.Effective adds the core ones.
	Modules []string `json:"modules"`
	// Locales are the enabled locales, in the order enabled; DefaultLocale is
	// among them.
	Locales       []string        `json:"locales"`
	DefaultLocale string          `json:"default_locale"`
	Settings      json.RawMessage `json:"settings"` // a JSON object
	// Version is the tenant stream version the view reflects.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Page sizes of List.
const (
	// DefaultLimit is the page size when ListQuery.Limit is 0 or less.
	DefaultLimit = 50
	// MaxLimit is the largest page: a larger ListQuery.Limit is lowered to it.
	MaxLimit = 100
)

// ListQuery selects a page of tenants, ordered by slug.
type ListQuery struct {
	// Status keeps only tenants of this status ("active" or "disabled");
	// empty keeps all.
	Status string
	// Limit is the page size: DefaultLimit when 0 or less, at most MaxLimit.
	Limit int
	// AfterSlug continues after the tenant with this slug (keyset
	// pagination: pass the last slug of the previous page); empty starts at
	// the first.
	AfterSlug string
}

// Reader answers tenant queries. It is safe for concurrent use.
type Reader struct {
	db *database.DB
}

// NewReader returns a Reader over db, whose schema must be migrated.
func NewReader(db *database.DB) *Reader { return &Reader{db: db} }

// viewColumns are the columns every query selects, from rm_tenants as t, in
// the order of viewRow.
const viewColumns = `t.id, t.slug, t.name, t.status, t.domains, t.modules, t.default_locale,
	t.locales, t.settings, t.version, t.created_at, t.updated_at`

// viewRow is one row of viewColumns. JSON columns arrive as text (JSONB on
// PostgreSQL, TEXT on SQLite).
type viewRow struct {
	ID            string        `db:"id"`
	Slug          string        `db:"slug"`
	Name          string        `db:"name"`
	Status        string        `db:"status"`
	Domains       string        `db:"domains"`
	Modules       string        `db:"modules"`
	DefaultLocale string        `db:"default_locale"`
	Locales       string        `db:"locales"`
	Settings      string        `db:"settings"`
	Version       int64         `db:"version"`
	CreatedAt     database.Time `db:"created_at"`
	UpdatedAt     database.Time `db:"updated_at"`
}

func (r viewRow) view() (View, error) {
	v := View{
		ID: r.ID, Slug: r.Slug, Name: r.Name, Status: r.Status, DefaultLocale: r.DefaultLocale,
		Settings: json.RawMessage(r.Settings), Version: r.Version, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
	for _, f := range []struct {
		column string
		src    string
		dst    *[]string
	}{{"domains", r.Domains, &v.Domains}, {"modules", r.Modules, &v.Modules}, {"locales", r.Locales, &v.Locales}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return View{}, fmt.Errorf("decode %s of tenant %s: %w", f.column, r.ID, err)
		}
		if *f.dst == nil {
			*f.dst = []string{}
		}
	}
	if len(v.Settings) == 0 {
		v.Settings = json.RawMessage("{}")
	}
	return v, nil
}

// ByID returns the tenant with id (a UUID, matched in lowercase).
// Errors: tenant.ErrInvalidID (BAD_USER_INPUT) if id is not a UUID; an error
// for which errors.Is(err, tenant.ErrNotFound) holds if there is no such
// tenant.
func (r *Reader) ByID(ctx context.Context, id string) (View, error) {
	id = domain.NormalizeID(id)
	if !tenant.IsUUID(id) {
		return View{}, tenant.ErrInvalidID
	}
	return r.one(ctx, "id "+id, `SELECT `+viewColumns+` FROM rm_tenants t WHERE t.id = ?`, id)
}

// BySlug returns the tenant with slug (normalized: trimmed, lowercased).
// Errors: tenant.ErrInvalidSlug or tenant.ErrReservedSlug (BAD_USER_INPUT)
// for a value no tenant can have; an error for which errors.Is(err,
// tenant.ErrNotFound) holds if there is no such tenant.
func (r *Reader) BySlug(ctx context.Context, slug string) (View, error) {
	slug, err := tenant.NormalizeSlug(slug)
	if err != nil {
		return View{}, err
	}
	return r.one(ctx, "slug "+slug, `SELECT `+viewColumns+` FROM rm_tenants t WHERE t.slug = ?`, slug)
}

// ByHost returns the tenant that has the domain host (normalized with
// tenant.NormalizeHost: port and trailing dot stripped, lowercased).
// Errors: tenant.ErrInvalidHost (BAD_USER_INPUT) for a value that is not a
// host name; an error for which errors.Is(err, tenant.ErrNotFound) holds if
// no tenant has the domain.
func (r *Reader) ByHost(ctx context.Context, host string) (View, error) {
	host, err := tenant.NormalizeHost(host)
	if err != nil {
		return View{}, err
	}
	return r.one(ctx, "host "+host, `SELECT `+viewColumns+` FROM rm_tenant_domains d
		JOIN rm_tenants t ON t.id = d.tenant_id WHERE d.host = ?`, host)
}

// The kinds of Lookup, the same as those of the tenant cache's keys.
const (
	KindID   = "id"
	KindSlug = "slug"
	KindHost = "host"
)

// Lookup returns the tenant named by value, read as kind: KindID (ByID),
// KindSlug (BySlug) or KindHost (ByHost). It backs the tenant cache's loader.
// Errors: those of the method called; a BAD_USER_INPUT error for any other
// kind.
func (r *Reader) Lookup(ctx context.Context, kind, value string) (View, error) {
	switch kind {
	case KindID:
		return r.ByID(ctx, value)
	case KindSlug:
		return r.BySlug(ctx, value)
	case KindHost:
		return r.ByHost(ctx, value)
	}
	return View{}, domain.BadInput("unknown tenant lookup kind %q", clip(kind))
}

// one runs a query for one tenant; what names it for error messages.
func (r *Reader) one(ctx context.Context, what, query string, args ...any) (View, error) {
	var row viewRow
	err := r.db.GetContext(ctx, &row, r.db.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, fmt.Errorf("tenant %s: %w", what, tenant.ErrNotFound)
	}
	if err != nil {
		return View{}, fmt.Errorf("read tenant %s: %w", what, err)
	}
	return row.view()
}

// ErrInvalidStatus (BAD_USER_INPUT, field status) is returned by List for a
// status filter other than "", "active" and "disabled".
var ErrInvalidStatus = domain.InvalidField("status", "status must be active or disabled")

// List returns a page of tenants ordered by slug, after q.AfterSlug, of at
// most q.Limit tenants (see ListQuery). An empty page means there are no more.
// Errors: ErrInvalidStatus.
func (r *Reader) List(ctx context.Context, q ListQuery) ([]View, error) {
	switch tenant.Status(q.Status) {
	case "", tenant.StatusActive, tenant.StatusDisabled:
	default:
		return nil, ErrInvalidStatus
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	query := `SELECT ` + viewColumns + ` FROM rm_tenants t WHERE t.slug > ?`
	args := []any{q.AfterSlug}
	if q.Status != "" {
		query += ` AND t.status = ?`
		args = append(args, q.Status)
	}
	query += ` ORDER BY t.slug LIMIT ?`
	args = append(args, limit)
	var rows []viewRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	views := make([]View, 0, len(rows))
	for _, row := range rows {
		v, err := row.view()
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// clip shortens client input quoted in an error message.
func clip(s string) string { return domain.Clip(s, 64) }
