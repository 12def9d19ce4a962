package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database"
)

// Kind says whether a consumer builds read models or acts on the world.
type Kind string

const (
	// KindProjection consumers write read models; they can be replayed.
	KindProjection Kind = "projection"
	// KindReactor consumers have side effects (mail, webhooks); replay refuses
	// them unless explicitly asked, so a replay never resends mail.
	KindReactor Kind = "reactor"
)

// Handler applies one event inside the consumer's transaction: the shape for
// reactors (mail, webhooks), whose effects are not rows. It must be
// idempotent per event, because a delivery cut short by a shutdown is
// delivered again. Projections use Batch (Fold) instead.
type Handler func(ctx context.Context, tx *Tx, e eventstore.Event) error

// Consumer is one consumer group: a projection or a reactor. It has either
// Batch (projections: set-based writes, one transaction per batch) or
// Handlers (reactors: one call per event, in the same batch transaction).
type Consumer struct {
	// Name is the consumer group and checkpoint key. Renaming it replays the
	// consumer from position 0 under the new name.
	Name string
	Kind Kind
	// Tables are the read-model tables a projection owns (created by
	// migrations); replay rebuilds them into fresh copies and swaps.
	Tables []string
	// Batch is the set-based handler of a projection: it gets every event
	// of its types that the relay read in one transaction (see Fold).
	Batch Batch
	// Handlers by event type, called one event at a time; events of other
	// types are skipped. Not together with Batch.
	Handlers map[string]Handler
}

var consumerName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,62}$`)
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

func (c Consumer) validate() error {
	if !consumerName.MatchString(c.Name) {
		return fmt.Errorf("consumer name %q: must match %s", c.Name, consumerName)
	}
	if c.Kind != KindProjection && c.Kind != KindReactor {
		return fmt.Errorf("consumer %s: kind %q is neither projection nor reactor", c.Name, c.Kind)
	}
	for _, t := range c.Tables {
		if !tableName.MatchString(t) {
			return fmt.Errorf("consumer %s: table name %q: must match %s", c.Name, t, tableName)
		}
	}
	if c.Kind == KindReactor && len(c.Tables) > 0 {
		return fmt.Errorf("consumer %s: a reactor owns no read-model tables", c.Name)
	}
	if c.Batch.Apply != nil && len(c.Handlers) > 0 {
		return fmt.Errorf("consumer %s: has both a batch handler and per-event handlers", c.Name)
	}
	if c.Batch.Fresh != nil && c.Batch.Apply == nil {
		return fmt.Errorf("consumer %s: a batch handler for fresh streams needs Apply too", c.Name)
	}
	if (c.Batch.Apply == nil) != (len(c.Batch.Types) == 0) {
		return fmt.Errorf("consumer %s: a batch handler needs its event types, and event types need a handler", c.Name)
	}
	return nil
}

// batchFunc returns the consumer's handlers as one BatchFunc, and the event
// types it handles.
func (c Consumer) batchFunc() (BatchFunc, map[string]bool) {
	types := make(map[string]bool, len(c.Batch.Types)+len(c.Handlers))
	if c.Batch.Apply != nil {
		for _, t := range c.Batch.Types {
			types[t] = true
		}
		return c.Batch.Apply, types
	}
	for t := range c.Handlers {
		types[t] = true
	}
	return perEvent(c.Handlers), types
}

// On adapts a typed handler: the payload is decoded into E before fn is called.
func On[E any](fn func(ctx context.Context, tx *Tx, payload E, e eventstore.Event) error) Handler {
	return func(ctx context.Context, tx *Tx, e eventstore.Event) error {
		var p E
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return fmt.Errorf("decode %s payload at position %d: %w", e.Type, e.Position, err)
		}
		return fn(ctx, tx, p, e)
	}
}

// Tx is the transaction a handler writes in. Table maps a read-model table's
// name to the table actually written (the fresh copy during a replay), so
// handlers must always name their tables through it.
type Tx struct {
	tx      *sqlx.Tx
	dialect database.Dialect
	tables  map[string]string
	// types caches column types for the bulk statements (see bulk.go).
	types *columnTypeCache
	// collect, during the bulk rebuild of a replay, keeps the rows Write
	// would upsert instead of writing them (tx is nil then; see bulkFill).
	collect *collector
}

// Table returns the physical name of read-model table name.
func (t *Tx) Table(name string) string {
	if n, ok := t.tables[name]; ok {
		return n
	}
	return name
}

// Dialect returns the database dialect, for the rare handler that needs it.
func (t *Tx) Dialect() database.Dialect { return t.dialect }

// Exec runs a statement written with ? placeholders.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.collect != nil {
		return nil, errNotBulk
	}
	return t.tx.ExecContext(ctx, t.tx.Rebind(query), args...)
}

// Get scans one row into dest (sql.ErrNoRows when there is none).
func (t *Tx) Get(ctx context.Context, dest any, query string, args ...any) error {
	if t.collect != nil {
		return errNotBulk
	}
	return t.tx.GetContext(ctx, dest, t.tx.Rebind(query), args...)
}

// Select scans every row into dest (a pointer to a slice).
func (t *Tx) Select(ctx context.Context, dest any, query string, args ...any) error {
	if t.collect != nil {
		return errNotBulk
	}
	return t.tx.SelectContext(ctx, dest, t.tx.Rebind(query), args...)
}

// Time returns ts in the form the dialect's timestamp columns take.
func (t *Tx) Time(ts time.Time) any {
	if t.dialect == database.SQLite {
		return database.FormatTime(ts)
	}
	return ts.UTC()
}

// CheckVersion is the per-stream order rule for a read-model row that follows
// one stream: given the version the row holds (0 when absent) and the incoming
// event's version, it reports whether to apply the event. An event at or below
// the row's version is a redelivery (or older than what the row shows) and is
// not applied, so a row never goes back in time. Versions may jump forward:
// events of types the projection does not handle, or dead-lettered ones, still
// take a version.
func CheckVersion(rowVersion, eventVersion int64) (apply bool) {
	return eventVersion > rowVersion
}
