package apikey

import (
	"errors"

	"github.com/rustok/rustok/domain"
)

// Application errors of API keys (see package domain for the codes). Match
// them with errors.Is: some returned errors carry a more precise message and
// wrap these values.
var (
	// ErrInvalidName (BAD_USER_INPUT, field name): a name that is empty
	// after trimming, longer than MaxNameLength characters, not valid UTF-8
	// or holding control characters.
	ErrInvalidName = domain.InvalidField("name", "name must be 1 to 100 characters, without control characters")
	// ErrNoPermissions (BAD_USER_INPUT, field permissions): a key must hold
	// at least one permission.
	ErrNoPermissions = domain.InvalidField("permissions", "an API key needs at least one permission")
	// ErrTooManyPermissions (BAD_USER_INPUT, field permissions): more than
	// MaxPermissions permission strings.
	ErrTooManyPermissions = domain.InvalidField("permissions", "an API key holds at most 100 permissions")
	// ErrExpiryNotInFuture (BAD_USER_INPUT, field expires_at): an expiry
	// that is not after the time of the creation.
	ErrExpiryNotInFuture = domain.InvalidField("expires_at", "expiry must be in the future")
	// ErrExpiryTooFar (BAD_USER_INPUT, field expires_at): an expiry more
	// than MaxLifetime after the creation.
	ErrExpiryTooFar = domain.InvalidField("expires_at", "expiry must be at most 5 years ahead")

	// ErrInvalidSecret (UNAUTHENTICATED): a presented secret that is not of
	// the form of NewSecret's secrets. What authentication answers to every
	// bad key, whatever is wrong with it.
	ErrInvalidSecret = domain.Unauthenticated("API key is invalid")
	// ErrRevoked (UNAUTHENTICATED): the key was revoked.
	ErrRevoked = domain.Unauthenticated("API key has been revoked")
	// ErrExpired (UNAUTHENTICATED): the key is past its expiry.
	ErrExpired = domain.Unauthenticated("API key has expired")
)

// Internal errors: a caller's bug or stored data this package cannot read.
// Clients see only INTERNAL.
var (
	// ErrUnknownEvent: an event type or schema version this package does not
	// know.
	ErrUnknownEvent = errors.New("unknown API key event")
	// ErrInvalidHistory: a stream that does not describe one API key (empty,
	// not starting with api_key.created, created twice, mixing key ids, or
	// an event after api_key.revoked).
	ErrInvalidHistory = errors.New("invalid API key history")
	// ErrInvalidInput: an id, tenant or user id that is not a lowercase
	// UUID, or a prefix or secret hash not of the shape NewSecret makes.
	// They come from the server, never straight from a client.
	ErrInvalidInput = errors.New("apikey: invalid input")
	// ErrShortRandom: the random source of NewSecret failed.
	ErrShortRandom = errors.New("apikey: random source failed")
)
