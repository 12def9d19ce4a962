package domain

import (
	"encoding/json"
	"fmt"
)

// Event is what every module's events are: a stored type and the version of
// the payload's shape. Each module declares its own Event interface with
// these two methods, so that an Event converts to it.
type Event interface {
	// EventType returns the stored event type.
	EventType() string
	// SchemaVersion returns the version of the payload's shape.
	SchemaVersion() int
}

// DecodeEvent returns payload, a stored JSON payload of schema version
// schemaVersion, decoded as an E, the value type of one event. Unknown
// payload fields are ignored; only E's current schema version is accepted.
// It is the shared step of each module's Decode, which picks E by event type.
//
// Errors: one wrapping unknown (the module's ErrUnknownEvent) for another
// schema version; a JSON error, wrapped with the type, for a malformed
// payload. The Event is nil whenever the error is not.
func DecodeEvent[E Event](schemaVersion int, payload []byte, unknown error) (Event, error) {
	var e E
	if schemaVersion != e.SchemaVersion() {
		return nil, fmt.Errorf("decode %s schema version %d: %w", e.EventType(), schemaVersion, unknown)
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.EventType(), err)
	}
	return e, nil
}
