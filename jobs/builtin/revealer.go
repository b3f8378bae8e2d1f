package builtin

import "context"

// Revealer fills in ${secret:NAME} references for one use (a message's delivery, say) and
// masks what it revealed out of whatever is kept or shown afterwards: the same filling and
// masking http.request and exec jobs get, for code outside this package that sends secrets on
// (package alerts' channels).
type Revealer struct{ r *revealer }

// NewRevealer returns a revealer that takes secrets from src (nil: any reference is an error).
func NewRevealer(ctx context.Context, src Secrets) *Revealer {
	return &Revealer{r: newRevealer(ctx, src)}
}

// Expand replaces each ${secret:NAME} in s by the secret's value. A missing secret is a
// permanent error (jobs.Permanent): retrying won't make it exist.
func (r *Revealer) Expand(s string) (string, error) { return r.r.expand(s, nil) }

// ExpandURL is Expand for a URL: each value is escaped for where it stands (user info, host,
// path segment or query value), as http.request's URL is.
func (r *Revealer) ExpandURL(u string) (string, error) { return r.r.expandWith(u, urlEscaper(u)) }

// Mask replaces every revealed value in s, in each of the forms it may take (escaped, encoded,
// quoted), and every string built with one, by its reference.
func (r *Revealer) Mask(s string) string { return r.r.mask(s) }

// MaskError masks err's text, keeping whether it is permanent.
func (r *Revealer) MaskError(err error) error { return r.r.maskError(err) }

// CheckSecretRefs refuses references in s to secrets that src doesn't have, naming field: for
// checking what refers to secrets when it is saved rather than when it is used.
func CheckSecretRefs(ctx context.Context, src Secrets, field, s string) error {
	return checkSecretRefs(ctx, src, field, s)
}
