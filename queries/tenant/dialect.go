package tenant

import (
	"fmt"
	"time"
)

// timestamp scans a timestamp column of either dialect: PostgreSQL
// TIMESTAMPTZ arrives as time.Time, SQLite TEXT as RFC 3339 with nanoseconds.
// It is the only dialect difference of this package.
type timestamp struct{ time.Time }

// Scan implements sql.Scanner.
func (t *timestamp) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("scan timestamp: unsupported type %T", src)
	}
}

func (t *timestamp) parse(s string) error {
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan timestamp: %w", err)
	}
	t.Time = p.UTC()
	return nil
}
