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

	"github.com/kilnhq/kiln/internal/authz"
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
	// UserID is the token's owner: the token acts for them, never above their current role,
	// and goes with them. Nil for a token made before tokens had owners.
	UserID *int64
	// Owner and OwnerRole are the owner's name and current role, read with the token (empty
	// when it has none).
	Owner     string `gorm:"-"`
	OwnerRole string `gorm:"-"`
}

// EffectiveRole is what a request with the token may do: the lesser of the token's role and
// its owner's current role, so that demoting a user demotes their tokens at once.
func (t *APIToken) EffectiveRole() string {
	if t.UserID == nil {
		return t.Role
	}
	return string(authz.Lesser(authz.Role(t.Role), authz.Role(t.OwnerRole)))
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
// (0: until revoked), owned by the user named owner ("" for none: only the CLI makes such a
// token, on a database without users), and returns the token itself: the only copy there will
// be. The role may not exceed the owner's.
func (s tokenStore) CreateAPIToken(ctx context.Context, name, role string, ttl time.Duration, by, owner string) (string, *APIToken, error) {
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
	err := s.change(ctx, func(tx *gorm.DB) error {
		if owner != "" {
			var u User
			err := tx.Where("username = ?", owner).Take(&u).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				fields["user"] = fmt.Sprintf("There is no user named %q to own the token.", owner)
			} else if err != nil {
				return fmt.Errorf("models: token owner %q: %w", owner, err)
			} else {
				t.UserID, t.Owner, t.OwnerRole = &u.ID, u.Username, u.Role
				if _, bad := fields["role"]; !bad && authz.Role(role).Outranks(authz.Role(u.Role)) {
					fields["role"] = fmt.Sprintf("A token's role is at most its owner's: %s is %s, so choose %s or lower.", u.Username, u.Role, u.Role)
				}
			}
		}
		if len(fields) > 0 {
			return &Error{Code: EINVALID, Message: "The token was not created.", Fields: fields}
		}
		noteChange(ctx, "token "+name, nil) // the attempt's target, taken or not
		if err := insertNew(tx, t, fmt.Sprintf("token %q", name), &Error{Code: ECONFLICT, Message: "The token was not created.",
			Fields: map[string]string{"name": fmt.Sprintf("There is already a token named %q; revoke it first, or choose another name.", name)}}); err != nil {
			return err
		}
		noteChange(ctx, "token "+name, auditDiff(nil, t, "Role", "Owner", "ExpiresAt")) // never the token
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return token, t, nil
}

// TokenByValue returns the token with this value, or an ENOTFOUND error when there is none: it
// never existed, was revoked, or has expired. It records the use (at most once a minute).
func (s tokenStore) TokenByValue(ctx context.Context, token string) (*APIToken, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, Errorf(ENOTFOUND, "No such API token.")
	}
	hash := SessionID(token)
	read := time.Now()
	t, ok := s.tokens.get(hash, read)
	if !ok {
		var err error
		if t, err = s.readToken(ctx, hash, read); err != nil {
			return nil, err
		}
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(read.UTC()) {
		return nil, Errorf(ENOTFOUND, "The API token %q has expired.", t.Name)
	}
	return t, nil
}

// readToken reads the token with this hash and its owner from the database, records its use
// (at most once a minute) and keeps it in the cache, read at read.
func (s tokenStore) readToken(ctx context.Context, hash string, read time.Time) (*APIToken, error) {
	gen := s.tokens.generation()
	var t APIToken
	err := s.rdb.WithContext(ctx).Where("token_hash = ?", hash).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "No such API token.")
	}
	if err != nil {
		return nil, fmt.Errorf("models: find token: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if (t.ExpiresAt == nil || t.ExpiresAt.After(now)) && (t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= tokenUseGranularity) {
		if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now).Error; err != nil {
			return nil, fmt.Errorf("models: record use of token %q: %w", t.Name, err)
		}
		t.LastUsedAt = &now
	}
	if err := s.fillOwners(ctx, []*APIToken{&t}); err != nil {
		return nil, err
	}
	s.tokens.put(hash, &t, read, gen)
	return &t, nil
}

// fillOwners reads the name and current role of the tokens' owners.
func (s tokenStore) fillOwners(ctx context.Context, tokens []*APIToken) error {
	var ids []int64
	for _, t := range tokens {
		if t.UserID != nil {
			ids = append(ids, *t.UserID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var users []User
	if err := s.rdb.WithContext(ctx).Select("id", "username", "role").Where("id IN ?", ids).Find(&users).Error; err != nil {
		return fmt.Errorf("models: token owners: %w", err)
	}
	byID := make(map[int64]User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	for _, t := range tokens {
		if t.UserID != nil {
			u := byID[*t.UserID] // gone (a race with its deletion): no role, so the token may do nothing
			t.Owner, t.OwnerRole = u.Username, u.Role
		}
	}
	return nil
}

// ListAPITokens returns every token, by name (without their values, which are not kept).
func (s tokenStore) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	if err := s.rdb.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list tokens: %w", err)
	}
	ptrs := make([]*APIToken, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := s.fillOwners(ctx, ptrs); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeAPIToken deletes the named token: it stops working at once on this node, and within
// tokenCacheFor (1 s) on every other.
func (s tokenStore) RevokeAPIToken(ctx context.Context, name string) error {
	defer s.tokens.clear()
	return s.changeRows(ctx, fmt.Sprintf("revoke token %q", name), Errorf(ENOTFOUND, "There is no API token named %q.", name),
		func(tx *gorm.DB) *gorm.DB { return tx.Where("name = ?", name).Delete(&APIToken{}) })
}

// RevokeOwnAPIToken deletes the named token if it belongs to the user named owner, and answers
// ENOTFOUND otherwise, as for a token that doesn't exist: a user learns nothing of others'.
func (s tokenStore) RevokeOwnAPIToken(ctx context.Context, owner, name string) error {
	defer s.tokens.clear()
	return s.changeRows(ctx, fmt.Sprintf("revoke token %q of %q", name, owner), Errorf(ENOTFOUND, "You have no API token named %q.", name),
		func(tx *gorm.DB) *gorm.DB {
			owned := tx.Session(&gorm.Session{NewDB: true}).Model(&User{}).Select("id").Where("username = ?", owner)
			return tx.Where("name = ? AND user_id IN (?)", name, owned).Delete(&APIToken{})
		})
}
