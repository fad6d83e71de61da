// Package apperr holds the application's errors: a code every client can
// switch on, a message safe to show, and the input field at fault. Anything
// that is not an *Error reaches a client as "internal error".
package apperr

import (
	"errors"
	"fmt"
)

// Code is one of the codes of SPEC.md §3.6, sent as errors[].extensions.code.
type Code string

// The error codes.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	BadUserInput    Code = "BAD_USER_INPUT"
	Conflict        Code = "CONFLICT"
	RateLimited     Code = "RATE_LIMITED"
	Unavailable     Code = "UNAVAILABLE"
	Internal        Code = "INTERNAL"
)

// ReasonResyncRequired is extensions.reason of a listingChanges cursor older
// than the oldest change kept (code BAD_USER_INPUT, field after): the portal
// copies listings again. The codes are SPEC.md's fixed list; a reason tells
// a client what to do where a code alone does not.
const ReasonResyncRequired = "RESYNC_REQUIRED"

// Error is an error meant for the client.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field, e.g. "projectId" or "input.phone".
	Field string
	// Reason, when set, is sent as extensions.reason: what the client
	// should do, in words a program can switch on.
	Reason string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// New returns an error with a code and a message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Input returns a BAD_USER_INPUT error naming the field.
func Input(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
