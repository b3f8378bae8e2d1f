package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestSignInOIDC(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		local, err := s.Users.CreateUser(ctx, "ada", "a long enough password", models.RoleViewer)
		require.NoError(t, err)
		const iss = "https://idp.example.com/realms/kiln"

		u, err := s.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: iss, Subject: "sub-1", Username: "ada", Role: models.RoleAdmin})
		require.NoError(t, err)
		require.NotEqual(t, local.ID, u.ID, "a provider account named like a local user is not that user")
		require.Equal(t, "ada-2", u.Username)
		require.Equal(t, models.RoleAdmin, u.Role)
		require.NotNil(t, u.LastLoginAt)
		_, err = s.Users.Authenticate(ctx, "ada-2", "")
		require.Error(t, err, "a single sign-on user has no password")

		again, err := s.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: iss, Subject: "sub-1", Username: "ada.lovelace", Role: models.RoleOperator})
		require.NoError(t, err)
		require.Equal(t, u.ID, again.ID, "found by issuer and subject")
		require.Equal(t, "ada-2", again.Username, "the name first given stays")
		require.Equal(t, models.RoleOperator, again.Role, "the role follows the latest login")
		users, err := s.Users.ListUsers(ctx)
		require.NoError(t, err)
		require.Len(t, users, 2)

		other, err := s.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: "https://other.example.com", Subject: "sub-1", Username: "ada", Role: models.RoleViewer})
		require.NoError(t, err)
		require.NotEqual(t, u.ID, other.ID, "the same subject at another issuer is another account")
		require.Equal(t, "ada-3", other.Username)

		for in, want := range map[string]string{
			"Grace Hopper":          "Grace-Hopper",
			"_root":                 "root",
			"jürgen@example.com":    "j-rgen@example.com",
			strings.Repeat("x", 80): strings.Repeat("x", 64),
			"":                      "user-",
			"\u65e5\u672c\u8a9e":    "user-",
		} {
			got, err := s.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: iss, Subject: "name:" + in, Username: in, Role: models.RoleViewer})
			require.NoError(t, err, "%q", in)
			require.True(t, strings.HasPrefix(got.Username, want), "%q became %q", in, got.Username)
		}

		for _, bad := range []models.OIDCLogin{
			{Issuer: iss, Subject: "", Username: "x", Role: models.RoleViewer},
			{Issuer: "", Subject: "s", Username: "x", Role: models.RoleViewer},
			{Issuer: iss, Subject: "s", Username: "x", Role: "root"},
		} {
			_, err := s.Users.SignInOIDC(ctx, bad)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", bad)
		}
	})
}

func TestSessionKeepsItsIDToken(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		u, err := s.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: "https://idp.example.com", Subject: "s", Username: "sso", Role: models.RoleViewer})
		require.NoError(t, err)
		token, sess, err := s.Sessions.CreateSession(ctx, u.ID, time.Hour, "", "")
		require.NoError(t, err)
		got, err := s.Sessions.SessionIDToken(ctx, sess.ID)
		require.NoError(t, err)
		require.Empty(t, got, "a session starts without one")
		require.NoError(t, s.Sessions.SetSessionIDToken(ctx, sess.ID, "eyJ.id.token"))
		got, err = s.Sessions.SessionIDToken(ctx, sess.ID)
		require.NoError(t, err)
		require.Equal(t, "eyJ.id.token", got)
		require.NoError(t, s.Sessions.DeleteSession(ctx, models.SessionID(token)))
		got, err = s.Sessions.SessionIDToken(ctx, sess.ID)
		require.NoError(t, err)
		require.Empty(t, got, "it goes with the session")
	})
}
