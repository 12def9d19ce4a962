package session

import (
	"context"
	"fmt"
	"time"

	"github.com/rustok/rustok/platform/database"
)

// CleanupChunk is how many rows one cleanup transaction deletes at most:
// every write transaction stays short, because on PostgreSQL an open one
// holds back every consumer of the log (the xid8 fence).
const CleanupChunk = 1000

// Cleanup deletes the rows of sessions that ended before before: revoked
// before it, or whose absolute expiry is before it (rm_sessions.ended_at <
// before), in transactions of at most CleanupChunk rows, and returns how
// many it deleted. It backs `rustok task cleanup sessions`, which passes
// now minus a retention; before must not be in the future, so that no
// active session is deleted.
//
// Rows belong to the sessions projection: a replay re-creates the deleted
// ones and the next cleanup deletes them again. See the package
// documentation for why that is sound, and for the one event a deleted row
// can still meet. Cleanup spans every tenant (it is an operator's task);
// it never touches an active session.
func Cleanup(ctx context.Context, db *database.DB, before time.Time) (int64, error) {
	return cleanup(ctx, db, before, CleanupChunk)
}

func cleanup(ctx context.Context, db *database.DB, before time.Time, chunk int) (int64, error) {
	q := db.Rebind(`DELETE FROM rm_sessions WHERE id IN
		(SELECT id FROM rm_sessions WHERE ended_at < ? ORDER BY ended_at LIMIT ?)`)
	cutoff := dbTime(db, before)
	var total int64
	for {
		var n int64
		err := db.WithWriteGate(ctx, func() error {
			res, err := db.ExecContext(ctx, q, cutoff, chunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("clean up sessions that ended before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		total += n
		if n < int64(chunk) {
			return total, nil
		}
	}
}
