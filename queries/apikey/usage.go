package apikey

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/database"
)

// Usage defaults.
const (
	// DefaultUsageInterval is how long after writing a key's last use Touch
	// skips the key's writes.
	DefaultUsageInterval = time.Minute
	// DefaultUsageTracked is how many keys Touch remembers the last write
	// of.
	DefaultUsageTracked = 100_000
)

// UsageConfig configures a Usage.
type UsageConfig struct {
	// Interval is how long after writing a key's last use further uses of
	// the key are not written (by this process). 0 means
	// DefaultUsageInterval.
	Interval time.Duration
	// MaxTracked bounds the keys remembered: when a new key would exceed
	// it, the keys written more than Interval ago are forgotten, and if
	// that is not enough, all are (which costs at most one extra write per
	// key). 0 means DefaultUsageTracked.
	MaxTracked int
}

// Usage records when API keys are used, in api_key_usage: operational
// data, not a read model, and not an event (docs/adr/0027). It writes a
// key at most once per Interval per process, and only ever moves a key's
// last use forward, so that several processes, or a late write, never move
// it back. It is safe for concurrent use.
type Usage struct {
	db       *database.DB
	interval time.Duration
	max      int

	mu      sync.Mutex
	written map[string]time.Time // key id → the use last written
}

// NewUsage returns a Usage over db, whose schema must be migrated.
func NewUsage(db *database.DB, cfg UsageConfig) *Usage {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultUsageInterval
	}
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = DefaultUsageTracked
	}
	return &Usage{db: db, interval: cfg.Interval, max: cfg.MaxTracked, written: map[string]time.Time{}}
}

// Touch records that key keyID of tenant tenantID authenticated a request at
// at. It writes nothing if this Usage wrote the key's use less than
// Interval before at; otherwise it upserts the key's row, keeping the later
// of the stored time and at. Call it after authentication succeeded; it
// does not check that the key exists. A failed write is forgotten, so the
// next use tries again.
//
// Errors: ErrInvalidTenant, ErrInvalidID; the database's error.
func (u *Usage) Touch(ctx context.Context, tenantID, keyID string, at time.Time) error {
	tenantID, keyID = domain.NormalizeID(tenantID), domain.NormalizeID(keyID)
	if !domain.IsUUID(tenantID) {
		return ErrInvalidTenant
	}
	if !domain.IsUUID(keyID) {
		return ErrInvalidID
	}
	at = at.UTC()
	if !u.claim(keyID, at) {
		return nil
	}
	q := `INSERT INTO api_key_usage (key_id, tenant_id, last_used_at) VALUES (?, ?, ?)
		ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at
		WHERE api_key_usage.last_used_at < excluded.last_used_at`
	if _, err := u.db.ExecContext(ctx, u.db.Rebind(q), keyID, tenantID, dbTime(u.db, at)); err != nil {
		u.forget(keyID, at)
		return fmt.Errorf("record use of API key %s: %w", keyID, err)
	}
	return nil
}

// claim reports whether the use at at of key id is to be written, and
// remembers it if so.
func (u *Usage) claim(id string, at time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.written[id]; ok && at.Sub(last) < u.interval {
		// Also a use before the last written one (a clock behind): the
		// stored time is later anyway.
		return false
	}
	if _, ok := u.written[id]; !ok && len(u.written) >= u.max {
		for k, last := range u.written {
			if at.Sub(last) >= u.interval {
				delete(u.written, k)
			}
		}
		if len(u.written) >= u.max {
			clear(u.written)
		}
	}
	u.written[id] = at
	return true
}

// forget drops the memory of the write of id at at, if it is still the
// latest.
func (u *Usage) forget(id string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.written[id]; ok && last.Equal(at) {
		delete(u.written, id)
	}
}

// Tracked returns how many keys u remembers, for tests and metrics.
func (u *Usage) Tracked() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.written)
}
