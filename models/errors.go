package models

import (
	"errors"
	"fmt"
	"net/http"
)

// Application error codes. They say what kind of failure happened, independent of transport;
// HTTPStatus maps each to an HTTP status, for pages and the API alike. Only EINTERNAL is logged
// as an error.
const (
	EINVALID  = "invalid"
	ENOTFOUND = "not_found"
	ECONFLICT = "conflict"
	EINTERNAL = "internal"
)

// httpStatuses is the one mapping of error codes to HTTP statuses. Invalid input is 422: the
// request was well formed (400 is left to requests that can't be read at all), but what it asks
// for can't be done.
var httpStatuses = map[string]int{
	EINVALID:  http.StatusUnprocessableEntity,
	ENOTFOUND: http.StatusNotFound,
	ECONFLICT: http.StatusConflict,
	EINTERNAL: http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status an error of code answers with: 500 for EINTERNAL and for
// any code not in the table, so that an unknown failure is never shown as the client's fault.
func HTTPStatus(code string) int {
	if status, ok := httpStatuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// CodeOfHTTPStatus returns the error code whose status is status, or "" when no code has it
// (a 400, a 405 or a 413 come from the transport, not from the application).
func CodeOfHTTPStatus(status int) string {
	for code, s := range httpStatuses {
		if s == status {
			return code
		}
	}
	return ""
}

// Error is an application error: a code, a message fit to show a user, and, for EINVALID,
// a message per input field (keyed by the field's form name).
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("models: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the application error inside err, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the application error inside err. Internal
// errors get a generic message so that no detail of the failure leaks to the client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Something went wrong on our side. The error has been logged."
}

// FieldErrors returns the per-field messages of an EINVALID error inside err, or nil.
func FieldErrors(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
