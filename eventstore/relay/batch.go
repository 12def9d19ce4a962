package relay

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/rustok/rustok/eventstore"
)

// BatchFunc applies a batch of events inside the consumer's transaction. The
// events are in consumption order (each stream's in version order) and are
// all of the types the consumer handles; it is called once per batch the
// relay read, with the checkpoint moved after it in the same transaction.
//
// It must be idempotent per event: a batch cut short by a shutdown is
// delivered again, and so is every event after a checkpoint reset. Guard each
// row with the stream version (CheckVersion; Fold does it for you).
//
// An error rolls the batch back; the relay then applies it again in careful
// mode, splitting it until the failing events are alone, each retried and
// then dead-lettered while the others commit. Return an *EventError (wrapped
// or not) when the failing event is known: the relay then splits around it
// at once instead of bisecting.
type BatchFunc func(ctx context.Context, tx *Tx, events []eventstore.Event) error

// Batch is a consumer's set-based handler: the shape of every projection.
// Build one with Fold for read models whose rows each follow one stream.
type Batch struct {
	// Types are the event types Apply handles. Events of other types are
	// skipped (acknowledged without calling Apply).
	Types []string
	// Apply applies the events of one transaction.
	Apply BatchFunc
	// Fresh, if set, applies whole streams that have no rows yet — each
	// stream's events from its first, in version order, streams one after
	// the other — without reading any row back: a replay then rebuilds the
	// read model in bulk (see rebuild.go). Fold sets it. A wrapper of Apply
	// that adds to what it does must wrap Fresh the same way or clear it.
	Fresh BatchFunc
}

// EventError reports that one event of a batch could not be applied. A
// BatchFunc returns it so that the relay can commit the events around that
// event and retry, then dead-letter, that event alone.
type EventError struct {
	// Event is the event that failed.
	Event eventstore.Event
	// Err is why; it is what the dead letter records.
	Err error
}

// Error names the event and the cause.
func (e *EventError) Error() string {
	return fmt.Sprintf("%s at position %d (stream %s, version %d): %v", e.Event.Type, e.Event.Position, e.Event.Stream, e.Event.Version, e.Err)
}

// Unwrap returns Err.
func (e *EventError) Unwrap() error { return e.Err }

// failedAt returns the index in evs of the event err names (an *EventError in
// its chain), or -1 when err names none of them.
func failedAt(err error, evs []eventstore.Event) int {
	var ee *EventError
	if !errors.As(err, &ee) {
		return -1
	}
	for i, e := range evs {
		if e.Position == ee.Event.Position && e.ID == ee.Event.ID {
			return i
		}
	}
	return -1
}

// causeFor returns the error to record for e: the cause carried by an
// *EventError naming e, or err itself.
func causeFor(err error, e eventstore.Event) error {
	var ee *EventError
	if errors.As(err, &ee) && ee.Event.Position == e.Position && ee.Event.ID == e.ID {
		return ee.Err
	}
	return err
}

// perEvent adapts the per-event handlers of a reactor to a BatchFunc: each
// event's handler runs in turn, and the first failure (or panic) is reported
// as an *EventError naming that event.
func perEvent(handlers map[string]Handler) BatchFunc {
	return func(ctx context.Context, tx *Tx, evs []eventstore.Event) error {
		for _, e := range evs {
			h, ok := handlers[e.Type]
			if !ok {
				continue
			}
			if err := callHandler(ctx, h, tx, e); err != nil {
				return &EventError{Event: e, Err: err}
			}
		}
		return nil
	}
}

// callHandler runs one per-event handler, turning a panic into an error.
func callHandler(ctx context.Context, h Handler, tx *Tx, e eventstore.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, tx, e)
}

// callBatch runs a batch function, turning a panic into an error.
func callBatch(ctx context.Context, f BatchFunc, tx *Tx, evs []eventstore.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return f(ctx, tx, evs)
}
