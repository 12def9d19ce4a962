package apikey

import (
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
)

// StreamType is the event store stream type of API key streams; the stream
// id is the key id.
const StreamType = "api_key"

// The API key event types. They are stored in the log: renaming one orphans
// every stored event of that type.
const (
	TypeCreated = "api_key.created"
	TypeRevoked = "api_key.revoked"
)

// EventTypes returns every API key event type, for event registries. Each
// call returns a new slice.
func EventTypes() []string { return []string{TypeCreated, TypeRevoked} }

// Event is an API key event. The events of this package are the value types
// below; their JSON form is the stored payload. Times are in UTC.
type Event interface {
	// EventType returns the stored event type, one of the Type constants.
	EventType() string
	// SchemaVersion returns the version of the payload's shape.
	SchemaVersion() int
}

// Created records a new key KeyID of TenantID named Name, created by the
// user CreatedBy, holding Permissions ("resource:action", sorted, without
// duplicates). Prefix is the secret's public prefix; SecretHash is the hex
// SHA-256 of the secret (see Redact). ExpiresAt is nil for a key that does
// not expire.
type Created struct {
	KeyID       string     `json:"key_id"`
	TenantID    string     `json:"tenant_id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	SecretHash  string     `json:"secret_hash"`
	Permissions []string   `json:"permissions"`
	CreatedBy   string     `json:"created_by"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	At          time.Time  `json:"at"`
}

// Revoked records the end of the key, by the user RevokedBy; it is the last
// event of the stream.
type Revoked struct {
	KeyID     string    `json:"key_id"`
	RevokedBy string    `json:"revoked_by"`
	At        time.Time `json:"at"`
}

// EventType returns TypeCreated.
func (Created) EventType() string { return TypeCreated }

// EventType returns TypeRevoked.
func (Revoked) EventType() string { return TypeRevoked }

// SchemaVersion returns 1.
func (Created) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Revoked) SchemaVersion() int { return 1 }

// Redact returns e without its secrets (the secret hash of Created
// emptied); other events unchanged. Everything that shows events beyond the
// command side must show Redact's result.
func Redact(e Event) Event {
	if c, ok := e.(Created); ok {
		c.SecretHash = ""
		return c
	}
	return e
}

// Decode turns a stored event (type, schema version, JSON payload) back into
// its Event value. Unknown payload fields are ignored; only the current
// schema version of each type is accepted.
//
// Errors: one wrapping ErrUnknownEvent for an unknown type or schema version;
// a JSON error, wrapped with the type, for a malformed payload.
func Decode(eventType string, schemaVersion int, payload []byte) (Event, error) {
	switch eventType {
	case TypeCreated:
		return domain.DecodeEvent[Created](schemaVersion, payload, ErrUnknownEvent)
	case TypeRevoked:
		return domain.DecodeEvent[Revoked](schemaVersion, payload, ErrUnknownEvent)
	}
	return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEvent)
}
