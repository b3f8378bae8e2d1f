package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// APIToken lets a program use the JSON API as a user of its role would. The program holds the
// token; the database holds only its SHA-256 (TokenHash), so a copy of the database or of its
// backups can't be used to call the API. Revoking a token deletes its row.
type APIToken struct {
	ID   int64 `gorm:"primaryKey"`
	Name string
	Role string
	// TokenHash is the hex SHA-256 of the token.
	TokenHash string
	CreatedAt time.Time
	CreatedBy string
	// ExpiresAt, when set, is when the token stops working.
	ExpiresAt *time.Time
	// LastUsedAt is when the token was last accepted, to within tokenUseGranularity.
	LastUsedAt *time.Time
}

// TableName names APIToken's table.
func (APIToken) TableName() string { return "api_tokens" }

// TokenPrefix starts every API token, so that a leaked one is easy to recognise (and to find
// with secret scanners).
const TokenPrefix = "kiln_"

// tokenUseGranularity bounds how often a token's last use is written: at most once a minute,
// not on every request.
const tokenUseGranularity = time.Minute

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateAPIToken makes a token named name for role (one of authz.Roles), valid for ttl
// (0: until revoked), and returns the token itself: the only copy there will be.
func (s tokenStore) CreateAPIToken(ctx context.Context, name, role string, ttl time.Duration, by string) (string, *APIToken, error) {
	fields := map[string]string{}
	if !tokenNameRE.MatchString(name) {
		fields["name"] = "A token's name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
	}
	if err := checkRole(role); err != nil {
		fields["role"] = ErrorMessage(err)
	}
	if ttl < 0 {
		fields["expires"] = "The lifetime must not be negative."
	}
	if len(fields) > 0 {
		return "", nil, &Error{Code: EINVALID, Message: "The token was not created.", Fields: fields}
	}
	raw := make([]byte, sessionTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("models: token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now().UTC().Truncate(time.Microsecond)
	t := &APIToken{Name: name, Role: role, TokenHash: SessionID(token), CreatedAt: now, CreatedBy: headerText(by, 64)}
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(t)
	if res.Error != nil {
		return "", nil, fmt.Errorf("models: create token %q: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return "", nil, &Error{Code: ECONFLICT, Message: "The token was not created.", Fields: map[string]string{
			"name": fmt.Sprintf("There is already a token named %q; revoke it first, or choose another name.", name)}}
	}
	return token, t, nil
}

// TokenByValue returns the token with this value, or an ENOTFOUND error when there is none: it
// never existed, was revoked, or has expired. It records the use (at most once a minute).
func (s tokenStore) TokenByValue(ctx context.Context, token string) (*APIToken, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, Errorf(ENOTFOUND, "No such API token.")
	}
	var t APIToken
	err := s.rdb.WithContext(ctx).Where("token_hash = ?", SessionID(token)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "No such API token.")
	}
	if err != nil {
		return nil, fmt.Errorf("models: find token: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
		return nil, Errorf(ENOTFOUND, "The API token %q has expired.", t.Name)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= tokenUseGranularity {
		if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now).Error; err != nil {
			return nil, fmt.Errorf("models: record use of token %q: %w", t.Name, err)
		}
		t.LastUsedAt = &now
	}
	return &t, nil
}

// ListAPITokens returns every token, by name (without their values, which are not kept).
func (s tokenStore) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	if err := s.rdb.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken deletes the named token: it stops working at once, on every node.
func (s tokenStore) RevokeAPIToken(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&APIToken{})
	if res.Error != nil {
		return fmt.Errorf("models: revoke token %q: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "There is no API token named %q.", name)
	}
	return nil
}
