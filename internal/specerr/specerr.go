// Package specerr marks errors in what an object asks for: a retry will
// not fix them until the object, or what it reads, changes. Controllers
// use the mark to requeue at the normal interval instead of backing off.
package specerr

import (
	"errors"
	"fmt"
)

// Error is a problem with an object's spec. Its text is the message as
// given, so it reads the same marked or not.
type Error struct{ msg string }

func (e Error) Error() string { return e.msg }

// New formats a message as an Error.
func New(format string, args ...any) error {
	return Error{fmt.Sprintf(format, args...)}
}

// Mark returns err's text as an Error; the cause is not kept, since the
// text is all a caller may show.
func Mark(err error) error {
	return Error{err.Error()}
}

// Is reports whether err, or an error it wraps, is an Error.
func Is(err error) bool {
	var e Error
	return errors.As(err, &e)
}
