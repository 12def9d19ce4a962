// Package domain holds what every module's domain shares: the one application
// error type, whose Code says what kind of failure a client caused and whose
// Message is safe to show (any error without a *Error in its chain is
// internal); the form of ids (IsUUID); and the steps every event-sourced
// aggregate takes alike (DecodeEvent, Load, Record). It imports nothing of
// this module.
package domain

import (
	"errors"
	"fmt"
)

// Code classifies an application error. Transports map each code to their own
// form (GraphQL extensions.code, REST status + problem+json) in one table.
type Code string

// The codes a client can see. CodeInternal never carries internals.
const (
	CodeBadInput        Code = "BAD_USER_INPUT"
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeForbidden       Code = "FORBIDDEN"
	CodeNotFound        Code = "NOT_FOUND"
	CodeConflict        Code = "CONFLICT"
	CodeModuleDisabled  Code = "MODULE_DISABLED"
	CodeRateLimited     Code = "RATE_LIMITED"
	CodeInternal        Code = "INTERNAL"
)

// Error is an application error: a machine code and a message safe to show to
// the client. Err, when set, is the cause (kept for errors.Is/As and logs, never
// shown).
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, when there is one.
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and message, so that
// package-level error values match with errors.Is even after wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message && t.Field == e.Field
}

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadInput is a client input error (GraphQL BAD_USER_INPUT, HTTP 400).
func BadInput(format string, args ...any) *Error { return newError(CodeBadInput, format, args...) }

// InvalidField is a BadInput error that names the field at fault.
func InvalidField(field, format string, args ...any) *Error {
	e := newError(CodeBadInput, format, args...)
	e.Field = field
	return e
}

// NotFound reports a missing resource (HTTP 404).
func NotFound(format string, args ...any) *Error { return newError(CodeNotFound, format, args...) }

// Conflict reports a state conflict the client may resolve or retry (HTTP 409).
func Conflict(format string, args ...any) *Error { return newError(CodeConflict, format, args...) }

// Forbidden reports a refused action (HTTP 403).
func Forbidden(format string, args ...any) *Error { return newError(CodeForbidden, format, args...) }

// Unauthenticated reports a missing or invalid identity (HTTP 401).
func Unauthenticated(format string, args ...any) *Error {
	return newError(CodeUnauthenticated, format, args...)
}

// ModuleDisabled reports that the tenant has the module switched off.
func ModuleDisabled(module string) *Error {
	return newError(CodeModuleDisabled, "module %s is disabled for this tenant", module)
}

// RateLimited reports that the caller exceeded a rate limit (HTTP 429).
func RateLimited(format string, args ...any) *Error {
	return newError(CodeRateLimited, format, args...)
}

// Wrap returns a copy of e with cause err, so that both errors.Is(result, e)
// and errors.Is(result, err) hold.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// CodeOf returns the code of the first *Error in err's chain, or CodeInternal
// if there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// MessageOf returns the client-safe message of the first *Error in err's chain,
// or a generic message for internal errors.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// FieldOf returns the input field named by the first *Error in err's chain, or "".
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Clip returns s cut to its first n bytes, with "…" appended when it was
// cut: the form client or configuration input takes when an error message or
// a log line quotes it. The cut counts bytes, not runes.
func Clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
