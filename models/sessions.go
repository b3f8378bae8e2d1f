package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Session is one login. The browser holds a random token; the database holds only its SHA-256,
// so neither a copy of the database nor its backups can be used to log in. Logging out deletes
// the row, which ends the session on every node at once, whatever copies of the cookie exist.
type Session struct {
	// ID is the hex SHA-256 of the session's token.
	ID        string `gorm:"primaryKey"`
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// IP and UserAgent say where the login came from, for the record.
	IP        string
	UserAgent string
	// IDToken is the ID token of a single sign-on login ("" otherwise), for RP-initiated logout.
	IDToken string `gorm:"column:id_token"`
}

// sessionTokenBytes is the size of a session token: 256 random bits.
const sessionTokenBytes = 32

// SessionID returns the id under which the session with this token is stored.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a session for the user, valid for ttl, and returns its token: the only
// copy, for the cookie. Expired sessions of every user are removed on the way.
func (s sessionStore) CreateSession(ctx context.Context, userID int64, ttl time.Duration, ip, userAgent string) (string, *Session, error) {
	raw := make([]byte, sessionTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("models: session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now().UTC().Truncate(time.Microsecond)
	sess := &Session{
		ID: SessionID(token), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl),
		IP: headerText(ip, 64), UserAgent: headerText(userAgent, 255),
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("expires_at < ?", now).Delete(&Session{}).Error; err != nil {
			return err
		}
		return tx.Create(sess).Error
	})
	if err != nil {
		return "", nil, fmt.Errorf("models: create session: %w", err)
	}
	return token, sess, nil
}

// SessionUser returns the user of the session with this token, or an ENOTFOUND error when
// there is no such session: it never existed, it ended at logout or with a new password, or it
// expired. It is one indexed read, made on every request of a logged-in user.
func (s sessionStore) SessionUser(ctx context.Context, token string) (*User, error) {
	var u User
	err := s.rdb.WithContext(ctx).Model(&User{}).Select("users.*").
		Joins("JOIN sessions ON sessions.user_id = users.id").
		Where("sessions.id = ? AND sessions.expires_at > ?", SessionID(token), time.Now().UTC()).
		Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no such session.")
	}
	if err != nil {
		return nil, fmt.Errorf("models: find session: %w", err)
	}
	return &u, nil
}

// DeleteSession ends the session with this id (see SessionID). Ending one that is already gone
// is not an error. A logout's audit entry is written with it.
func (s sessionStore) DeleteSession(ctx context.Context, id string) error {
	err := s.change(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", id).Delete(&Session{}).Error })
	if err != nil {
		return fmt.Errorf("models: end session: %w", err)
	}
	return nil
}

// headerText makes text a client sent storable: valid UTF-8 (PostgreSQL refuses anything else),
// no NUL, at most n bytes.
func headerText(v string, n int) string {
	return truncate(jsonText(strings.ToValidUTF8(v, "\uFFFD")), n)
}
