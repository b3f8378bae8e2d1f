package builtin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
)

// The exported Revealer fills references as http.request does (a URL's by where they stand),
// masks what it revealed, and keeps a missing secret's error permanent.
func TestRevealer(t *testing.T) {
	ctx := context.Background()
	rv := builtin.NewRevealer(ctx, mapSecrets{"TOKEN": "a b/c", "HOST": "hooks.example.com"})
	u, err := rv.ExpandURL("https://${secret:HOST}/in/${secret:TOKEN}?t=${secret:TOKEN}")
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example.com/in/a%20b%2Fc?t=a+b%2Fc", u)
	v, err := rv.Expand("Bearer ${secret:TOKEN}")
	require.NoError(t, err)
	require.Equal(t, "Bearer a b/c", v)
	require.Equal(t, "refused at https://${secret:HOST}/in/${secret:TOKEN}?t=${secret:TOKEN}: token ${secret:TOKEN}",
		rv.Mask("refused at "+u+": token a b/c"))
	masked := rv.MaskError(jobs.Permanent(errors.New("bad token a b/c")))
	require.Equal(t, "bad token ${secret:TOKEN}", masked.Error())
	var perm *jobs.PermanentError
	require.ErrorAs(t, masked, &perm, "still permanent")

	_, err = rv.Expand("${secret:NOPE}")
	require.ErrorAs(t, err, &perm, "a missing secret won't appear on a retry")
	require.ErrorContains(t, builtin.CheckSecretRefs(ctx, mapSecrets{}, "url", "x${secret:NOPE}"), "url refers to ${secret:NOPE}, and there is no secret of that name")
}
