package commands

import (
	"context"
	"fmt"

	"github.com/rustok/rustok/eventstore"
)

// Store is the part of the event store command handlers use;
// *eventstore.Store implements it.
type Store interface {
	// Append appends events to a stream at an expected version (see
	// eventstore.Store.Append).
	Append(ctx context.Context, stream eventstore.Stream, expectedVersion int64, events []eventstore.NewEvent, opts ...eventstore.AppendOption) (eventstore.Result, error)
	// Load returns a stream's events in version order; empty when the
	// stream does not exist.
	Load(ctx context.Context, streamType, streamID string) ([]eventstore.Event, error)
	// ReservationHolder returns the id of the stream holding (scope, value).
	ReservationHolder(ctx context.Context, scope, value string) (streamID string, found bool, err error)
}

// Repository loads and saves the aggregates of one stream type: the one
// aggregate repository every module's command handlers use. A is the
// aggregate (usually a pointer), E the interface of its domain events; the
// domain package provides Decode and Load (a fold of the history), as
// domain/tenant, domain/user and domain/session do.
type Repository[A any, E eventstore.Recordable] struct {
	// Store is the event store.
	Store Store
	// StreamType is the aggregate's stream type (tenant.StreamType, …).
	StreamType string
	// Decode turns a stored event into a domain event, refusing unknown
	// types and schema versions.
	Decode func(eventType string, schemaVersion int, payload []byte) (E, error)
	// Fold rebuilds the aggregate from its whole history, in version order.
	Fold func(history []E) (A, error)
	// NotFound is the application error (usually NOT_FOUND) Load returns,
	// wrapped, for a stream without events.
	NotFound error
}

// Load rebuilds the aggregate of stream id and returns it with the stream
// version to expect when appending its next events. A stream without events
// is r.NotFound.
func (r Repository[A, E]) Load(ctx context.Context, id string) (A, int64, error) {
	var zero A
	stored, err := r.Store.Load(ctx, r.StreamType, id)
	if err != nil {
		return zero, 0, fmt.Errorf("load %s %s: %w", r.StreamType, id, err)
	}
	if len(stored) == 0 {
		return zero, 0, fmt.Errorf("%s %s: %w", r.StreamType, id, r.NotFound)
	}
	history := make([]E, len(stored))
	for i, e := range stored {
		if history[i], err = r.Decode(e.Type, e.SchemaVersion, e.Payload); err != nil {
			return zero, 0, fmt.Errorf("load %s %s: event %d: %w", r.StreamType, id, e.Version, err)
		}
	}
	a, err := r.Fold(history)
	if err != nil {
		return zero, 0, fmt.Errorf("load %s %s: %w", r.StreamType, id, err)
	}
	return a, stored[len(stored)-1].Version, nil
}

// Append appends the events of one decision to stream at version expected
// (eventstore.NoStream for a new aggregate), in one transaction with the
// reservations and metadata of opts. No events is a no-op: nothing is
// appended and the result's position is 0. The store's refusals become
// application errors (AppendError): ErrStaleVersion for a stream that moved
// on, a CONFLICT naming a taken reservation.
func (r Repository[A, E]) Append(ctx context.Context, stream eventstore.Stream, expected int64, events []E, opts ...eventstore.AppendOption) (Result, error) {
	if len(events) == 0 {
		return Result{}, nil
	}
	if stream.Type != r.StreamType {
		return Result{}, fmt.Errorf("append to a %s stream through the %s repository", stream.Type, r.StreamType)
	}
	records := make([]eventstore.NewEvent, len(events))
	for i, e := range events {
		records[i] = eventstore.Record(e)
	}
	res, err := r.Store.Append(ctx, stream, expected, records, opts...)
	if err != nil {
		return Result{}, AppendError(err)
	}
	return Result{Position: res.Position}, nil
}
