package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/platform/database"
	"github.com/rustok/rustok/platform/database/dbtest"
	apikeyqry "github.com/rustok/rustok/queries/apikey"
)

// lastUsed reads key id's stored last use (zero when it has no row), and how
// many rows api_key_usage has for it.
func lastUsed(tb testing.TB, db *database.DB, id string) time.Time {
	tb.Helper()
	var ts []database.Time
	if err := db.Select(&ts, db.Rebind(`SELECT last_used_at FROM api_key_usage WHERE key_id = ?`), id); err != nil {
		tb.Fatal(err)
	}
	switch len(ts) {
	case 0:
		return time.Time{}
	case 1:
		return ts[0].Time
	}
	tb.Fatalf("%d usage rows for key %s", len(ts), id)
	return time.Time{}
}

func TestUsageTouch(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db := dbtest.OpenURL(t, dbURL)
		ctx := context.Background()
		tenant, key := uuid.NewString(), uuid.NewString()
		u := apikeyqry.NewUsage(db, apikeyqry.UsageConfig{})
		other := apikeyqry.NewUsage(db, apikeyqry.UsageConfig{}) // another process
		steps := []struct {
			name  string
			usage *apikeyqry.Usage
			at    time.Time
			want  time.Time
		}{
			{name: "the first use is written", usage: u, at: minute(0).Add(123456 * time.Microsecond), want: minute(0).Add(123456 * time.Microsecond)},
			{name: "a use within the minute is not written", usage: u, at: minute(0).Add(59 * time.Second), want: minute(0).Add(123456 * time.Microsecond)},
			{name: "a use a minute after the written one is", usage: u, at: minute(1).Add(123456 * time.Microsecond), want: minute(1).Add(123456 * time.Microsecond)},
			{name: "another process writes a later use", usage: other, at: minute(1).Add(30 * time.Second), want: minute(1).Add(30 * time.Second)},
			{name: "an earlier use never moves it back", usage: u, at: minute(0).Add(-time.Hour), want: minute(1).Add(30 * time.Second)},
			{name: "nor one from another process", usage: other, at: minute(1).Add(-time.Hour), want: minute(1).Add(30 * time.Second)},
			{name: "a later one moves it forward", usage: u, at: minute(5), want: minute(5)},
		}
		for _, s := range steps {
			if err := s.usage.Touch(ctx, tenant, key, s.at); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := lastUsed(t, db, key); !got.Equal(s.want) {
				t.Fatalf("%s: last used %v, want %v", s.name, got, s.want)
			}
		}
		// The throttle really skips the write: a row changed behind its back
		// stays as it is.
		if _, err := db.Exec(db.Rebind(`UPDATE api_key_usage SET last_used_at = ? WHERE key_id = ?`), dbTimeOf(db, minute(2)), key); err != nil {
			t.Fatal(err)
		}
		if err := u.Touch(ctx, tenant, key, minute(5).Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(t, db, key); !got.Equal(minute(2)) {
			t.Errorf("a throttled use wrote %v", got)
		}
		for _, bad := range [][2]string{{"acme", key}, {tenant, "key"}, {"", ""}} {
			err := u.Touch(ctx, bad[0], bad[1], minute(9))
			if domain.CodeOf(err) != domain.CodeBadInput || !(errors.Is(err, apikeyqry.ErrInvalidTenant) || errors.Is(err, apikeyqry.ErrInvalidID)) {
				t.Errorf("Touch(%q, %q) = %v", bad[0], bad[1], err)
			}
		}
	})
}

func dbTimeOf(db *database.DB, t time.Time) any {
	if db.Dialect() == database.SQLite {
		return database.FormatTime(t)
	}
	return t
}

// TestUsageIsBounded: the memory of writes never exceeds MaxTracked; keys
// written more than an interval ago are forgotten first.
func TestUsageIsBounded(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, database.SQLite)
	ctx := context.Background()
	tenant := uuid.NewString()
	u := apikeyqry.NewUsage(db, apikeyqry.UsageConfig{Interval: time.Minute, MaxTracked: 3})
	keys := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	touch := func(key string, at time.Time) {
		t.Helper()
		if err := u.Touch(ctx, tenant, key, at); err != nil {
			t.Fatal(err)
		}
	}
	touch(keys[0], minute(0))
	touch(keys[1], minute(2))
	touch(keys[2], minute(2))
	if u.Tracked() != 3 {
		t.Fatalf("tracked %d", u.Tracked())
	}
	// keys[0] was written two minutes before: forgotten to make room.
	touch(keys[3], minute(2).Add(time.Second))
	if u.Tracked() != 3 {
		t.Fatalf("tracked %d after forgetting the old one", u.Tracked())
	}
	// Every remembered key is recent: all are forgotten.
	touch(keys[4], minute(2).Add(2*time.Second))
	if u.Tracked() != 1 {
		t.Fatalf("tracked %d after clearing", u.Tracked())
	}
	// keys[1] is written again although its last write was recent: the
	// memory was cleared (one extra write, never a lost one).
	touch(keys[1], minute(2).Add(3*time.Second))
	if got := lastUsed(t, db, keys[1]); !got.Equal(minute(2).Add(3 * time.Second)) {
		t.Errorf("keys[1] last used %v", got)
	}
}

// TestUsageConcurrently: many requests of many keys at once write each key
// once and leave every key's latest use.
func TestUsageConcurrently(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, dbURL string) {
		db := dbtest.OpenURL(t, dbURL)
		u := apikeyqry.NewUsage(db, apikeyqry.UsageConfig{})
		tenant := uuid.NewString()
		keys := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					if err := u.Touch(context.Background(), tenant, keys[(g+i)%len(keys)], minute(0).Add(time.Duration(i)*time.Second)); err != nil {
						errs <- fmt.Errorf("goroutine %d: %w", g, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, k := range keys {
			if got := lastUsed(t, db, k); got.IsZero() || got.After(minute(0).Add(19*time.Second)) {
				t.Errorf("key %s last used %v", k, got)
			}
		}
	})
}
