package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/internal/authz"
)

// User roles: the names authz ranks and grants actions to (see authz.Roles).
const (
	// RoleAdmin may see and do everything.
	RoleAdmin = string(authz.Admin)
	// RoleOperator keeps jobs moving (retry, cancel, pause...) but runs no code of its choosing
	// and changes no settings.
	RoleOperator = string(authz.Operator)
	// RoleViewer sees everything and changes nothing.
	RoleViewer = string(authz.Viewer)
)

// checkRole refuses a role authz doesn't know, naming the roles it does.
func checkRole(role string) error {
	if _, err := authz.ParseRole(role); err != nil {
		return Errorf(EINVALID, "The role must be %s, not %q.", authz.RoleList(), role)
	}
	return nil
}

// Password rules: bcrypt reads at most 72 bytes, and a short password is a guessable one.
const (
	PasswordMin = 10
	PasswordMax = 72
)

// BcryptCost is the work factor of new password hashes; tests lower it to stay fast.
var BcryptCost = bcrypt.DefaultCost

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// User is someone who may log in to Kiln.
type User struct {
	ID           int64 `gorm:"primaryKey"`
	Username     string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
	// OIDCIssuer and OIDCSubject name the identity-provider account of a user who signs in by
	// single sign-on (both empty for a local user): the user is found by them, never by name.
	OIDCIssuer  string `gorm:"column:oidc_issuer"`
	OIDCSubject string `gorm:"column:oidc_subject"`
}

// May reports whether the user's role may take action a (authz's table); nobody may do anything.
func (u *User) May(a authz.Action) bool { return u != nil && authz.Role(u.Role).May(a) }

func validatePassword(password string) error {
	switch {
	case len([]rune(password)) < PasswordMin:
		return &Error{Code: EINVALID, Message: "The password is too short.", Fields: map[string]string{"password": fmt.Sprintf("Use at least %d characters.", PasswordMin)}}
	case len(password) > PasswordMax:
		return &Error{Code: EINVALID, Message: "The password is too long.", Fields: map[string]string{"password": fmt.Sprintf("Use at most %d bytes.", PasswordMax)}}
	}
	return nil
}

// CreateUser adds a user with a bcrypt hash of password.
func (s userStore) CreateUser(ctx context.Context, username, password, role string) (*User, error) {
	if !usernameRE.MatchString(username) {
		return nil, &Error{Code: EINVALID, Message: "That username can't be used.", Fields: map[string]string{"username": "Use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit."}}
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	if err := validatePassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("models: hash password: %w", err)
	}
	u := &User{Username: username, PasswordHash: string(hash), Role: role}
	err = s.change(ctx, func(tx *gorm.DB) error {
		noteChange(ctx, "user "+username, nil) // the attempt's target, taken or not
		if err := insertNew(tx, u, fmt.Sprintf("user %q", username), Errorf(ECONFLICT, "There is already a user named %q.", username)); err != nil {
			return err
		}
		noteChange(ctx, "user "+username, auditDiff(nil, u, "Role")) // never the password
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces a user's password and ends every session of theirs, in one transaction.
func (s userStore) SetPassword(ctx context.Context, username, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("models: hash password: %w", err)
	}
	return s.change(ctx, func(tx *gorm.DB) error {
		var u User
		err := tx.Where("username = ?", username).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no user named %q.", username)
		}
		if err != nil {
			return fmt.Errorf("models: set password: %w", err)
		}
		if err := tx.Model(&u).Update("password_hash", string(hash)).Error; err != nil {
			return fmt.Errorf("models: set password: %w", err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
			return fmt.Errorf("models: end sessions: %w", err)
		}
		return nil
	})
}

// dummyHash is compared against when the username is unknown, so that a login takes as long
// whether or not the user exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("kiln-no-such-user-password"), bcrypt.DefaultCost)

// errBadLogin is the one answer to a wrong username or a wrong password.
var errBadLogin = &Error{Code: EINVALID, Message: "Wrong username or password."}

// Authenticate returns the user whose name and password these are, recording the login.
func (s userStore) Authenticate(ctx context.Context, username, password string) (*User, error) {
	if !usernameRE.MatchString(username) {
		// No user has such a name, and PostgreSQL would refuse some (invalid UTF-8, NUL):
		// answer as for any unknown user, in as much time.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, errBadLogin
	}
	var u User
	err := s.db.WithContext(ctx).Where("username = ?", username).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, errBadLogin
	}
	if err != nil {
		return nil, fmt.Errorf("models: find user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, errBadLogin
	}
	now := time.Now().UTC()
	u.LastLoginAt = &now
	if err := s.db.WithContext(ctx).Model(&u).Update("last_login_at", now).Error; err != nil {
		return nil, fmt.Errorf("models: record login: %w", err)
	}
	return &u, nil
}

// DeleteUser removes the named user, their sessions and their API tokens, in one transaction:
// nothing they could sign in or call the API with outlives them.
func (s userStore) DeleteUser(ctx context.Context, username string) error {
	defer s.tokens.clear() // its tokens go, or act with its new role, at once
	return s.change(ctx, func(tx *gorm.DB) error {
		var u User
		err := tx.Where("username = ?", username).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no user named %q.", username)
		}
		if err != nil {
			return fmt.Errorf("models: delete user %q: %w", username, err)
		}
		noteChange(ctx, "user "+username, auditDiff(&u, nil, "Role"))
		if err := tx.Where("user_id = ?", u.ID).Delete(&APIToken{}).Error; err != nil {
			return fmt.Errorf("models: revoke the tokens of %q: %w", username, err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
			return fmt.Errorf("models: end the sessions of %q: %w", username, err)
		}
		if err := tx.Delete(&u).Error; err != nil {
			return fmt.Errorf("models: delete user %q: %w", username, err)
		}
		return nil
	})
}

// SetUserRole gives the named user role and returns the role they had. Their sessions and
// tokens take it at their next request (a token acts with at most its owner's current role). A
// single sign-on user's role is set again from the role map at each sign-in.
func (s userStore) SetUserRole(ctx context.Context, username, role string) (before string, err error) {
	defer s.tokens.clear() // its tokens go, or act with its new role, at once
	if err := checkRole(role); err != nil {
		return "", err
	}
	err = s.change(ctx, func(tx *gorm.DB) error {
		var u User
		err := tx.Where("username = ?", username).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no user named %q.", username)
		}
		if err != nil {
			return fmt.Errorf("models: set the role of %q: %w", username, err)
		}
		before = u.Role
		noteChange(ctx, "user "+username, map[string]any{"role": AuditChange{Before: before, After: role}})
		if err := tx.Model(&u).Updates(map[string]any{"role": role, "updated_at": time.Now().UTC()}).Error; err != nil {
			return fmt.Errorf("models: set the role of %q: %w", username, err)
		}
		return nil
	})
	return before, err
}

// ListUsers returns every user by name.
func (s userStore) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.rdb.WithContext(ctx).Order("username").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list users: %w", err)
	}
	return out, nil
}

// CountUsers counts the users.
func (s userStore) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count users: %w", err)
	}
	return n, nil
}

// Setting is one named value Kiln keeps in its database, such as the session signing key, so
// that every node sharing the database agrees on it.
type Setting struct {
	Name  string `gorm:"primaryKey"`
	Value []byte
}

// Secret returns the named random secret of n bytes, creating it the first time. Nodes racing
// to create it all end up with the one that was stored first.
func (s settingStore) Secret(ctx context.Context, key string, n int) ([]byte, error) {
	fresh := make([]byte, n)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("models: random secret: %w", err)
	}
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Setting{Name: key, Value: fresh}).Error; err != nil {
		return nil, fmt.Errorf("models: store secret %s: %w", key, err)
	}
	var st Setting
	if err := db.Where("name = ?", key).Take(&st).Error; err != nil {
		return nil, fmt.Errorf("models: read secret %s: %w", key, err)
	}
	return st.Value, nil
}
