package models_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// TestHTTPStatus pins the one table of error codes to statuses, both ways: pages and the API
// read it alike, so a change here changes both.
func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
	}{
		{models.EINVALID, http.StatusUnprocessableEntity},
		{models.ENOTFOUND, http.StatusNotFound},
		{models.ECONFLICT, http.StatusConflict},
		{models.EINTERNAL, http.StatusInternalServerError},
		{"", http.StatusInternalServerError},
		{"no_such_code", http.StatusInternalServerError},
	} {
		require.Equal(t, tc.status, models.HTTPStatus(tc.code), "code %q", tc.code)
	}
	for _, code := range []string{models.EINVALID, models.ENOTFOUND, models.ECONFLICT, models.EINTERNAL} {
		require.Equal(t, code, models.CodeOfHTTPStatus(models.HTTPStatus(code)), "the table reads back")
	}
	for _, status := range []int{http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge} {
		require.Empty(t, models.CodeOfHTTPStatus(status), "%d is the transport's, no code's", status)
	}

	// The code of a wrapped error is found, and any other error is internal.
	wrapped := fmt.Errorf("web: save: %w", models.Errorf(models.ENOTFOUND, "No job 7."))
	require.Equal(t, http.StatusNotFound, models.HTTPStatus(models.ErrorCode(wrapped)))
	require.Equal(t, http.StatusInternalServerError, models.HTTPStatus(models.ErrorCode(errors.New("disk on fire"))))
}
