package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/web"
)

func TestParseRoleMap(t *testing.T) {
	for in, want := range map[string]string{
		"kiln-admins=admin,oncall=operator,*=viewer": "kiln-admins=admin,oncall=operator,*=viewer",
		" a = admin , , b=viewer ":                   "a=admin,b=viewer",
		"/acme/kiln=admin":                           "/acme/kiln=admin",  // Keycloak's full group paths
		"cn=kiln,ou=groups=admin":                    "",                  // a comma splits entries: refused below
		"team=a=b=operator":                          "team=a=b=operator", // the last '=' splits
	} {
		rules, err := web.ParseRoleMap(in)
		if want == "" {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, web.FormatRoleMap(rules), in)
	}
	for _, bad := range []string{"", ",", "admins", "=admin", "a=", "a=root", "a=Admin", "a=admin,a=viewer"} {
		_, err := web.ParseRoleMap(bad)
		require.Error(t, err, "%q", bad)
	}
}
