package user

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/rustok/rustok/domain"
)

// maxCursorLength bounds the cursors decodeCursor reads, in bytes of their
// text (a cursor encodeCursor makes is about 110).
const maxCursorLength = 200

// cursorPrefix starts the decoded form of every cursor; it names the
// cursor's format, so that a later one can be told apart.
const cursorPrefix = "u1|"

// cursor is a position in a tenant's user list: the (created_at, id) of the
// last user of a page. The list is ordered by created_at, then id, both
// descending, so the pair is unique and stable.
type cursor struct {
	CreatedAt time.Time
	ID        string
}

// encodeCursor returns c as an opaque string: base64url (no padding) of
// "u1|<created_at RFC 3339 in UTC, with nanoseconds>|<id>".
func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

// decodeCursor reads a cursor encodeCursor made. Anything else, including
// a cursor longer than maxCursorLength, is ErrInvalidCursor.
func decodeCursor(s string) (cursor, error) {
	if len(s) == 0 || len(s) > maxCursorLength {
		return cursor{}, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return cursor{}, ErrInvalidCursor
	}
	at, id, ok := strings.Cut(rest, "|")
	if !ok || !domain.IsUUID(id) {
		return cursor{}, ErrInvalidCursor
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || !strings.HasSuffix(at, "Z") || t.Year() < 1 || t.Year() > 9999 {
		return cursor{}, ErrInvalidCursor
	}
	c := cursor{CreatedAt: t.UTC(), ID: id}
	// One cursor per position: a cursor that does not re-encode to itself
	// (extra digits, another spelling of the time) is not one of ours.
	if encodeCursor(c) != s {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}
