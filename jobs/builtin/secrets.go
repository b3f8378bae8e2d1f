package builtin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kilnhq/kiln/jobs"
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
// revealed (and every string it built with one) so that mask can take them out of whatever the
// job writes back.
type revealer struct {
	ctx    context.Context
	src    Secrets
	values map[string]string // name -> value
	// built are the strings expand made with secrets in them (a header, a URL), by what they
	// were before: a server may echo them whole, or encoded. Only those of builtMax bytes or
	// fewer are kept.
	built map[string]string

	mu     sync.Mutex // mask may be called from several goroutines (a program's stdout and stderr)
	masker *masker    // nil until mask needs it; reset when values change
}

// builtMax is the longest string built with secrets that mask looks for as a whole, to mask it
// by its template: a URL or a header is well under it. A longer one (a request body, a
// program's stdin) has each value masked in it, as anywhere else: looked for whole, a 200 KB JSON
// body added 1.4M states to the automaton (48 MB, 19 ms to build for each run).
const builtMax = 4 << 10

func newRevealer(ctx context.Context, src Secrets) *revealer {
	return &revealer{ctx: ctx, src: src, values: map[string]string{}, built: map[string]string{}}
}

// expand replaces each ${secret:NAME} in s by the secret's value passed through escape (nil: as
// is). A missing secret is a permanent error: retrying won't make it exist.
func (r *revealer) expand(s string, escape func(string) string) (string, error) {
	return r.expandWith(s, func(int) func(string) string { return escape })
}

// expandWith is expand with an escape chosen by where in s the reference stands.
func (r *revealer) expandWith(s string, escapeAt func(offset int) func(string) string) (string, error) {
	var firstErr error
	var out strings.Builder
	last := 0
	for _, m := range secretRef.FindAllStringSubmatchIndex(s, -1) {
		out.WriteString(s[last:m[0]])
		last = m[1]
		v, err := r.reveal(s[m[2]:m[3]])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			out.WriteString(s[m[0]:m[1]])
			continue
		}
		if escape := escapeAt(m[0]); escape != nil {
			v = escape(v)
		}
		out.WriteString(v)
	}
	if last == 0 {
		return s, firstErr
	}
	out.WriteString(s[last:])
	if firstErr == nil && out.Len() <= builtMax {
		r.mu.Lock()
		r.built[out.String()] = s
		r.masker = nil
		r.mu.Unlock()
	}
	return out.String(), firstErr
}

func (r *revealer) reveal(name string) (string, error) {
	r.mu.Lock()
	v, ok := r.values[name]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	if r.src == nil {
		return "", jobs.Permanent(fmt.Errorf("${secret:%s}: this server keeps no secrets", name))
	}
	v, err := r.src.Reveal(r.ctx, name)
	if errors.Is(err, ErrSecretNotFound) {
		return "", jobs.Permanent(fmt.Errorf("${secret:%s}: there is no secret of that name", name))
	} else if err != nil {
		return "", fmt.Errorf("${secret:%s}: %w", name, err)
	}
	r.mu.Lock()
	r.values[name] = v
	r.masker = nil
	r.mu.Unlock()
	return v, nil
}

// mask replaces, in one pass, every revealed value in s by ${secret:NAME}, in each of its forms
// (secretForms), and the strings built with values (a header, a URL) by what they were built
// from (builtForms). Values shorter than 4 bytes are masked too: a short secret is still a
// secret, even if the mask then hides ordinary text.
func (r *revealer) mask(s string) string {
	if m := r.currentMasker(); m != nil {
		return m.mask(s)
	}
	return s
}

// currentMasker is the masker of the values revealed so far; nil when there are none.
func (r *revealer) currentMasker() *masker {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.values) == 0 {
		return nil
	}
	if r.masker == nil {
		r.masker = r.newMasker()
	}
	return r.masker
}

// newMasker builds the masker of what was revealed; a string built with secrets (of builtMax
// bytes or fewer) is looked for first, so that an echo of it is masked by its template rather
// than value by value.
func (r *revealer) newMasker() *masker {
	var forms []form
	var refs []string
	for _, built := range slices.Sorted(maps.Keys(r.built)) {
		for _, f := range builtForms(built) {
			forms, refs = append(forms, f), append(refs, r.built[built])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.values)) {
		for _, f := range secretForms(r.values[name]) {
			forms, refs = append(forms, f), append(refs, "${secret:"+name+"}")
		}
	}
	return newMasker(forms, refs)
}

// lookahead is the masker's lookahead (masker.lookahead): the most bytes a form of a revealed
// value may take, 0 when none is. Text cut into pieces that overlap by that much less one has
// every value seen whole; a string built with values may be masked value by value instead.
func (r *revealer) lookahead() int {
	return r.currentMasker().lookahead()
}

// revealed reports whether any secret was filled in.
func (r *revealer) revealed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.values) > 0
}

// maskError masks the secrets in err's text, keeping whether it is permanent.
func (r *revealer) maskError(err error) error {
	if err == nil || !r.revealed() {
		return err
	}
	masked := errors.New(r.mask(err.Error()))
	var perm *jobs.PermanentError
	if errors.As(err, &perm) {
		return jobs.Permanent(masked)
	}
	var snooze *jobs.SnoozeError
	if errors.As(err, &snooze) {
		return err
	}
	return masked
}
