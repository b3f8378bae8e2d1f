package builtin

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

type fixedSecrets map[string]string

func (f fixedSecrets) Reveal(_ context.Context, name string) (string, error) {
	if v, ok := f[name]; ok {
		return v, nil
	}
	return "", ErrSecretNotFound
}

// mask takes every revealed value out of text, in every form it may take, in one pass.
func TestMask(t *testing.T) {
	const pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END KEY-----"
	rv := newRevealer(context.Background(), fixedSecrets{"api": "sk_live_abc 123", "key": pem, "user": "ada"})
	for _, ref := range []string{"${secret:api}", "${secret:key}"} {
		if _, err := rv.expand(ref, nil); err != nil {
			t.Fatal(err)
		}
	}
	auth, err := rv.expand("Basic ${secret:user}:${secret:api}", nil) // as a server might echo it back, encoded
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"token=sk_live_abc 123.", "token=${secret:api}."},
		{"q=sk_live_abc+123&x", "q=${secret:api}&x"},
		{`{"t":"sk_live_abc 123"}`, `{"t":"${secret:api}"}`},
		{base64.StdEncoding.EncodeToString([]byte("sk_live_abc 123")), "${secret:api}"},
		{"line 2 is " + strings.Split(pem, "\n")[1], "line 2 is ${secret:key}"},
		{auth + " / " + base64.StdEncoding.EncodeToString([]byte(auth)), "Basic ${secret:user}:${secret:api} / Basic ${secret:user}:${secret:api}=="},
	} {
		if got := rv.mask(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	// A one-letter secret masks that letter everywhere, but never a mask already made.
	short := newRevealer(context.Background(), fixedSecrets{"e": "e", "api": "sk_live_abc 123"})
	for _, ref := range []string{"${secret:e}", "${secret:api}"} {
		if _, err := short.expand(ref, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := short.mask("see sk_live_abc 123"), "s${secret:e}${secret:e} ${secret:api}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A secret in a URL is escaped for where it stands.
func TestURLEscaper(t *testing.T) {
	rv := newRevealer(context.Background(), fixedSecrets{"s": "a b/c?d@e"})
	u := "https://${secret:s}@host.example/p/${secret:s}/x?k=${secret:s}"
	got, err := rv.expandWith(u, urlEscaper(u))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://a%20b%2Fc%3Fd%40e@host.example/p/a%20b%2Fc%3Fd@e/x?k=a+b%2Fc%3Fd%40e"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
