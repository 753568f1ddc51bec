package registry

import (
	"errors"
	"fmt"
)

// The kinds of registry error, matched with errors.Is.
var (
	ErrNotFound        = errors.New("resource not found")
	ErrExists          = errors.New("resource already exists")
	ErrVersionConflict = errors.New("version conflict")
	ErrInvalid         = errors.New("invalid request")
	ErrLimitExceeded   = errors.New("limit exceeded")
	ErrInUse           = errors.New("resource in use")
)

// Error is a registry error: its kind and a message for the caller.
type Error struct {
	Kind    error
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the kind, so that errors.Is works.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
