package user

import (
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
)

// StreamType is the event store stream type of user streams; the stream id
// is the user id.
const StreamType = "user"

// The user event types of DOMAIN.md. They are stored in the log: renaming
// one orphans every stored event of that type.
const (
	TypeRegistered             = "user.registered"
	TypeUpdated                = "user.updated"
	TypeRoleChanged            = "user.role_changed"
	TypeStatusChanged          = "user.status_changed"
	TypePasswordChanged        = "user.password_changed"
	TypeDeleted                = "user.deleted"
	TypePasswordResetRequested = "user.password_reset_requested"
)

// EventTypes returns every user event type, for event registries. Each call
// returns a new slice.
func EventTypes() []string {
	return []string{
		TypeRegistered, TypeUpdated, TypeRoleChanged, TypeStatusChanged,
		TypePasswordChanged, TypeDeleted, TypePasswordResetRequested,
	}
}

// Event is a user event. The events of this package are the value types
// below (Registered, not *Registered); their JSON form is the stored payload.
// Times are recorded in UTC.
type Event interface {
	// EventType returns the stored event type, one of the Type constants.
	EventType() string
	// SchemaVersion returns the version of the payload's shape.
	SchemaVersion() int
}

// Registered records a new user. PasswordHash is secret (see Redact).
type Registered struct {
	UserID       string    `json:"user_id"`
	TenantID     string    `json:"tenant_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Role         Role      `json:"role"`
	Status       Status    `json:"status"`
	At           time.Time `json:"at"`
}

// Updated records the user's profile after a change: all of it, whatever
// changed (name, email, email verification). A changed email is unverified
// (EmailVerifiedAt nil).
type Updated struct {
	UserID          string     `json:"user_id"`
	Email           string     `json:"email"`
	Name            string     `json:"name"`
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	At              time.Time  `json:"at"`
}

// RoleChanged records a new role.
type RoleChanged struct {
	UserID       string    `json:"user_id"`
	Role         Role      `json:"role"`
	PreviousRole Role      `json:"previous_role"`
	At           time.Time `json:"at"`
}

// StatusChanged records a new status.
type StatusChanged struct {
	UserID         string    `json:"user_id"`
	Status         Status    `json:"status"`
	PreviousStatus Status    `json:"previous_status"`
	At             time.Time `json:"at"`
}

// PasswordChangeReason says how a password was changed; session revocation
// depends on it (DOMAIN.md: change-password revokes all sessions but the
// current one, reset-password revokes all).
type PasswordChangeReason string

// The password change reasons.
const (
	// ReasonChange: the user changed it, knowing the current password.
	ReasonChange PasswordChangeReason = "change"
	// ReasonReset: the user set it with a reset token.
	ReasonReset PasswordChangeReason = "reset"
)

// PasswordChanged records a new password hash (secret, see Redact). It also
// ends any pending password reset.
type PasswordChanged struct {
	UserID       string               `json:"user_id"`
	PasswordHash string               `json:"password_hash"`
	Reason       PasswordChangeReason `json:"reason"`
	At           time.Time            `json:"at"`
}

// Deleted records that the user was deleted; it is the last event of the
// stream. Email is the address the user had, whose reservation the command
// layer releases.
type Deleted struct {
	UserID string    `json:"user_id"`
	Email  string    `json:"email"`
	At     time.Time `json:"at"`
}

// PasswordResetRequested records a password reset token: only its hash
// (secret, see Redact) and expiry, never the token. It replaces any earlier
// pending token.
type PasswordResetRequested struct {
	UserID    string    `json:"user_id"`
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
	At        time.Time `json:"at"`
}

// EventType returns TypeRegistered.
func (Registered) EventType() string { return TypeRegistered }

// EventType returns TypeUpdated.
func (Updated) EventType() string { return TypeUpdated }

// EventType returns TypeRoleChanged.
func (RoleChanged) EventType() string { return TypeRoleChanged }

// EventType returns TypeStatusChanged.
func (StatusChanged) EventType() string { return TypeStatusChanged }

// EventType returns TypePasswordChanged.
func (PasswordChanged) EventType() string { return TypePasswordChanged }

// EventType returns TypeDeleted.
func (Deleted) EventType() string { return TypeDeleted }

// EventType returns TypePasswordResetRequested.
func (PasswordResetRequested) EventType() string { return TypePasswordResetRequested }

// SchemaVersion returns 1.
func (Registered) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Updated) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (RoleChanged) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (StatusChanged) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (PasswordChanged) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Deleted) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (PasswordResetRequested) SchemaVersion() int { return 1 }

// Redact returns e without its secrets: the password hash of Registered
// and PasswordChanged and the token hash of PasswordResetRequested are
// emptied. Other events are returned unchanged. Everything that shows events
// beyond the command side (history, the event stream, webhooks, forwarding)
// must show Redact's result; read models that need the hash (sign-in) read
// the event itself.
func Redact(e Event) Event {
	switch e := e.(type) {
	case Registered:
		e.PasswordHash = ""
		return e
	case PasswordChanged:
		e.PasswordHash = ""
		return e
	case PasswordResetRequested:
		e.TokenHash = ""
		return e
	}
	return e
}

// Decode turns a stored event (type, schema version, JSON payload) back into
// its Event value. Unknown payload fields are ignored. Only the current
// schema version of each type is accepted: the event store's upcasters bring
// older payloads up to it before Decode.
//
// Errors: one wrapping ErrUnknownEvent for an unknown type or schema version;
// a JSON error, wrapped with the type, for a malformed payload.
func Decode(eventType string, schemaVersion int, payload []byte) (Event, error) {
	switch eventType {
	case TypeRegistered:
		return domain.DecodeEvent[Registered](schemaVersion, payload, ErrUnknownEvent)
	case TypeUpdated:
		return domain.DecodeEvent[Updated](schemaVersion, payload, ErrUnknownEvent)
	case TypeRoleChanged:
		return domain.DecodeEvent[RoleChanged](schemaVersion, payload, ErrUnknownEvent)
	case TypeStatusChanged:
		return domain.DecodeEvent[StatusChanged](schemaVersion, payload, ErrUnknownEvent)
	case TypePasswordChanged:
		return domain.DecodeEvent[PasswordChanged](schemaVersion, payload, ErrUnknownEvent)
	case TypeDeleted:
		return domain.DecodeEvent[Deleted](schemaVersion, payload, ErrUnknownEvent)
	case TypePasswordResetRequested:
		return domain.DecodeEvent[PasswordResetRequested](schemaVersion, payload, ErrUnknownEvent)
	}
	return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEvent)
}
