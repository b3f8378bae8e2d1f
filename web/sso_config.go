package web

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/internal/authz"
)

// OIDC configures single sign-on through an OpenID Connect provider. The zero value (no Issuer)
// turns it off. The redirect URL is Config.Alerts.PublicURL + "/auth/callback".
type OIDC struct {
	// Issuer is the provider's issuer URL; its discovery document is read at the first sign-in.
	Issuer string
	// ClientID and ClientSecret are Kiln's client at the provider. The secret may be (or hold)
	// a ${secret:NAME} reference, read from the vault at each sign-in.
	ClientID, ClientSecret string
	// Scopes are asked for. Default DefaultOIDCScopes; "openid" is always asked for.
	Scopes []string
	// RoleClaim is the ID token's claim the role map reads: a string or a list of strings.
	// Default DefaultOIDCRoleClaim ("groups").
	RoleClaim string
	// RoleMap gives roles to claim values (see ParseRoleMap). Required with Issuer.
	RoleMap []RoleRule
	// ProviderName is what the login page's button names ("Sign in with Okta"). Default
	// DefaultOIDCProviderName.
	ProviderName string
}

// Defaults of OIDC, also the kiln command's flag defaults.
const (
	DefaultOIDCRoleClaim    = "groups"
	DefaultOIDCProviderName = "single sign-on"
)

// DefaultOIDCScopes are the scopes asked for unless told otherwise: enough for a name.
var DefaultOIDCScopes = []string{"openid", "profile", "email"}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

func (o OIDC) withDefaults() OIDC {
	if len(o.Scopes) == 0 {
		o.Scopes = DefaultOIDCScopes
	}
	if !slices.Contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	if o.RoleClaim == "" {
		o.RoleClaim = DefaultOIDCRoleClaim
	}
	if o.ProviderName == "" {
		o.ProviderName = DefaultOIDCProviderName
	}
	return o
}

// validate reports the first setting that can't work, naming its flag; publicURL is where
// the provider sends browsers back to.
func (o OIDC) validate(publicURL string) error {
	if !o.Enabled() {
		if o.ClientID != "" || o.ClientSecret != "" || len(o.RoleMap) > 0 {
			return fmt.Errorf("web: --oidc-client-id, --oidc-client-secret and --oidc-role-map need --oidc-issuer")
		}
		return nil
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("web: --oidc-issuer %q is not an absolute https:// URL", o.Issuer)
	}
	if o.ClientID == "" {
		return fmt.Errorf("web: --oidc-issuer needs --oidc-client-id, the client registered for Kiln at the provider")
	}
	if publicURL == "" {
		return fmt.Errorf("web: --oidc-issuer needs --public-url, the address people reach Kiln at: the provider sends them back to <public-url>/auth/callback")
	}
	if len(o.RoleMap) == 0 {
		return fmt.Errorf("web: --oidc-issuer needs --oidc-role-map, e.g. 'kiln-admins=admin,oncall=operator,*=viewer': without it nobody may sign in")
	}
	return nil
}

// RoleRule gives Role to whoever's role claim holds Value ("*": everyone who signs in).
type RoleRule struct {
	Value, Role string
}

// ParseRoleMap reads a role map such as 'kiln-admins=admin,oncall=operator,*=viewer': a
// comma-separated list of value=role, where "*" stands for anyone. A value may hold '=' (the
// last one splits), not ','.
func ParseRoleMap(s string) ([]RoleRule, error) {
	var rules []RoleRule
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i < 0 {
			return nil, fmt.Errorf("role map entry %q is not value=role (e.g. kiln-admins=admin)", part)
		}
		value, role := strings.TrimSpace(part[:i]), strings.TrimSpace(part[i+1:])
		if value == "" {
			return nil, fmt.Errorf("role map entry %q names no value; use * for anyone", part)
		}
		if _, err := authz.ParseRole(role); err != nil {
			return nil, fmt.Errorf("role map entry %q: %w", part, err)
		}
		if seen[value] {
			return nil, fmt.Errorf("role map names %q twice", value)
		}
		seen[value] = true
		rules = append(rules, RoleRule{Value: value, Role: role})
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("the role map %q is empty; e.g. 'kiln-admins=admin,oncall=operator,*=viewer'", s)
	}
	return rules, nil
}

// FormatRoleMap writes rules as ParseRoleMap reads them.
func FormatRoleMap(rules []RoleRule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.Value + "=" + r.Role
	}
	return strings.Join(parts, ",")
}

// roleFor returns the strongest role the rules give to a user whose claim holds values, or ""
// when none matches.
func roleFor(rules []RoleRule, values []string) string {
	best := ""
	for _, r := range rules {
		if (r.Value == "*" || slices.Contains(values, r.Value)) && authz.Role(r.Role).Outranks(authz.Role(best)) {
			best = r.Role
		}
	}
	return best
}
