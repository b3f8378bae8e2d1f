package cli

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// Single sign-on's flags, from the command line or KILN_OIDC_*, and the mistakes that stop
// Kiln before it starts, each saying which flag to set.
func TestParseConfigOIDC(t *testing.T) {
	cfg, err := parseConfig(nil, io.Discard)
	require.NoError(t, err)
	require.False(t, cfg.Web.OIDC.Enabled(), "off by default")
	require.False(t, cfg.Web.NoLocalLogin, "local login on by default")

	t.Setenv("KILN_OIDC_CLIENT_SECRET", "${secret:oidc-client}")
	t.Setenv("KILN_OIDC_ROLE_MAP", "kiln-admins=admin, oncall=operator, *=viewer")
	cfg, err = parseConfig([]string{"--oidc-issuer", "https://keycloak.example.com/realms/acme", "--oidc-client-id", "kiln",
		"--public-url", "https://kiln.example.com", "--oidc-scopes", "openid,profile,groups", "--oidc-role-claim", "roles",
		"--oidc-provider-name", "Keycloak", "--local-login=false"}, io.Discard)
	require.NoError(t, err)
	o := cfg.Web.OIDC
	require.Equal(t, "https://keycloak.example.com/realms/acme", o.Issuer)
	require.Equal(t, "kiln", o.ClientID)
	require.Equal(t, "${secret:oidc-client}", o.ClientSecret, "resolved at each sign-in, not here")
	require.Equal(t, []string{"openid", "profile", "groups"}, o.Scopes)
	require.Equal(t, "roles", o.RoleClaim)
	require.Equal(t, "Keycloak", o.ProviderName)
	require.Equal(t, []web.RoleRule{{Value: "kiln-admins", Role: models.RoleAdmin}, {Value: "oncall", Role: models.RoleOperator}, {Value: "*", Role: models.RoleViewer}}, o.RoleMap)
	require.True(t, cfg.Web.NoLocalLogin)

	base := []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "kiln", "--public-url", "https://kiln.example.com"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "kiln"}, "--oidc-issuer needs --public-url"},
		{append(base, "--oidc-role-map", "kiln-admins=root"), `the role is viewer, operator or admin, not "root"`},
		{append(base, "--oidc-role-map", "kiln-admins"), "is not value=role"},
		{append(base, "--oidc-role-map", "a=admin,a=viewer"), `names "a" twice`},
		{append(base, "--oidc-role-map", " , "), ""}, // blank: as if unset, which the next line names
		{[]string{"--oidc-issuer", "https://idp.example.com", "--public-url", "https://kiln.example.com"}, "needs --oidc-client-id"},
		{[]string{"--oidc-issuer", "idp.example.com", "--oidc-client-id", "kiln", "--public-url", "https://kiln.example.com"}, "is not an absolute https:// URL"},
		{[]string{"--oidc-client-id", "kiln"}, "need --oidc-issuer"},
	} {
		t.Setenv("KILN_OIDC_ROLE_MAP", "")
		_, err := parseConfig(tc.args, io.Discard)
		require.Error(t, err, "%v", tc.args)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
	t.Setenv("KILN_OIDC_ROLE_MAP", "")
	t.Setenv("KILN_OIDC_CLIENT_SECRET", "")
	_, err = parseConfig(base, io.Discard)
	require.ErrorContains(t, err, "--oidc-issuer needs --oidc-role-map")
	_, err = parseConfig([]string{"--local-login=false"}, io.Discard)
	require.ErrorContains(t, err, "--local-login=false needs --oidc-issuer")
}
