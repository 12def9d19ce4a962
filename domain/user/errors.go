package user

import (
	"errors"

	"github.com/rustok/rustok/domain"
)

// Application errors of users (see package domain for the codes). Match them
// with errors.Is: some returned errors carry a more precise message and wrap
// these values.
var (
	// ErrInvalidID (BAD_USER_INPUT, field id): a user id that is not a
	// lowercase hyphenated UUID.
	ErrInvalidID = domain.InvalidField("id", "user id must be a lowercase hyphenated UUID")
	// ErrInvalidTenant (BAD_USER_INPUT, field tenant_id): a tenant id that is
	// not a lowercase hyphenated UUID.
	ErrInvalidTenant = domain.InvalidField("tenant_id", "tenant id must be a lowercase hyphenated UUID")
	// ErrInvalidEmail (BAD_USER_INPUT, field email).
	ErrInvalidEmail = domain.InvalidField("email", "email must be an address of the form name@example.com, of at most 254 ASCII characters")
	// ErrInvalidName (BAD_USER_INPUT, field name).
	ErrInvalidName = domain.InvalidField("name", "name must be at most 255 characters, without control characters")
	// ErrInvalidRole (BAD_USER_INPUT, field role).
	ErrInvalidRole = domain.InvalidField("role", "role must be one of super_admin, admin, manager, customer")
	// ErrInvalidStatus (BAD_USER_INPUT, field status).
	ErrInvalidStatus = domain.InvalidField("status", "status must be one of active, inactive, banned")

	// ErrPasswordTooShort (BAD_USER_INPUT, field password): fewer characters
	// than Policy.MinLength. The returned message names the minimum.
	ErrPasswordTooShort = domain.InvalidField("password", "password is too short")
	// ErrPasswordTooLong (BAD_USER_INPUT, field password): more bytes than
	// Policy.MaxBytes. The returned message names the maximum.
	ErrPasswordTooLong = domain.InvalidField("password", "password is too long")
	// ErrPasswordIsEmail (BAD_USER_INPUT, field password): the password is the
	// user's email address, ignoring case.
	ErrPasswordIsEmail = domain.InvalidField("password", "password must not be your email address")
	// ErrPasswordEncoding (BAD_USER_INPUT, field password): not valid UTF-8.
	ErrPasswordEncoding = domain.InvalidField("password", "password must be valid UTF-8 text")

	// ErrNotActive (UNAUTHENTICATED): the user is inactive or banned, so may
	// not sign in, use a token or reset a password. The returned message
	// names the status.
	ErrNotActive = domain.Unauthenticated("user account is not active")
	// ErrDeleted (NOT_FOUND): the user was deleted and accepts no command.
	ErrDeleted = domain.NotFound("user has been deleted")
	// ErrInvalidResetToken (BAD_USER_INPUT, field token): no reset was
	// requested, the token is not the latest one, it was used already or it
	// expired. One error for all, so that it reveals nothing.
	ErrInvalidResetToken = domain.InvalidField("token", "the password reset token is invalid or has expired")
)

// Internal errors: a caller's bug or stored data this package cannot read.
// They are not application errors, so clients see only INTERNAL.
var (
	// ErrUnknownEvent: an event type or schema version this package does not
	// know.
	ErrUnknownEvent = errors.New("unknown user event")
	// ErrInvalidHistory: a stream that does not describe one user (empty, not
	// starting with user.registered, registered twice, mixing user ids, or an
	// event after user.deleted).
	ErrInvalidHistory = errors.New("invalid user history")
	// ErrInvalidHash: an empty password or token hash, or one longer than
	// MaxHashLength; hashes come from platform code, never from clients.
	ErrInvalidHash = errors.New("user: invalid hash")
	// ErrInvalidPolicy: a Policy that Validate refuses.
	ErrInvalidPolicy = errors.New("user: invalid password policy")
	// ErrInvalidExpiry: a reset token that expires no later than it is
	// issued.
	ErrInvalidExpiry = errors.New("user: reset token expiry is not after its issue time")
)
