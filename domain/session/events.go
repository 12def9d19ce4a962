package session

import (
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
)

// StreamType is the event store stream type of session streams; the stream
// id is the session id (the "sid" claim of access tokens).
const StreamType = "session"

// The session event types of DOMAIN.md. They are stored in the log:
// renaming one orphans every stored event of that type.
const (
	TypeStarted   = "session.started"
	TypeRefreshed = "session.refreshed"
	TypeRevoked   = "session.revoked"
)

// EventTypes returns every session event type, for event registries. Each
// call returns a new slice.
func EventTypes() []string { return []string{TypeStarted, TypeRefreshed, TypeRevoked} }

// Event is a session event. The events of this package are the value types
// below; their JSON form is the stored payload. Times are in UTC.
type Event interface {
	// EventType returns the stored event type, one of the Type constants.
	EventType() string
	// SchemaVersion returns the version of the payload's shape.
	SchemaVersion() int
}

// Started records a sign-in: a new session of UserID in TenantID whose
// refresh token hashes to TokenHash (secret, see Redact) and which ends at
// ExpiresAt whatever happens. IP and UserAgent describe the client, for the
// sessions list.
type Started struct {
	SessionID string    `json:"session_id"`
	TenantID  string    `json:"tenant_id"`
	UserID    string    `json:"user_id"`
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	At        time.Time `json:"at"`
}

// Refreshed records a rotation: the refresh token now hashes to TokenHash
// (secret, see Redact), and the previous one is spent. Generation counts the
// rotations (1 for the first). IP and UserAgent are the refreshing client's.
type Refreshed struct {
	SessionID  string    `json:"session_id"`
	TokenHash  string    `json:"token_hash"`
	Generation int       `json:"generation"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	At         time.Time `json:"at"`
}

// Revoked records the end of the session; it is the last event of the
// stream. UserID lets the session cache and the sessions list find it
// without loading the stream.
type Revoked struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	Reason    Reason    `json:"reason"`
	At        time.Time `json:"at"`
}

// EventType returns TypeStarted.
func (Started) EventType() string { return TypeStarted }

// EventType returns TypeRefreshed.
func (Refreshed) EventType() string { return TypeRefreshed }

// EventType returns TypeRevoked.
func (Revoked) EventType() string { return TypeRevoked }

// SchemaVersion returns 1.
func (Started) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Refreshed) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Revoked) SchemaVersion() int { return 1 }

// Redact returns e without its secrets (the token hash of Started and
// Refreshed emptied); other events unchanged. Everything that shows events
// beyond the command side must show Redact's result.
func Redact(e Event) Event {
	switch e := e.(type) {
	case Started:
		e.TokenHash = ""
		return e
	case Refreshed:
		e.TokenHash = ""
		return e
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
	case TypeStarted:
		return domain.DecodeEvent[Started](schemaVersion, payload, ErrUnknownEvent)
	case TypeRefreshed:
		return domain.DecodeEvent[Refreshed](schemaVersion, payload, ErrUnknownEvent)
	case TypeRevoked:
		return domain.DecodeEvent[Revoked](schemaVersion, payload, ErrUnknownEvent)
	}
	return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEvent)
}
