package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Stream names one event stream: an aggregate's type and id, and the tenant it
// belongs to (a tenant's own stream carries its own id).
type Stream struct {
	Type     string
	ID       string
	TenantID string
}

func (s Stream) String() string { return s.Type + "/" + s.ID }

// Metadata travels with every event: who caused it and within which request.
type Metadata struct {
	ActorID       string `json:"actor_id,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
}

// NewEvent is an event to append. Payload is marshalled to JSON.
type NewEvent struct {
	Type          string
	SchemaVersion int
	Payload       any
}

// Recordable is what domain events provide; Record turns one into a NewEvent.
type Recordable interface {
	EventType() string
	SchemaVersion() int
}

// Record returns the NewEvent for a domain event.
func Record(e Recordable) NewEvent {
	return NewEvent{Type: e.EventType(), SchemaVersion: e.SchemaVersion(), Payload: e}
}

// Event is a stored event with its envelope.
type Event struct {
	ID            string
	Stream        Stream
	Version       int64 // position of the event within its stream, from 1
	Type          string
	SchemaVersion int
	Payload       json.RawMessage
	Metadata      Metadata
	RecordedAt    time.Time
	// Position is the global log position.
	Position int64
	// TxID is the PostgreSQL transaction id (xid8) that wrote the event; 0 on SQLite.
	TxID uint64
}

// Cursor is a place in consumption order: (TxID, Position). The zero Cursor is
// the start of the log.
type Cursor struct {
	TxID     uint64
	Position int64
}

// Cursor returns the cursor just at e (reading after it continues past e).
func (e Event) Cursor() Cursor { return Cursor{TxID: e.TxID, Position: e.Position} }

// Expected-version sentinels for Append.
const (
	// NoStream expects the stream not to exist yet.
	NoStream int64 = 0
	// AnyVersion appends whatever the stream's version is.
	AnyVersion int64 = -1
)

// ErrConcurrencyConflict is returned (wrapped in *ConflictError) when the
// stream's version is not the expected one: someone else appended first.
var ErrConcurrencyConflict = errors.New("concurrency conflict")

// ConflictError says which stream conflicted and how. It unwraps to ErrConcurrencyConflict.
type ConflictError struct {
	Stream   Stream
	Expected int64
	// Actual is the version found, or -1 when the conflict was detected by the
	// unique index (a racing commit) rather than by the version check.
	Actual int64
}

func (e *ConflictError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("stream %s: expected version %d, but another writer appended concurrently", e.Stream, e.Expected)
	}
	return fmt.Sprintf("stream %s: expected version %d, found %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap returns ErrConcurrencyConflict.
func (e *ConflictError) Unwrap() error { return ErrConcurrencyConflict }

// ErrReserved is returned (wrapped in *ReservationError) when a uniqueness
// reservation is already held by another stream.
var ErrReserved = errors.New("value already reserved")

// ReservationError names the reservation that was taken. It unwraps to ErrReserved.
type ReservationError struct {
	Scope, Value string
}

func (e *ReservationError) Error() string {
	return fmt.Sprintf("%s %q is already taken", e.Scope, e.Value)
}

// Unwrap returns ErrReserved.
func (e *ReservationError) Unwrap() error { return ErrReserved }

// ErrInvalidAppend is returned for an Append that can never succeed (no events,
// empty stream id, bad expected version); it is a programming error, not a conflict.
var ErrInvalidAppend = errors.New("invalid append")

// Result is what a successful Append returns.
type Result struct {
	// Position is the global position of the last appended event: the value a
	// client passes back for read-your-writes.
	Position int64
	// Version is the stream's version after the append.
	Version int64
}
