package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"

	"github.com/rustok/rustok/eventstore"
)

// Row is a read-model row that follows one stream, as a Fold sees it.
type Row[R any] struct {
	// StreamID is the id of the stream the row follows: the row's key.
	StreamID string
	// Version is the stream version the row reflects (0: no row yet).
	Version int64
	// Exists reports whether the row exists: Load read it, or an earlier
	// event of the batch created it. A handler of an event that needs the
	// row (anything but a creation) returns an error when it is false.
	Exists bool
	// Value is the row's state.
	Value R
}

// Change is a row a batch changed.
type Change[R any] struct {
	// Before is the row as Load read it; Before.Exists is false when the
	// batch created the row.
	Before Row[R]
	// After is the row after the last event of its stream in the batch.
	After Row[R]
}

// FoldHandler folds one event into its stream's row, in memory. It is called
// only for an event newer than the row (CheckVersion), in version order; the
// Fold then sets the row's Version and Exists. An error names the event as
// the failing one (the relay dead-letters it alone).
type FoldHandler[R any] func(row *Row[R], e eventstore.Event) error

// FoldOn adapts a typed fold function: the payload is decoded into E first.
func FoldOn[E, R any](fn func(row *Row[R], payload E, e eventstore.Event) error) FoldHandler[R] {
	return func(row *Row[R], e eventstore.Event) error {
		var p E
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return fmt.Errorf("decode %s payload at position %d: %w", e.Type, e.Position, err)
		}
		return fn(row, p, e)
	}
}

// Fold is the pattern of a projection whose read-model rows each follow one
// stream (one row per aggregate). Per batch it makes one multi-row read and
// one set-based write per table, whatever the number of events:
//
//  1. Load reads the current rows of every stream in the batch (one SELECT,
//     Tx.SelectIn), so that events whose effect depends on the previous
//     state (toggling a module, removing a domain) fold from it.
//  2. Each event newer than its row (CheckVersion: older ones are
//     redeliveries) is folded into the row in memory by its handler, in
//     consumption order; per stream that is version order, also across
//     batches, because a batch continues where the previous one committed.
//  3. Save writes the final state of every changed row (Tx.Upsert, guarded
//     by the version column so that a row never goes back in time) and any
//     table derived from the rows, from each row's before and after states.
//
// Events of types not in On are skipped. The event types of one Fold must
// belong to one stream type (rows are keyed by stream id).
//
// A replay rebuilds a Fold in bulk (Batch.Fresh, docs/adr/0030): each stream
// folded from its first event with no row loaded, Save called on chunks of
// whole streams, its upserts collected and inserted. So Save must derive
// what it writes from the changes alone, and rows it derives from several
// streams must not collide between final rows; a Save that reads or
// deletes makes the replay run in log order instead.
//
// Deleting rows is not part of the pattern: a deleted row loses its version,
// so a redelivered older event would find no row. Keep such rows with a
// status instead (a tombstone).
type Fold[R any] struct {
	// Load returns the rows of the given streams (read with one multi-row
	// SELECT through the Tx), each with StreamID and Version set. Streams
	// without a row are left out.
	Load func(ctx context.Context, tx *Tx, streamIDs []string) ([]Row[R], error)
	// Clone returns a deep copy of a row value, so that handlers may change
	// slices and maps in place while Change.Before keeps the loaded state.
	// Nil means plain assignment, which suffices for values without slices,
	// maps or pointers.
	Clone func(R) R
	// On holds the handlers by event type.
	On map[string]FoldHandler[R]
	// Save writes the changed rows, in the order the batch first changed
	// them. It is not called when nothing changed.
	Save func(ctx context.Context, tx *Tx, changes []Change[R]) error
}

// Batch returns the Batch that applies f. It panics if Load, On or Save is
// missing (a wiring error).
func (f Fold[R]) Batch() Batch {
	if f.Load == nil || f.Save == nil || len(f.On) == 0 {
		panic("relay.Fold: Load, On and Save are required")
	}
	return Batch{Types: slices.Sorted(maps.Keys(f.On)), Apply: f.apply, Fresh: f.applyFresh}
}

// folded is one stream's row during a batch.
type folded[R any] struct {
	before, after Row[R]
	changed       bool
}

func (f Fold[R]) apply(ctx context.Context, tx *Tx, evs []eventstore.Event) error {
	ids := make([]string, 0, len(evs))
	rows := make(map[string]*folded[R], len(evs))
	for _, e := range evs {
		if _, ok := rows[e.Stream.ID]; !ok {
			rows[e.Stream.ID] = nil
			ids = append(ids, e.Stream.ID)
		}
	}
	loaded, err := f.Load(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("load %d rows: %w", len(ids), err)
	}
	for _, r := range loaded {
		if _, ok := rows[r.StreamID]; !ok {
			return fmt.Errorf("load returned a row of stream %s, which was not asked for", r.StreamID)
		}
		r.Exists = true
		after := r
		if f.Clone != nil {
			after.Value = f.Clone(r.Value)
		}
		rows[r.StreamID] = &folded[R]{before: r, after: after}
	}
	return f.foldAndSave(ctx, tx, evs, rows)
}

// applyFresh is apply for streams known to have no rows (Batch.Fresh): no
// Load.
func (f Fold[R]) applyFresh(ctx context.Context, tx *Tx, evs []eventstore.Event) error {
	return f.foldAndSave(ctx, tx, evs, make(map[string]*folded[R], len(evs)/2+1))
}

// foldAndSave folds evs into rows (the loaded ones; a stream without an
// entry starts without a row) and saves those that changed.
func (f Fold[R]) foldAndSave(ctx context.Context, tx *Tx, evs []eventstore.Event, rows map[string]*folded[R]) error {
	changed := make([]*folded[R], 0, len(rows))
	for _, e := range evs {
		h, ok := f.On[e.Type]
		if !ok {
			continue
		}
		st := rows[e.Stream.ID]
		if st == nil {
			st = &folded[R]{before: Row[R]{StreamID: e.Stream.ID}, after: Row[R]{StreamID: e.Stream.ID}}
			rows[e.Stream.ID] = st
		}
		if !CheckVersion(st.after.Version, e.Version) {
			continue // a redelivery: the row already reflects e
		}
		if err := callFold(h, &st.after, e); err != nil {
			return &EventError{Event: e, Err: err}
		}
		st.after.Version, st.after.Exists = e.Version, true
		if !st.changed {
			st.changed = true
			changed = append(changed, st)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	changes := make([]Change[R], len(changed))
	for i, st := range changed {
		changes[i] = Change[R]{Before: st.before, After: st.after}
	}
	if err := f.Save(ctx, tx, changes); err != nil {
		return fmt.Errorf("save %d rows: %w", len(changes), err)
	}
	return nil
}

func callFold[R any](h FoldHandler[R], row *Row[R], e eventstore.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(row, e)
}
