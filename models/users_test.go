package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func init() { models.BcryptCost = bcrypt.MinCost } // keep tests fast; production uses the default

func TestUsers(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		u, err := s.Users.CreateUser(ctx, "ada", "correct horse battery", models.RoleAdmin)
		require.NoError(t, err)
		require.True(t, u.May(authz.SecretsManage))
		op, err := s.Users.CreateUser(ctx, "olga", "correct horse battery", models.RoleOperator)
		require.NoError(t, err, "operator is a role a user may have")
		require.True(t, op.May(authz.JobsRetry))
		require.False(t, op.May(authz.SecretsManage))
		require.NotContains(t, u.PasswordHash, "correct horse", "only a hash is stored")
		_, err = s.Users.CreateUser(ctx, "ada", "another long password", models.RoleViewer)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		for _, bad := range []struct{ name, pass, role, field string }{
			{"", "long enough password", models.RoleViewer, "username"},
			{"has space", "long enough password", models.RoleViewer, "username"},
			{"bob", "short", models.RoleViewer, "password"},
			{"bob", strings.Repeat("x", 73), models.RoleViewer, "password"},
		} {
			_, err := s.Users.CreateUser(ctx, bad.name, bad.pass, bad.role)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", bad)
			require.NotEmpty(t, models.FieldErrors(err)[bad.field], "%+v", bad)
		}
		_, err = s.Users.CreateUser(ctx, "bob", "long enough password", "root")
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Equal(t, `The role must be viewer, operator or admin, not "root".`, models.ErrorMessage(err))

		got, err := s.Users.Authenticate(ctx, "ada", "correct horse battery")
		require.NoError(t, err)
		require.NotNil(t, got.LastLoginAt)
		_, wrongPass := s.Users.Authenticate(ctx, "ada", "wrong horse battery")
		_, noUser := s.Users.Authenticate(ctx, "nobody", "correct horse battery")
		require.Equal(t, models.EINVALID, models.ErrorCode(wrongPass))
		require.Equal(t, models.ErrorMessage(wrongPass), models.ErrorMessage(noUser), "no hint whether the user exists")
		for _, odd := range []string{"bad\xff\xfe", "nul\x00name", strings.Repeat("a", 65), "", "a b"} {
			_, err := s.Users.Authenticate(ctx, odd, "correct horse battery")
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%q: a wrong login, not a database error", odd)
		}

		token, _, err := s.Sessions.CreateSession(ctx, u.ID, time.Hour, "127.0.0.1", "test")
		require.NoError(t, err)
		require.NoError(t, s.Users.SetPassword(ctx, "ada", "a brand new password"))
		_, err = s.Sessions.SessionUser(ctx, token)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "a new password ends the user's sessions")
		_, err = s.Users.Authenticate(ctx, "ada", "a brand new password")
		require.NoError(t, err)
		_, err = s.Users.Authenticate(ctx, "ada", "correct horse battery")
		require.Error(t, err)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Users.SetPassword(ctx, "nobody", "long enough password")))

		users, err := s.Users.ListUsers(ctx)
		require.NoError(t, err)
		require.Len(t, users, 2)
		require.Equal(t, models.RoleOperator, users[1].Role, "olga, by name after ada")
		n, err := s.Users.CountUsers(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})
}

func TestSecretIsCreatedOnceAndKept(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		a, err := s.Settings.Secret(ctx, "session", 32)
		require.NoError(t, err)
		require.Len(t, a, 32)
		b, err := s.Settings.Secret(ctx, "session", 32)
		require.NoError(t, err)
		require.Equal(t, a, b)
		c, err := s.Settings.Secret(ctx, "other", 32)
		require.NoError(t, err)
		require.NotEqual(t, a, c)
	})
}

// A session lives in the database: the cookie's token finds it until it expires or ends, and
// only a hash of the token is stored.
func TestSessions(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ada, err := s.Users.CreateUser(ctx, "ada", "correct horse battery", models.RoleAdmin)
		require.NoError(t, err)
		bob, err := s.Users.CreateUser(ctx, "bob", "correct horse battery", models.RoleViewer)
		require.NoError(t, err)

		token, sess, err := s.Sessions.CreateSession(ctx, ada.ID, time.Hour, "203.0.113.9", "Mozilla/5.0 \xff\x00odd")
		require.NoError(t, err)
		require.Len(t, token, 43, "256 random bits, base64url")
		require.Equal(t, models.SessionID(token), sess.ID)
		require.NotContains(t, sess.ID, token, "only a hash is stored")
		u, err := s.Sessions.SessionUser(ctx, token)
		require.NoError(t, err)
		require.Equal(t, "ada", u.Username)
		_, err = s.Sessions.SessionUser(ctx, token+"x")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		other, _, err := s.Sessions.CreateSession(ctx, ada.ID, time.Hour, "", "")
		require.NoError(t, err)
		bobs, _, err := s.Sessions.CreateSession(ctx, bob.ID, time.Hour, "", "")
		require.NoError(t, err)
		n, err := s.CountSessions(ctx, ada.ID)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)

		// Logging out ends that session only.
		require.NoError(t, s.Sessions.DeleteSession(ctx, models.SessionID(token)))
		require.NoError(t, s.Sessions.DeleteSession(ctx, models.SessionID(token)), "ending it twice is fine")
		_, err = s.Sessions.SessionUser(ctx, token)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		u, err = s.Sessions.SessionUser(ctx, other)
		require.NoError(t, err)
		require.Equal(t, "ada", u.Username)

		// An expired session is refused, and swept away at the next login.
		expired, _, err := s.Sessions.CreateSession(ctx, bob.ID, time.Millisecond, "", "")
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		_, err = s.Sessions.SessionUser(ctx, expired)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		_, _, err = s.Sessions.CreateSession(ctx, ada.ID, time.Hour, "", "")
		require.NoError(t, err)
		n, err = s.CountSessions(ctx, bob.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		u, err = s.Sessions.SessionUser(ctx, bobs)
		require.NoError(t, err)
		require.Equal(t, "bob", u.Username)
	})
}
