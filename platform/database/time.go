package database

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// FormatTime is how SQLite columns store times: RFC 3339 with nanoseconds, UTC,
// so that text order is time order.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// Time scans a timestamp column of either dialect (time.Time from PostgreSQL,
// text from SQLite).
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		t.Time = time.Time{}
		return nil
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
}

func (t *Time) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}

// Value implements driver.Valuer (as UTC time; SQLite callers format with FormatTime).
func (t Time) Value() (driver.Value, error) { return t.Time.UTC(), nil }
