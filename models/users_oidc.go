package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OIDCLogin is who an identity provider says signed in, and the role Kiln's role map gives them.
type OIDCLogin struct {
	// Issuer and Subject are the ID token's iss and sub: together, the account, for good.
	Issuer, Subject string
	// Username is the name the provider suggests (preferred_username, else email): a new user
	// gets it, made valid and unique; a known user keeps the name they were first given.
	Username string
	// Role is the role to hold from this login on: admin, operator or viewer.
	Role string
}

// maxUsernameTries bounds the suffixes tried to make a provider's name unique (ada, ada-2, ...).
const maxUsernameTries = 50

// SignInOIDC finds the user of the provider account in (by issuer and subject, never by name),
// or creates them, and sets their role and last login. A provider account whose name is taken
// by another user gets the name with a number added: it never becomes the user of that name.
func (s userStore) SignInOIDC(ctx context.Context, in OIDCLogin) (*User, error) {
	if in.Issuer == "" || in.Subject == "" {
		return nil, Errorf(EINVALID, "The identity provider named no account (its ID token has no issuer or subject).")
	}
	if !isRole(in.Role) {
		return nil, Errorf(EINVALID, "Role must be %q, %q or %q, not %q.", RoleAdmin, RoleOperator, RoleViewer, in.Role)
	}
	now := time.Now().UTC()
	db := s.db.WithContext(ctx)
	base := oidcUsername(in)
	for try := 1; try <= maxUsernameTries; try++ {
		var u User
		err := db.Where("oidc_issuer = ? AND oidc_subject = ?", in.Issuer, in.Subject).Take(&u).Error
		if err == nil {
			changed := u.Role != in.Role
			u.Role, u.LastLoginAt = in.Role, &now
			if err := db.Model(&u).Updates(map[string]any{"role": in.Role, "last_login_at": now, "updated_at": now}).Error; err != nil {
				return nil, fmt.Errorf("models: sign in %s: %w", u.Username, err)
			}
			if changed {
				s.tokens.clear() // their tokens act with the new role at once, as SetUserRole's do
			}
			return &u, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("models: find single sign-on user: %w", err)
		}
		name := base
		if try > 1 {
			suffix := fmt.Sprintf("-%d", try)
			name = base[:min(len(base), 64-len(suffix))] + suffix
		}
		// Either unique index may refuse the row: the name is taken (try the next), or a
		// concurrent first login of the same account created it (found on the next turn).
		u = User{Username: name, Role: in.Role, OIDCIssuer: in.Issuer, OIDCSubject: in.Subject, LastLoginAt: &now}
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&u)
		if res.Error != nil {
			return nil, fmt.Errorf("models: create single sign-on user: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return &u, nil
		}
	}
	return nil, Errorf(ECONFLICT, "The names %q to %q-%d are all taken; rename a user with kiln user.", base, base, maxUsernameTries)
}

// EndOIDCSessions ends the sessions of the user of a provider account, if there is one: the
// account signed in again and was refused (its groups no longer give it a role), so what it
// opened before must not go on with the role it had.
func (s userStore) EndOIDCSessions(ctx context.Context, issuer, subject string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		err := tx.Where("oidc_issuer = ? AND oidc_subject = ?", issuer, subject).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("models: find single sign-on user: %w", err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
			return fmt.Errorf("models: end sessions of %s: %w", u.Username, err)
		}
		return nil
	})
}

// reservedUsernames are names that stand for Kiln itself in the audit trail and the jobs'
// history (local access, the engine): a provider's account never takes one.
var reservedUsernames = []string{"local", "system"}

// isRole reports the roles a user may hold.
func isRole(role string) bool {
	return role == RoleAdmin || role == RoleOperator || role == RoleViewer
}

// oidcUsername makes the provider's suggested name a valid username: characters usernames
// can't hold become '-', and a name with nothing usable is "user-" and a digest of the account.
func oidcUsername(in OIDCLogin) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return r
		}
		return '-'
	}, in.Username)
	name = strings.TrimLeft(name, "._@-")
	if len(name) > 64 {
		name = name[:64]
	}
	if slices.Contains(reservedUsernames, strings.ToLower(name)) {
		name += "-sso"
	}
	if name == "" {
		sum := sha256.Sum256([]byte(in.Issuer + "\x00" + in.Subject))
		name = "user-" + hex.EncodeToString(sum[:4])
	}
	return name
}

// SetSessionIDToken keeps the ID token a session's login came with, for RP-initiated logout's
// id_token_hint; it is deleted with the session.
func (s sessionStore) SetSessionIDToken(ctx context.Context, id, idToken string) error {
	if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("id_token", idToken).Error; err != nil {
		return fmt.Errorf("models: keep session's ID token: %w", err)
	}
	return nil
}

// SessionIDToken returns the ID token a session's login came with ("" for a password login or
// a session that is gone).
func (s sessionStore) SessionIDToken(ctx context.Context, id string) (string, error) {
	var tokens []string
	if err := s.rdb.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Limit(1).Pluck("id_token", &tokens).Error; err != nil {
		return "", fmt.Errorf("models: read session's ID token: %w", err)
	}
	if len(tokens) == 0 {
		return "", nil
	}
	return tokens[0], nil
}
