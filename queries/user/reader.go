package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/user"
	"github.com/rustok/rustok/platform/database"
)

// View is a user as the read model holds it. It has no secret: the read
// model holds no password or token hash.
type View struct {
	ID       string      `json:"id"`
	TenantID string      `json:"tenant_id"`
	Email    string      `json:"email"`
	Name     string      `json:"name"`
	Role     user.Role   `json:"role"`
	Status   user.Status `json:"status"`
	// EmailVerifiedAt is when the current email was verified; nil if it
	// was not.
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	// Version is the user stream version the view reflects.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits of List.
const (
	// DefaultFirst is the page size when first is 0.
	DefaultFirst = 20
	// MaxFirst is the largest page: a larger first is lowered to it.
	MaxFirst = 100
	// MaxSearchLength is the longest Filter.Search, in characters (runes),
	// after trimming.
	MaxSearchLength = 100
)

// Filter selects the users List returns. The zero Filter selects every
// user of the tenant.
type Filter struct {
	// Role keeps only users of this role; empty keeps all.
	Role user.Role
	// Status keeps only users of this status; empty keeps all.
	Status user.Status
	// Search keeps only users whose email or name contains it, ignoring
	// case (Go's Unicode lower case). It is trimmed; empty keeps all.
	// % and _ match themselves.
	Search string
}

// Edge is one user of a page, with the cursor that continues after it.
type Edge struct {
	Cursor string
	Node   View
}

// PageInfo describes a page as Relay's PageInfo does. HasPreviousPage is
// true when the page continues after a cursor.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	// StartCursor and EndCursor are the cursors of the page's first and
	// last users, or empty for an empty page.
	StartCursor string
	EndCursor   string
}

// Page is a page of users, newest first.
type Page struct {
	Edges    []Edge
	PageInfo PageInfo
}

// Application errors of the reader (see package domain for the codes).
var (
	// ErrNotFound (NOT_FOUND): no live user of the tenant has that id or
	// email. A deleted user is not found either.
	ErrNotFound = domain.NotFound("user not found")
	// ErrInvalidCursor (BAD_USER_INPUT, field after): a cursor List did not
	// make.
	ErrInvalidCursor = domain.InvalidField("after", "after is not a valid cursor")
	// ErrInvalidFirst (BAD_USER_INPUT, field first): a negative page size.
	ErrInvalidFirst = domain.InvalidField("first", "first must not be negative")
	// ErrInvalidSearch (BAD_USER_INPUT, field search): a search longer than
	// MaxSearchLength characters, or not valid UTF-8 text without control
	// characters.
	ErrInvalidSearch = domain.InvalidField("search", "search must be text of at most %d characters", MaxSearchLength)
)

// Reader answers user queries. It is safe for concurrent use.
type Reader struct {
	db *database.DB
}

// NewReader returns a Reader over db, whose schema must be migrated.
func NewReader(db *database.DB) *Reader { return &Reader{db: db} }

// viewColumns are the columns every query selects, from rm_users as u, in
// the order of viewRow.
const viewColumns = `u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.email_verified_at, u.version, u.created_at, u.updated_at`

// viewRow is one row of viewColumns.
type viewRow struct {
	ID              string        `db:"id"`
	TenantID        string        `db:"tenant_id"`
	Email           string        `db:"email"`
	Name            string        `db:"name"`
	Role            string        `db:"role"`
	Status          string        `db:"status"`
	EmailVerifiedAt database.Time `db:"email_verified_at"` // zero for NULL
	Version         int64         `db:"version"`
	CreatedAt       database.Time `db:"created_at"`
	UpdatedAt       database.Time `db:"updated_at"`
}

func (r viewRow) view() View {
	v := View{ID: r.ID, TenantID: r.TenantID, Email: r.Email, Name: r.Name, Role: user.Role(r.Role),
		Status: user.Status(r.Status), Version: r.Version, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
	if !r.EmailVerifiedAt.IsZero() {
		t := r.EmailVerifiedAt.Time
		v.EmailVerifiedAt = &t
	}
	return v
}

// Get returns the live user userID of tenant tenantID (both UUIDs, matched
// in lowercase). Errors: user.ErrInvalidTenant, user.ErrInvalidID
// (BAD_USER_INPUT); an error for which errors.Is(err, ErrNotFound) holds if
// the tenant has no such user or it was deleted.
func (r *Reader) Get(ctx context.Context, tenantID, userID string) (View, error) {
	tenantID, err := normalizeTenant(tenantID)
	if err != nil {
		return View{}, err
	}
	userID = strings.ToLower(strings.TrimSpace(userID))
	if !domain.IsUUID(userID) {
		return View{}, user.ErrInvalidID
	}
	return r.one(ctx, "id "+userID, `SELECT `+viewColumns+` FROM rm_users u
		WHERE u.tenant_id = ? AND u.id = ? AND NOT u.deleted`, tenantID, userID)
}

// ByEmail returns the live user of tenant tenantID with email (normalized
// with user.NormalizeEmail). Errors: user.ErrInvalidTenant,
// user.ErrInvalidEmail (BAD_USER_INPUT); an error for which errors.Is(err,
// ErrNotFound) holds if no live user of the tenant has the email.
func (r *Reader) ByEmail(ctx context.Context, tenantID, email string) (View, error) {
	tenantID, err := normalizeTenant(tenantID)
	if err != nil {
		return View{}, err
	}
	email, err = user.NormalizeEmail(email)
	if err != nil {
		return View{}, err
	}
	return r.one(ctx, "email "+email, `SELECT `+viewColumns+` FROM rm_users u
		WHERE u.tenant_id = ? AND u.email = ? AND NOT u.deleted`, tenantID, email)
}

// one runs a query for one user; what names it for error messages.
func (r *Reader) one(ctx context.Context, what, query string, args ...any) (View, error) {
	var row viewRow
	err := r.db.GetContext(ctx, &row, r.db.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, fmt.Errorf("user %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return View{}, fmt.Errorf("read user %s: %w", what, err)
	}
	return row.view(), nil
}

// List returns a page of the live users of tenant tenantID that f selects,
// newest first (by creation time, then id, both descending): at most first
// users (DefaultFirst when first is 0, at most MaxFirst), after the user
// whose cursor is after (empty: from the newest). Walking the pages with
// each page's EndCursor visits every user selected exactly once, in order,
// as long as no user is created or deleted meanwhile (a user created
// meanwhile is newer than every cursor, so it appears on no later page).
//
// Errors (BAD_USER_INPUT): user.ErrInvalidTenant; ErrInvalidFirst;
// ErrInvalidCursor; user.ErrInvalidRole and user.ErrInvalidStatus for a
// filter value that is not one; ErrInvalidSearch.
// filterClause returns the WHERE clause (and its arguments) of the live
// users of tenantID that match f: the one definition List and Count share.
func filterClause(tenantID string, f Filter) (string, []any, error) {
	where := `u.tenant_id = ? AND NOT u.deleted`
	args := []any{tenantID}
	if f.Role != "" {
		if !f.Role.Valid() {
			return "", nil, user.ErrInvalidRole
		}
		where += ` AND u.role = ?`
		args = append(args, string(f.Role))
	}
	if f.Status != "" {
		if !f.Status.Valid() {
			return "", nil, user.ErrInvalidStatus
		}
		where += ` AND u.status = ?`
		args = append(args, string(f.Status))
	}
	search, err := normalizeSearch(f.Search)
	if err != nil {
		return "", nil, err
	}
	if search != "" {
		pattern := "%" + escapeLike(search) + "%"
		where += ` AND (u.email LIKE ? ESCAPE '\' OR u.name_folded LIKE ? ESCAPE '\')`
		args = append(args, pattern, pattern)
	}
	return where, args, nil
}

// Count returns how many live users of tenant tenantID match f (the
// connection's totalCount). Errors: those of List's filter.
func (r *Reader) Count(ctx context.Context, tenantID string, f Filter) (int, error) {
	tenantID, err := normalizeTenant(tenantID)
	if err != nil {
		return 0, err
	}
	where, args, err := filterClause(tenantID, f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := r.db.GetContext(ctx, &n, r.db.Rebind(`SELECT COUNT(*) FROM rm_users u WHERE `+where), args...); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func (r *Reader) List(ctx context.Context, tenantID string, f Filter, first int, after string) (Page, error) {
	tenantID, err := normalizeTenant(tenantID)
	if err != nil {
		return Page{}, err
	}
	switch {
	case first < 0:
		return Page{}, ErrInvalidFirst
	case first == 0:
		first = DefaultFirst
	}
	first = min(first, MaxFirst)
	where, args, err := filterClause(tenantID, f)
	if err != nil {
		return Page{}, err
	}
	query := `SELECT ` + viewColumns + ` FROM rm_users u WHERE ` + where
	if after != "" {
		c, err := decodeCursor(after)
		if err != nil {
			return Page{}, err
		}
		at := r.timeArg(c.CreatedAt)
		query += ` AND (u.created_at < ? OR (u.created_at = ? AND u.id < ?))`
		args = append(args, at, at, c.ID)
	}
	query += ` ORDER BY u.created_at DESC, u.id DESC LIMIT ?`
	args = append(args, first+1)
	var rows []viewRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(query), args...); err != nil {
		return Page{}, fmt.Errorf("list users: %w", err)
	}
	page := Page{PageInfo: PageInfo{HasPreviousPage: after != "", HasNextPage: len(rows) > first}}
	rows = rows[:min(len(rows), first)]
	page.Edges = make([]Edge, len(rows))
	for i, row := range rows {
		page.Edges[i] = Edge{Cursor: encodeCursor(cursor{CreatedAt: row.CreatedAt.Time, ID: row.ID}), Node: row.view()}
	}
	if n := len(page.Edges); n > 0 {
		page.PageInfo.StartCursor, page.PageInfo.EndCursor = page.Edges[0].Cursor, page.Edges[n-1].Cursor
	}
	return page, nil
}

// timeArg returns t in the form the dialect's timestamp columns compare
// with (SQLite stores fixed-width text).
func (r *Reader) timeArg(t time.Time) any {
	if r.db.Dialect() == database.SQLite {
		return database.FormatTime(t)
	}
	return t.UTC()
}

// normalizeTenant trims and lowercases a tenant id and checks it is a UUID.
func normalizeTenant(id string) (string, error) {
	id = domain.NormalizeID(id)
	if !domain.IsUUID(id) {
		return "", user.ErrInvalidTenant
	}
	return id, nil
}

// normalizeSearch trims s, checks it and returns it in lower case, as the
// projection folds names (name_folded); emails are stored in lower case.
func normalizeSearch(s string) (string, error) {
	if len(s) > 4*MaxSearchLength*utf8.UTFMax {
		return "", ErrInvalidSearch
	}
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxSearchLength || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", ErrInvalidSearch
	}
	return strings.ToLower(s), nil
}

// escapeLike escapes the LIKE metacharacters of s (%, _ and the escape
// character \ itself), so that the pattern matches s literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
