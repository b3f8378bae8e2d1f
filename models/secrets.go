package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SecretRow is a named secret as stored: its value sealed (encrypted and authenticated) by
// package secrets, which alone holds the key. Names and times are not secret.
type SecretRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Sealed    string
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// TableName names SecretRow's table.
func (SecretRow) TableName() string { return "secrets" }

// secretNameRE is what a secret's name may be: what ${secret:NAME} can refer to.
var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidSecretName reports whether name can name a secret: 1 to 64 letters, digits, dots,
// dashes or underscores, starting with a letter or digit (so never "." or "..", which URLs
// collapse).
func ValidSecretName(name string) bool { return secretNameRE.MatchString(name) }

// PutSecret stores the sealed value under name, replacing the value it had. It reports whether
// the secret is new.
func (s secretStore) PutSecret(ctx context.Context, name, sealed, by string) (created bool, err error) {
	err = s.change(ctx, func(tx *gorm.DB) error {
		created, err = putSecret(tx, SecretRow{Name: name, Sealed: sealed, UpdatedBy: by})
		noteChange(ctx, "secret "+name, map[string]any{"created": created}) // the name, never the value
		return err
	})
	return created, err
}

// putSecret is PutSecret's write in tx, which the caller's transaction may share with other
// writes (a channel and the secret its URL was moved into).
func putSecret(tx *gorm.DB, row SecretRow) (created bool, err error) {
	if !ValidSecretName(row.Name) {
		return false, &Error{Code: EINVALID, Message: "The secret was not saved.", Fields: map[string]string{
			"name": "A secret's name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."}}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	by := headerText(row.UpdatedBy, 64)
	res := tx.Model(&SecretRow{}).Where("name = ?", row.Name).
		Updates(map[string]any{"sealed": row.Sealed, "updated_at": now, "updated_by": by})
	if res.Error != nil {
		return false, fmt.Errorf("models: save secret %q: %w", row.Name, res.Error)
	}
	if res.RowsAffected > 0 {
		return false, nil
	}
	// Another node saving the same new name at once: the later value wins, as it would
	// had they come one after the other (never silently dropped).
	err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"sealed", "updated_at", "updated_by"})}).
		Create(&SecretRow{Name: row.Name, Sealed: row.Sealed, CreatedAt: now, UpdatedAt: now, UpdatedBy: by}).Error
	if err != nil {
		return false, fmt.Errorf("models: save secret %q: %w", row.Name, err)
	}
	return true, nil
}

// SecretByName returns the named secret, or an ENOTFOUND error.
func (s secretStore) SecretByName(ctx context.Context, name string) (*SecretRow, error) {
	var row SecretRow
	err := s.rdb.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no secret named %q.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("models: read secret %q: %w", name, err)
	}
	return &row, nil
}

// ListSecrets returns every secret by name, without their sealed values.
func (s secretStore) ListSecrets(ctx context.Context) ([]SecretRow, error) {
	var out []SecretRow
	if err := s.rdb.WithContext(ctx).Omit("sealed").Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret deletes the named secret; jobs that refer to it fail when they run.
func (s secretStore) DeleteSecret(ctx context.Context, name string) error {
	return s.changeRows(ctx, fmt.Sprintf("delete secret %q", name), Errorf(ENOTFOUND, "There is no secret named %q.", name),
		func(tx *gorm.DB) *gorm.DB { return tx.Where("name = ?", name).Delete(&SecretRow{}) })
}
