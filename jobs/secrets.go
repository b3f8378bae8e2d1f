package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Secrets reveals named secrets to the built-in kinds (http.request, exec), whose arguments
// refer to them as ${secret:NAME}. The job's row keeps the reference, never the value.
type Secrets interface {
	// Reveal returns the secret's value, or an error wrapping ErrSecretNotFound.
	Reveal(ctx context.Context, name string) (string, error)
}

// ErrSecretNotFound is returned by Secrets.Reveal for a name that has no secret.
var ErrSecretNotFound = errors.New("jobs: no such secret")

// secretRef finds ${secret:NAME} references; names are those secrets may have.
var secretRef = regexp.MustCompile(`\$\{secret:([A-Za-z0-9_.-]*)\}`)

// secretNames lists the secrets that s refers to, in order, without repeats.
func secretNames(s string) []string {
	var names []string
	for _, m := range secretRef.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// checkSecretRefs refuses references to secrets that don't exist, when the job is made rather
// than when it runs. With no Secrets configured, any reference is refused.
func checkSecretRefs(ctx context.Context, src Secrets, field, s string) error {
	for _, name := range secretNames(s) {
		if name == "" {
			return fmt.Errorf("%s: ${secret:} needs a name", field)
		}
		if src == nil {
			return fmt.Errorf("%s refers to ${secret:%s}, but this server keeps no secrets", field, name)
		}
		if _, err := src.Reveal(ctx, name); errors.Is(err, ErrSecretNotFound) {
			return fmt.Errorf("%s refers to ${secret:%s}, and there is no secret of that name", field, name)
		} else if err != nil {
			return fmt.Errorf("%s: secret %s: %v", field, name, err)
		}
	}
	return nil
}

// revealer expands secret references for one run of a job, and remembers every value it
// revealed so that mask can take them out of whatever the job writes back.
type revealer struct {
	ctx    context.Context
	src    Secrets
	values map[string]string // name -> value
}

func newRevealer(ctx context.Context, src Secrets) *revealer {
	return &revealer{ctx: ctx, src: src, values: map[string]string{}}
}

// expand replaces each ${secret:NAME} in s by the secret's value passed through escape (nil: as
// is). A missing secret is a permanent error: retrying won't make it exist.
func (r *revealer) expand(s string, escape func(string) string) (string, error) {
	var firstErr error
	out := secretRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := secretRef.FindStringSubmatch(ref)[1]
		v, err := r.reveal(name)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return ref
		}
		if escape != nil {
			return escape(v)
		}
		return v
	})
	return out, firstErr
}

func (r *revealer) reveal(name string) (string, error) {
	if v, ok := r.values[name]; ok {
		return v, nil
	}
	if r.src == nil {
		return "", Permanent(fmt.Errorf("${secret:%s}: this server keeps no secrets", name))
	}
	v, err := r.src.Reveal(r.ctx, name)
	if errors.Is(err, ErrSecretNotFound) {
		return "", Permanent(fmt.Errorf("${secret:%s}: there is no secret of that name", name))
	} else if err != nil {
		return "", fmt.Errorf("${secret:%s}: %w", name, err)
	}
	r.values[name] = v
	return v, nil
}

// mask replaces every revealed value in s, also in its URL-escaped, JSON-escaped and base64
// forms (a Basic auth header, a query string), by ${secret:NAME}. Values shorter than 4 bytes
// are masked too: a short secret is still a secret, even if the mask then hides ordinary text.
func (r *revealer) mask(s string) string {
	if len(r.values) == 0 {
		return s
	}
	names := make([]string, 0, len(r.values))
	for name := range r.values {
		names = append(names, name)
	}
	// Longest values first, so that a secret containing another is masked whole.
	slices.SortFunc(names, func(a, b string) int { return len(r.values[b]) - len(r.values[a]) })
	for _, name := range names {
		v := r.values[name]
		if v == "" {
			continue
		}
		ref := "${secret:" + name + "}"
		for _, form := range secretForms(v) {
			s = strings.ReplaceAll(s, form, ref)
		}
	}
	return s
}

// secretForms is the value as it may show up in text a job writes back.
func secretForms(v string) []string {
	forms := []string{v}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	if b, err := json.Marshal(v); err == nil {
		add(string(b[1 : len(b)-1]))
	}
	add(strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(v)), "="))
	add(strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(v)), "="))
	return forms
}

// maskError masks the secrets in err's text, keeping whether it is permanent.
func (r *revealer) maskError(err error) error {
	if err == nil || len(r.values) == 0 {
		return err
	}
	masked := errors.New(r.mask(err.Error()))
	var perm *permanentError
	if errors.As(err, &perm) {
		return Permanent(masked)
	}
	var snooze *snoozeError
	if errors.As(err, &snooze) {
		return err
	}
	return masked
}

// jsonEscape escapes v for the inside of a JSON string.
func jsonEscape(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}
