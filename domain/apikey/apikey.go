package apikey

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustok/rustok/domain"
	"github.com/rustok/rustok/domain/rbac"
)

// Limits of the API key aggregate.
const (
	// MaxNameLength is the longest name, in characters.
	MaxNameLength = 100
	// MaxPermissions is the most permission strings a key may be given
	// (before duplicates are dropped).
	MaxPermissions = 100
	// MaxLifetime is the furthest an expiry may be from the creation: five
	// years, leap days included.
	MaxLifetime = (5*365 + 2) * 24 * time.Hour
)

// Spec describes a key to create. The command layer fills the ids, the
// secret's prefix and hash (NewSecret) and the creator; Name, Permissions
// and ExpiresAt are the client's input.
type Spec struct {
	// ID is the new key's id, a lowercase UUID.
	ID string
	// TenantID is the key's tenant, a lowercase UUID.
	TenantID string
	// CreatedBy is the id of the user creating the key (a lowercase UUID):
	// the key acts within that user's current role.
	CreatedBy string
	// Name is the display name: trimmed, 1 to MaxNameLength characters,
	// without control characters.
	Name string
	// Permissions are "resource:action" strings (rbac.ParsePermission's
	// form), 1 to MaxPermissions of them; duplicates are dropped and the
	// rest sorted.
	Permissions []string
	// ExpiresAt is the key's expiry, nil for none. It must be after the
	// creation and at most MaxLifetime after it; it is kept in UTC to the
	// microsecond (the precision of PostgreSQL timestamps).
	ExpiresAt *time.Time
	// Prefix and SecretHash are NewSecret's prefix and hash.
	Prefix     string
	SecretHash string
}

// APIKey is the API key aggregate. Build one with Create or Load. The zero
// APIKey is not a key: a decision on it fails with an error wrapping
// ErrInvalidHistory.
type APIKey struct {
	id          string
	tenantID    string
	name        string
	prefix      string
	secretHash  string
	permissions []rbac.Permission
	createdBy   string
	createdAt   time.Time
	expiresAt   time.Time // zero: never
	revoked     bool
	revokedBy   string
	revokedAt   time.Time
	version     int64
}

// Create returns a new key with its one event, Created, already applied.
// Validation runs in the order name, permissions, expiry.
//
// Errors: ErrInvalidName; ErrNoPermissions, ErrTooManyPermissions, or one
// wrapping rbac.ErrInvalidPermission naming the bad string;
// ErrExpiryNotInFuture, ErrExpiryTooFar; one wrapping ErrInvalidInput
// (internal) for a bad id, tenant, creator, prefix or hash.
func Create(s Spec, at time.Time) (*APIKey, []Event, error) {
	for _, v := range []string{s.ID, s.TenantID, s.CreatedBy} {
		if !domain.IsUUID(v) {
			return nil, nil, fmt.Errorf("create API key: id %q is not a lowercase UUID: %w", clip(v), ErrInvalidInput)
		}
	}
	if !ValidPrefix(s.Prefix) || !validHash(s.SecretHash) {
		return nil, nil, fmt.Errorf("create API key: prefix or secret hash of the wrong shape: %w", ErrInvalidInput)
	}
	name, err := NormalizeName(s.Name)
	if err != nil {
		return nil, nil, err
	}
	perms, err := ParsePermissions(s.Permissions)
	if err != nil {
		return nil, nil, err
	}
	at = at.UTC()
	var expiresAt *time.Time
	if s.ExpiresAt != nil {
		e := s.ExpiresAt.UTC().Truncate(time.Microsecond)
		switch {
		case !e.After(at):
			return nil, nil, ErrExpiryNotInFuture
		case e.Sub(at) > MaxLifetime:
			return nil, nil, ErrExpiryTooFar
		}
		expiresAt = &e
	}
	strs := make([]string, len(perms))
	for i, p := range perms {
		strs[i] = p.String()
	}
	k := &APIKey{}
	events, err := k.record(Created{
		KeyID: s.ID, TenantID: s.TenantID, Name: name, Prefix: s.Prefix, SecretHash: s.SecretHash,
		Permissions: strs, CreatedBy: s.CreatedBy, ExpiresAt: expiresAt, At: at,
	})
	if err != nil {
		return nil, nil, err
	}
	return k, events, nil
}

// NormalizeName returns name trimmed, if it is valid UTF-8 of 1 to
// MaxNameLength characters without control characters. Errors:
// ErrInvalidName.
func NormalizeName(name string) (string, error) {
	if len(name) > 4*MaxNameLength*utf8.UTFMax {
		return "", ErrInvalidName
	}
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return name, nil
}

// ParsePermissions parses 1 to MaxPermissions permission strings
// (rbac.ParsePermissions) and returns them without duplicates, sorted by
// their "resource:action" form.
//
// Errors: ErrNoPermissions, ErrTooManyPermissions; one wrapping
// rbac.ErrInvalidPermission (BAD_USER_INPUT, field permissions) naming the
// index of the first bad string.
func ParsePermissions(list []string) ([]rbac.Permission, error) {
	switch {
	case len(list) == 0:
		return nil, ErrNoPermissions
	case len(list) > MaxPermissions:
		return nil, ErrTooManyPermissions
	}
	perms, err := rbac.ParsePermissions(list)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(perms, func(a, b rbac.Permission) int { return strings.Compare(a.String(), b.String()) })
	return perms, nil
}

// Load rebuilds a key from its stored events, in stream order.
//
// Errors: one wrapping ErrInvalidHistory for an empty history, a first event
// other than Created, a second Created, an event of another key or an event
// after Revoked; one wrapping ErrUnknownEvent for an unknown event or
// stored permissions that do not parse.
func Load(history []Event) (*APIKey, error) {
	k := &APIKey{}
	if err := domain.Load("API key", history, k.apply, ErrInvalidHistory); err != nil {
		return nil, err
	}
	return k, nil
}

// CheckActive returns nil if the key may be used at at: not revoked and
// before its expiry. Errors: ErrRevoked, ErrExpired (checked in that order).
func (k *APIKey) CheckActive(at time.Time) error {
	if err := k.exists(); err != nil {
		return err
	}
	if k.revoked {
		return ErrRevoked
	}
	if !k.expiresAt.IsZero() && !at.Before(k.expiresAt) {
		return ErrExpired
	}
	return nil
}

// Revoke ends the key and returns Revoked, or no events if it is already
// revoked. An expired key can be revoked. revokedBy is the id of the user
// revoking it (a lowercase UUID).
//
// Errors: one wrapping ErrInvalidInput (internal) for a bad revokedBy.
func (k *APIKey) Revoke(revokedBy string, at time.Time) ([]Event, error) {
	if err := k.exists(); err != nil {
		return nil, err
	}
	if !domain.IsUUID(revokedBy) {
		return nil, fmt.Errorf("revoke API key: user id %q is not a lowercase UUID: %w", clip(revokedBy), ErrInvalidInput)
	}
	if k.revoked {
		return nil, nil
	}
	return k.record(Revoked{KeyID: k.id, RevokedBy: revokedBy, At: at.UTC()})
}

// ID returns the key id.
func (k *APIKey) ID() string { return k.id }

// TenantID returns the id of the key's tenant.
func (k *APIKey) TenantID() string { return k.tenantID }

// Name returns the key's name.
func (k *APIKey) Name() string { return k.name }

// Prefix returns the public prefix of the key's secret.
func (k *APIKey) Prefix() string { return k.prefix }

// SecretHash returns the hash of the key's secret.
func (k *APIKey) SecretHash() string { return k.secretHash }

// Permissions returns a copy of the key's permissions, sorted.
func (k *APIKey) Permissions() []rbac.Permission { return slices.Clone(k.permissions) }

// CreatedBy returns the id of the user who created the key.
func (k *APIKey) CreatedBy() string { return k.createdBy }

// CreatedAt returns when the key was created.
func (k *APIKey) CreatedAt() time.Time { return k.createdAt }

// ExpiresAt returns the key's expiry, and whether it has one.
func (k *APIKey) ExpiresAt() (time.Time, bool) { return k.expiresAt, !k.expiresAt.IsZero() }

// Revoked reports whether the key was revoked, with when and by whom.
func (k *APIKey) Revoked() (at time.Time, by string, ok bool) {
	return k.revokedAt, k.revokedBy, k.revoked
}

// Version returns the number of events applied: the stream version to
// expect when appending the next events.
func (k *APIKey) Version() int64 { return k.version }

func (k *APIKey) exists() error {
	if k.version == 0 {
		return fmt.Errorf("decision on an API key that was never created: %w", ErrInvalidHistory)
	}
	return nil
}

func (k *APIKey) record(e Event) ([]Event, error) { return domain.Record(e, k.apply) }

// apply changes the key's state by one event. It is the only code that
// sets state, for decisions and Load alike.
func (k *APIKey) apply(e Event) error {
	switch e := e.(type) {
	case Created:
		if k.version > 0 {
			return fmt.Errorf("%s at version %d: %w", TypeCreated, k.version, ErrInvalidHistory)
		}
		perms, err := rbac.ParsePermissions(e.Permissions)
		if err != nil {
			// Stored permissions always parsed: a resource or action was
			// renamed, which the log forbids.
			return fmt.Errorf("%s of key %s: %s: %w", TypeCreated, e.KeyID, domain.MessageOf(err), ErrUnknownEvent)
		}
		*k = APIKey{
			id: e.KeyID, tenantID: e.TenantID, name: e.Name, prefix: e.Prefix, secretHash: e.SecretHash,
			permissions: perms, createdBy: e.CreatedBy, createdAt: e.At, version: 1,
		}
		if e.ExpiresAt != nil {
			k.expiresAt = e.ExpiresAt.UTC()
		}
		return nil
	case Revoked:
		switch {
		case k.version == 0:
			return fmt.Errorf("history starts with %s, not %s: %w", e.EventType(), TypeCreated, ErrInvalidHistory)
		case k.revoked:
			return fmt.Errorf("%s after %s: %w", e.EventType(), TypeRevoked, ErrInvalidHistory)
		case e.KeyID != k.id:
			return fmt.Errorf("%s of key %q in the stream of key %q: %w", e.EventType(), e.KeyID, k.id, ErrInvalidHistory)
		}
		k.revoked, k.revokedBy, k.revokedAt = true, e.RevokedBy, e.At
		k.version++
		return nil
	case nil:
		return fmt.Errorf("nil event: %w", ErrUnknownEvent)
	}
	return fmt.Errorf("event of type %T: %w", e, ErrUnknownEvent)
}

// clip shortens a value quoted in an internal error.
func clip(s string) string { return domain.Clip(s, 40) }
