package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A token is shown once and kept only as a hash; it is refused once expired or revoked; its
// last use is recorded.
func TestAPITokens(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		token, tok, err := s.Tokens.CreateAPIToken(ctx, "ci-deploy", models.RoleAdmin, 0, "ada", "")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(token, models.TokenPrefix))
		require.Len(t, token, len(models.TokenPrefix)+43, "256 random bits, base64url")
		require.Nil(t, tok.ExpiresAt)
		require.NotContains(t, tok.TokenHash, token)
		var stored int64
		require.NoError(t, modeltest.DB(s).Model(&models.APIToken{}).Where("token_hash LIKE ?", "%"+token[len(models.TokenPrefix):]+"%").Count(&stored).Error)
		require.Zero(t, stored, "the token itself is not stored")

		got, err := s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.Equal(t, "ci-deploy", got.Name)
		require.Equal(t, models.RoleAdmin, got.Role)
		require.NotNil(t, got.LastUsedAt, "the use is recorded")
		first := *got.LastUsedAt
		got, err = s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.True(t, got.LastUsedAt.Equal(first), "a use within a minute writes nothing")

		for _, bad := range []string{"", "kiln_", token + "x", strings.TrimPrefix(token, models.TokenPrefix), "kiln_" + strings.Repeat("A", 43)} {
			_, err := s.Tokens.TokenByValue(ctx, bad)
			require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "%q", bad)
		}

		// Names are unique; bad input is refused field by field.
		_, _, err = s.Tokens.CreateAPIToken(ctx, "ci-deploy", models.RoleViewer, 0, "ada", "")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err)["name"], "already a token named")
		_, _, err = s.Tokens.CreateAPIToken(ctx, "has space", "root", -time.Hour, "ada", "")
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Len(t, models.FieldErrors(err), 3)
		require.Equal(t, `The role must be viewer, operator or admin, not "root".`, models.FieldErrors(err)["role"])
		_, op, err := s.Tokens.CreateAPIToken(ctx, "on-call", models.RoleOperator, 0, "ada", "")
		require.NoError(t, err, "operator is a role a token may have")
		require.Equal(t, models.RoleOperator, op.Role)
		require.NoError(t, s.Tokens.RevokeAPIToken(ctx, "on-call"))

		// Expiry.
		short, _, err := s.Tokens.CreateAPIToken(ctx, "short", models.RoleViewer, time.Millisecond, "ada", "")
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		_, err = s.Tokens.TokenByValue(ctx, short)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		require.Contains(t, err.Error(), "expired")

		list, err := s.Tokens.ListAPITokens(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "ci-deploy", list[0].Name)

		// Revoked: gone at once.
		require.NoError(t, s.Tokens.RevokeAPIToken(ctx, "ci-deploy"))
		_, err = s.Tokens.TokenByValue(ctx, token)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Tokens.RevokeAPIToken(ctx, "ci-deploy")))
		_, _, err = s.Tokens.CreateAPIToken(ctx, "ci-deploy", models.RoleViewer, 0, "ada", "")
		require.NoError(t, err, "the name is free again")
	})
}

// A token names its owner; its role is at most theirs; it acts with the lesser of its role and
// their current one; removing the owner revokes it in the same transaction as the user goes.
func TestAPITokenOwners(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		_, err := s.Users.CreateUser(ctx, "olive", "correct horse battery", models.RoleOperator)
		require.NoError(t, err)

		_, _, err = s.Tokens.CreateAPIToken(ctx, "too-strong", models.RoleAdmin, 0, "olive", "olive")
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Equal(t, "A token's role is at most its owner's: olive is operator, so choose operator or lower.", models.FieldErrors(err)["role"])
		_, _, err = s.Tokens.CreateAPIToken(ctx, "nobody", models.RoleViewer, 0, "x", "ghost")
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err)["user"], `no user named "ghost"`)
		var n int64
		require.NoError(t, modeltest.DB(s).Model(&models.APIToken{}).Count(&n).Error)
		require.Zero(t, n, "a refused token leaves no row")

		token, tok, err := s.Tokens.CreateAPIToken(ctx, "oncall", models.RoleOperator, 0, "olive", "olive")
		require.NoError(t, err)
		require.NotNil(t, tok.UserID)
		got, err := s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.Equal(t, "olive", got.Owner)
		require.Equal(t, models.RoleOperator, got.EffectiveRole())

		// Demoted: the token is a viewer token at its next use.
		_, err = s.Users.SetUserRole(ctx, "olive", models.RoleViewer)
		require.NoError(t, err)
		got, err = s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.Equal(t, models.RoleViewer, got.EffectiveRole())

		// Only the owner revokes through RevokeOwnAPIToken; a token made before owners has none.
		legacy, _, err := s.Tokens.CreateAPIToken(ctx, "legacy", models.RoleAdmin, 0, "kiln token create", "")
		require.NoError(t, err)
		old, err := s.Tokens.TokenByValue(ctx, legacy)
		require.NoError(t, err)
		require.Nil(t, old.UserID)
		require.Equal(t, models.RoleAdmin, old.EffectiveRole())
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Tokens.RevokeOwnAPIToken(ctx, "olive", "legacy")))
		list, err := s.Tokens.ListAPITokens(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "", list[0].Owner)
		require.Equal(t, "olive", list[1].Owner)

		// Removing the user revokes their tokens; others' stay.
		_, _, err = s.Tokens.CreateAPIToken(ctx, "second", models.RoleViewer, 0, "olive", "olive")
		require.NoError(t, err)
		require.NoError(t, s.Users.DeleteUser(ctx, "olive"))
		_, err = s.Tokens.TokenByValue(ctx, token)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		require.NoError(t, modeltest.DB(s).Model(&models.APIToken{}).Count(&n).Error)
		require.Equal(t, int64(1), n, "only the token made before owners is left")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Users.DeleteUser(ctx, "olive")))

		// The owner revokes their own.
		_, err = s.Users.CreateUser(ctx, "olive", "correct horse battery", models.RoleOperator)
		require.NoError(t, err)
		_, _, err = s.Tokens.CreateAPIToken(ctx, "mine", models.RoleViewer, 0, "olive", "olive")
		require.NoError(t, err)
		require.NoError(t, s.Tokens.RevokeOwnAPIToken(ctx, "olive", "mine"))
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Tokens.RevokeOwnAPIToken(ctx, "olive", "mine")))
	})
}

// A token accepted is trusted for a second without reading it again: revoked, or its owner
// demoted, on another node, it stops working (or acts with the new role) within that second;
// on the node that revoked it, at once.
func TestAPITokenCachedForASecond(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			here, there := modeltest.Open(t, dsn), modeltest.Open(t, dsn)
			_, err := here.Users.CreateUser(ctx, "olive", "correct horse battery", models.RoleOperator)
			require.NoError(t, err)
			token, _, err := here.Tokens.CreateAPIToken(ctx, "oncall", models.RoleOperator, 0, "olive", "olive")
			require.NoError(t, err)
			_, err = here.Tokens.TokenByValue(ctx, token)
			require.NoError(t, err)

			_, err = there.Users.SetUserRole(ctx, "olive", models.RoleViewer)
			require.NoError(t, err)
			demoted := time.Now()
			require.Eventually(t, func() bool {
				got, err := here.Tokens.TokenByValue(ctx, token)
				return err == nil && got.EffectiveRole() == models.RoleViewer
			}, 3*time.Second, 10*time.Millisecond)
			require.Less(t, time.Since(demoted), 1500*time.Millisecond, "a role changed elsewhere counts within a second")

			require.NoError(t, there.Tokens.RevokeAPIToken(ctx, "oncall"))
			revoked := time.Now()
			require.Eventually(t, func() bool {
				_, err := here.Tokens.TokenByValue(ctx, token)
				return models.ErrorCode(err) == models.ENOTFOUND
			}, 3*time.Second, 10*time.Millisecond)
			require.Less(t, time.Since(revoked), 1500*time.Millisecond, "a token revoked elsewhere stops within a second")

			// Revoked on the node that uses it: at once, though it was read a moment ago.
			again, _, err := here.Tokens.CreateAPIToken(ctx, "again", models.RoleViewer, 0, "olive", "olive")
			require.NoError(t, err)
			_, err = here.Tokens.TokenByValue(ctx, again)
			require.NoError(t, err)
			require.NoError(t, here.Tokens.RevokeAPIToken(ctx, "again"))
			_, err = here.Tokens.TokenByValue(ctx, again)
			require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		})
	}
}

// A user demoted by their identity provider at sign-in has their tokens demoted at once on
// that node, cached or not.
func TestAPITokenFollowsASignInRoleChange(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		login := models.OIDCLogin{Issuer: "https://idp.example.com", Subject: "sub-1", Username: "olive", Role: models.RoleOperator}
		u, err := s.Users.SignInOIDC(ctx, login)
		require.NoError(t, err)
		token, _, err := s.Tokens.CreateAPIToken(ctx, "oncall", models.RoleOperator, 0, u.Username, u.Username)
		require.NoError(t, err)
		got, err := s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.Equal(t, models.RoleOperator, got.EffectiveRole())

		login.Role = models.RoleViewer
		_, err = s.Users.SignInOIDC(ctx, login)
		require.NoError(t, err)
		got, err = s.Tokens.TokenByValue(ctx, token)
		require.NoError(t, err)
		require.Equal(t, models.RoleViewer, got.EffectiveRole())
	})
}
