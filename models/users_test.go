package models_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func init() { models.BcryptCost = bcrypt.MinCost } // keep tests fast; production uses the default

func TestUsers(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		u, err := s.CreateUser(ctx, "ada", "correct horse battery", models.RoleAdmin)
		require.NoError(t, err)
		require.True(t, u.CanAct())
		require.NotContains(t, u.PasswordHash, "correct horse", "only a hash is stored")
		_, err = s.CreateUser(ctx, "ada", "another long password", models.RoleViewer)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		for _, bad := range []struct{ name, pass, role, field string }{
			{"", "long enough password", models.RoleViewer, "username"},
			{"has space", "long enough password", models.RoleViewer, "username"},
			{"bob", "short", models.RoleViewer, "password"},
			{"bob", strings.Repeat("x", 73), models.RoleViewer, "password"},
		} {
			_, err := s.CreateUser(ctx, bad.name, bad.pass, bad.role)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", bad)
			require.NotEmpty(t, models.FieldErrors(err)[bad.field], "%+v", bad)
		}
		_, err = s.CreateUser(ctx, "bob", "long enough password", "root")
		require.Equal(t, models.EINVALID, models.ErrorCode(err))

		got, err := s.Authenticate(ctx, "ada", "correct horse battery")
		require.NoError(t, err)
		require.NotNil(t, got.LastLoginAt)
		_, wrongPass := s.Authenticate(ctx, "ada", "wrong horse battery")
		_, noUser := s.Authenticate(ctx, "nobody", "correct horse battery")
		require.Equal(t, models.EINVALID, models.ErrorCode(wrongPass))
		require.Equal(t, models.ErrorMessage(wrongPass), models.ErrorMessage(noUser), "no hint whether the user exists")

		require.NoError(t, s.SetPassword(ctx, "ada", "a brand new password"))
		again, err := s.Authenticate(ctx, "ada", "a brand new password")
		require.NoError(t, err)
		require.Equal(t, u.SessionVersion+1, again.SessionVersion, "a new password ends old sessions")
		_, err = s.Authenticate(ctx, "ada", "correct horse battery")
		require.Error(t, err)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.SetPassword(ctx, "nobody", "long enough password")))

		users, err := s.ListUsers(ctx)
		require.NoError(t, err)
		require.Len(t, users, 1)
		n, err := s.CountUsers(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

func TestSecretIsCreatedOnceAndKept(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		a, err := s.Secret(ctx, "session", 32)
		require.NoError(t, err)
		require.Len(t, a, 32)
		b, err := s.Secret(ctx, "session", 32)
		require.NoError(t, err)
		require.Equal(t, a, b)
		c, err := s.Secret(ctx, "other", 32)
		require.NoError(t, err)
		require.NotEqual(t, a, c)
	})
}
