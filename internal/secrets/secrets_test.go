package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A secret is stored only sealed, opens with its key and name only, and is replaced, listed
// (without its value) and deleted.
func TestVault(t *testing.T) {
	ctx := context.Background()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		const value = "sk_live_7f3a9c2e-very-secret"
		v, err := secrets.Open(ctx, s, "")
		require.NoError(t, err)
		require.False(t, v.KeyFromEnv())

		created, err := v.Set(ctx, "stripe.key", value, "ada")
		require.NoError(t, err)
		require.True(t, created)
		got, err := v.Reveal(ctx, "stripe.key")
		require.NoError(t, err)
		require.Equal(t, value, got)

		// Nothing in the database holds the value.
		var hits int64
		require.NoError(t, modeltest.DB(s).Model(&models.SecretRow{}).Where("sealed LIKE ? OR name LIKE ?", "%"+value+"%", "%"+value+"%").Count(&hits).Error)
		require.Zero(t, hits)

		// The same store opened again (another node) reads it with the stored key.
		again, err := secrets.Open(ctx, s, "")
		require.NoError(t, err)
		got, err = again.Reveal(ctx, "stripe.key")
		require.NoError(t, err)
		require.Equal(t, value, got)

		// Under KILN_SECRET the key differs: the old value is refused, clearly, not garbled.
		fromEnv, err := secrets.Open(ctx, s, strings.Repeat("k", 44))
		require.NoError(t, err)
		_, err = fromEnv.Reveal(ctx, "stripe.key")
		require.ErrorIs(t, err, secrets.ErrWrongKey)

		// A sealed value moved to another name does not open.
		row, err := s.Secrets.SecretByName(ctx, "stripe.key")
		require.NoError(t, err)
		_, err = s.Secrets.PutSecret(ctx, "other", row.Sealed, "mallory")
		require.NoError(t, err)
		_, err = v.Reveal(ctx, "other")
		require.ErrorIs(t, err, secrets.ErrWrongKey)

		created, err = v.Set(ctx, "stripe.key", "rotated", "bob")
		require.NoError(t, err)
		require.False(t, created)
		got, err = v.Reveal(ctx, "stripe.key")
		require.NoError(t, err)
		require.Equal(t, "rotated", got)

		list, err := v.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "other", list[0].Name)
		require.Equal(t, "stripe.key", list[1].Name)
		require.Equal(t, "bob", list[1].UpdatedBy)
		require.Empty(t, list[1].Sealed, "the list carries no values")

		require.NoError(t, v.Delete(ctx, "stripe.key"))
		_, err = v.Reveal(ctx, "stripe.key")
		require.True(t, errors.Is(err, builtin.ErrSecretNotFound), "%v", err)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(v.Delete(ctx, "stripe.key")))
	})
}

// Bad names and values are refused with the field named, and nothing is stored.
func TestVaultRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	v, err := secrets.Open(ctx, s, "")
	require.NoError(t, err)
	for _, tc := range []struct{ name, value, field string }{
		{"", "x", "name"},
		{"has space", "x", "name"},
		{"${secret:x}", "x", "name"},
		{"..", "x", "name"},
		{".hidden", "x", "name"},
		{strings.Repeat("n", 65), "x", "name"},
		{"ok", "", "value"},
		{"ok", strings.Repeat("v", secrets.MaxValue+1), "value"},
		{"ok", "nul\x00byte", "value"},
		{"ok", "\xff\xfe", "value"},
	} {
		_, err := v.Set(ctx, tc.name, tc.value, "ada")
		var me *models.Error
		require.ErrorAs(t, err, &me, "%q=%q", tc.name, tc.value)
		require.Equal(t, models.EINVALID, me.Code)
		require.Contains(t, me.Fields, tc.field)
	}
	list, err := v.List(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}
