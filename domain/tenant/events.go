package tenant

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/rustok/rustok/domain"
)

// StreamType is the event store stream type of tenant streams; the stream id
// is the tenant id.
const StreamType = "tenant"

// The tenant event types. They are stored in the log: renaming one orphans
// every stored event of that type.
const (
	TypeCreated        = "tenant.created"
	TypeUpdated        = "tenant.updated"
	TypeDomainAdded    = "tenant.domain_added"
	TypeDomainRemoved  = "tenant.domain_removed"
	TypeDisabled       = "tenant.disabled"
	TypeEnabled        = "tenant.enabled"
	TypeModuleToggled  = "tenant.module_toggled"
	TypeLocaleEnabled  = "tenant.locale_enabled"
	TypeLocaleDisabled = "tenant.locale_disabled"
)

// EventTypes returns every tenant event type, for event registries. Each call
// returns a new slice.
func EventTypes() []string {
	return []string{
		TypeCreated, TypeUpdated, TypeDomainAdded, TypeDomainRemoved, TypeDisabled,
		TypeEnabled, TypeModuleToggled, TypeLocaleEnabled, TypeLocaleDisabled,
	}
}

// Event is a tenant event. The events of this package are the value types
// below (Created, not *Created); their JSON form is the stored
// payload. Times are recorded in UTC.
type Event interface {
	// EventType returns the stored event type, one of the Type constants.
	EventType() string
	// SchemaVersion returns the version of the payload's shape.
	SchemaVersion() int
}

// Created records a new tenant with its initial state. Modules lists
// the enabled optional modules; Settings is a JSON object ("{}" when empty).
type Created struct {
	TenantID      string          `json:"tenant_id"`
	Slug          string          `json:"slug"`
	Name          string          `json:"name"`
	Domains       []string        `json:"domains"`
	Modules       []string        `json:"modules"`
	DefaultLocale string          `json:"default_locale"`
	Locales       []string        `json:"locales"`
	Settings      json.RawMessage `json:"settings"`
	At            time.Time       `json:"at"`
}

// Updated records a changed tenant name.
type Updated struct {
	TenantID string    `json:"tenant_id"`
	Name     string    `json:"name"`
	At       time.Time `json:"at"`
}

// DomainAdded records a host name added to the tenant (normalized, see
// NormalizeHost).
type DomainAdded struct {
	TenantID string    `json:"tenant_id"`
	Domain   string    `json:"domain"`
	At       time.Time `json:"at"`
}

// DomainRemoved records a host name removed from the tenant.
type DomainRemoved struct {
	TenantID string    `json:"tenant_id"`
	Domain   string    `json:"domain"`
	At       time.Time `json:"at"`
}

// Disabled records that the tenant was disabled: every request to it is
// refused until it is enabled again.
type Disabled struct {
	TenantID string    `json:"tenant_id"`
	At       time.Time `json:"at"`
}

// Enabled records that a disabled tenant was enabled again.
type Enabled struct {
	TenantID string    `json:"tenant_id"`
	At       time.Time `json:"at"`
}

// ModuleToggled records that an optional module was switched on
// (Enabled true) or off for the tenant.
type ModuleToggled struct {
	TenantID string    `json:"tenant_id"`
	Module   string    `json:"module"`
	Enabled  bool      `json:"enabled"`
	At       time.Time `json:"at"`
}

// LocaleEnabled records a locale (xx or xx-YY) enabled for the tenant.
type LocaleEnabled struct {
	TenantID string    `json:"tenant_id"`
	Locale   string    `json:"locale"`
	At       time.Time `json:"at"`
}

// LocaleDisabled records a locale disabled for the tenant.
type LocaleDisabled struct {
	TenantID string    `json:"tenant_id"`
	Locale   string    `json:"locale"`
	At       time.Time `json:"at"`
}

// EventType returns TypeCreated.
func (Created) EventType() string { return TypeCreated }

// EventType returns TypeUpdated.
func (Updated) EventType() string { return TypeUpdated }

// EventType returns TypeDomainAdded.
func (DomainAdded) EventType() string { return TypeDomainAdded }

// EventType returns TypeDomainRemoved.
func (DomainRemoved) EventType() string { return TypeDomainRemoved }

// EventType returns TypeDisabled.
func (Disabled) EventType() string { return TypeDisabled }

// EventType returns TypeEnabled.
func (Enabled) EventType() string { return TypeEnabled }

// EventType returns TypeModuleToggled.
func (ModuleToggled) EventType() string { return TypeModuleToggled }

// EventType returns TypeLocaleEnabled.
func (LocaleEnabled) EventType() string { return TypeLocaleEnabled }

// EventType returns TypeLocaleDisabled.
func (LocaleDisabled) EventType() string { return TypeLocaleDisabled }

// SchemaVersion returns 1.
func (Created) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Updated) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (DomainAdded) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (DomainRemoved) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Disabled) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (Enabled) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (ModuleToggled) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (LocaleEnabled) SchemaVersion() int { return 1 }

// SchemaVersion returns 1.
func (LocaleDisabled) SchemaVersion() int { return 1 }

// Decode turns a stored event (type, schema version, JSON payload) back into
// its Event value. Unknown payload fields are ignored. Only the current
// schema version of each type is accepted: the event store's upcasters bring
// older payloads up to it before Decode.
//
// Errors: one wrapping ErrUnknownEvent for an unknown type or schema version;
// a JSON error, wrapped with the type, for a malformed payload.
func Decode(eventType string, schemaVersion int, payload []byte) (Event, error) {
	switch eventType {
	case TypeCreated:
		return domain.DecodeEvent[Created](schemaVersion, payload, ErrUnknownEvent)
	case TypeUpdated:
		return domain.DecodeEvent[Updated](schemaVersion, payload, ErrUnknownEvent)
	case TypeDomainAdded:
		return domain.DecodeEvent[DomainAdded](schemaVersion, payload, ErrUnknownEvent)
	case TypeDomainRemoved:
		return domain.DecodeEvent[DomainRemoved](schemaVersion, payload, ErrUnknownEvent)
	case TypeDisabled:
		return domain.DecodeEvent[Disabled](schemaVersion, payload, ErrUnknownEvent)
	case TypeEnabled:
		return domain.DecodeEvent[Enabled](schemaVersion, payload, ErrUnknownEvent)
	case TypeModuleToggled:
		return domain.DecodeEvent[ModuleToggled](schemaVersion, payload, ErrUnknownEvent)
	case TypeLocaleEnabled:
		return domain.DecodeEvent[LocaleEnabled](schemaVersion, payload, ErrUnknownEvent)
	case TypeLocaleDisabled:
		return domain.DecodeEvent[LocaleDisabled](schemaVersion, payload, ErrUnknownEvent)
	}
	return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEvent)
}
