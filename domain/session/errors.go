package session

import (
	"errors"

	"github.com/rustok/rustok/domain"
)

// Application errors of sessions (see package domain for the codes). All are
// UNAUTHENTICATED: the client must sign in again. Match them with errors.Is.
var (
	// ErrRevoked: the session was revoked.
	ErrRevoked = domain.Unauthenticated("session has been revoked")
	// ErrExpired: the session reached its absolute expiry.
	ErrExpired = domain.Unauthenticated("session has expired")
	// ErrInvalidToken: the refresh token is not one this session issued.
	ErrInvalidToken = domain.Unauthenticated("refresh token is invalid")
	// ErrTokenReused: what a refresh answers after OutcomeReuseRevoked: an old
	// refresh token was presented again, and the session is revoked.
	ErrTokenReused = domain.Unauthenticated("refresh token was already used; the session has been revoked")
)

// Internal errors: a caller's bug or stored data this package cannot read.
// Clients see only INTERNAL.
var (
	// ErrUnknownEvent: an event type or schema version this package does not
	// know.
	ErrUnknownEvent = errors.New("unknown session event")
	// ErrInvalidHistory: a stream that does not describe one session.
	ErrInvalidHistory = errors.New("invalid session history")
	// ErrInvalidInput: an id that is not a lowercase UUID, an empty or
	// over-long token hash, a next token hash equal to one the session
	// issued, or an unknown revocation reason. Ids, hashes and reasons come
	// from the server, never straight from a client.
	ErrInvalidInput = errors.New("session: invalid input")
	// ErrInvalidPolicy: a Policy that Validate refuses.
	ErrInvalidPolicy = errors.New("session: invalid policy")
)
