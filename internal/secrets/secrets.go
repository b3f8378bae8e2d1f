// Package secrets keeps named secrets (API keys, passwords) for the jobs that refer to them as
// ${secret:NAME}: sealed with AES-256-GCM in the database, opened only when a job runs. The key
// is derived from KILN_SECRET when it is set, so that a copy of the database alone reveals
// nothing; otherwise it is a random key kept in the database's settings, which protects against
// casual reading of job rows and backups of the secrets table but not against a copy of the
// whole database.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// MaxValue is the longest value a secret may have, in bytes.
const MaxValue = 8 << 10

// sealedPrefix marks the format of a sealed value: base64 of nonce || ciphertext.
const sealedPrefix = "v1:"

// storedKeyName names the random key in the settings when there is no KILN_SECRET.
const storedKeyName = "secrets-key"

// Vault seals secrets into the store and opens them. It is safe for concurrent use.
type Vault struct {
	store models.SecretStore // the sealed values
	aead  cipher.AEAD
	// fromEnv: the key comes from KILN_SECRET, not the database.
	fromEnv bool
}

// KeyFromEnv tells whether the key comes from KILN_SECRET (true) or the database (false).
func (v *Vault) KeyFromEnv() bool { return v.fromEnv }

// Open returns the vault on store's secrets, with its key derived from master (KILN_SECRET) when
// that is not empty, or else the random key kept in the store's settings (made the first time).
func Open(ctx context.Context, store *models.Store, master string) (*Vault, error) {
	var key []byte
	if master != "" {
		sum := sha256.Sum256([]byte("kiln secrets\x00" + master))
		key = sum[:]
	} else {
		var err error
		if key, err = store.Settings.Secret(ctx, storedKeyName, 32); err != nil {
			return nil, fmt.Errorf("secrets: key: %w", err)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Vault{store: store.Secrets, aead: aead, fromEnv: master != ""}, nil
}

// Set stores value under name (creating or replacing it) and reports whether it is new. by is
// who set it, for the list.
func (v *Vault) Set(ctx context.Context, name, value, by string) (created bool, err error) {
	row, err := v.Seal(name, value, by)
	if err != nil {
		return false, err
	}
	return v.store.PutSecret(ctx, row.Name, row.Sealed, row.UpdatedBy)
}

// Seal checks name and value as Set does and returns the secret sealed, for a store to write
// in the transaction of another row that refers to it (a channel whose webhook URL it holds).
func (v *Vault) Seal(name, value, by string) (models.SecretRow, error) {
	fields := map[string]string{}
	if !models.ValidSecretName(name) {
		fields["name"] = "A secret's name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
	}
	switch {
	case value == "":
		fields["value"] = "A secret needs a value."
	case len(value) > MaxValue:
		fields["value"] = fmt.Sprintf("A secret is at most %d bytes.", MaxValue)
	case !utf8.ValidString(value) || strings.ContainsRune(value, 0):
		fields["value"] = "A secret is text: UTF-8 without NUL bytes (base64-encode binary keys)."
	}
	if len(fields) > 0 {
		return models.SecretRow{}, &models.Error{Code: models.EINVALID, Message: "The secret was not saved.", Fields: fields}
	}
	return models.SecretRow{Name: name, Sealed: v.seal(name, value), UpdatedBy: by}, nil
}

// Reveal returns the value of the named secret (builtin.Secrets). A name with no secret is an
// error wrapping builtin.ErrSecretNotFound.
func (v *Vault) Reveal(ctx context.Context, name string) (string, error) {
	row, err := v.store.SecretByName(ctx, name)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return "", fmt.Errorf("%w: %s", builtin.ErrSecretNotFound, name)
	}
	if err != nil {
		return "", err
	}
	return v.open(name, row.Sealed)
}

// List returns the secrets' names and times, never their values.
func (v *Vault) List(ctx context.Context) ([]models.SecretRow, error) {
	return v.store.ListSecrets(ctx)
}

// Delete deletes the named secret.
func (v *Vault) Delete(ctx context.Context, name string) error {
	return v.store.DeleteSecret(ctx, name)
}

// seal encrypts value, binding it to name: a sealed value copied to another name won't open.
func (v *Vault) seal(name, value string) string {
	nonce := make([]byte, v.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	out := v.aead.Seal(nonce, nonce, []byte(value), []byte(name))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// ErrWrongKey is returned for a secret sealed under another key.
var ErrWrongKey = errors.New("secrets: the secret was sealed under another key (was KILN_SECRET set or changed since it was saved?); save it again")

func (v *Vault) open(name, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if !strings.HasPrefix(sealed, sealedPrefix) || err != nil || len(raw) < v.aead.NonceSize() {
		return "", fmt.Errorf("secrets: %s: the stored value is damaged; save it again", name)
	}
	n := v.aead.NonceSize()
	plain, err := v.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, ErrWrongKey)
	}
	return string(plain), nil
}
