package builtin_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"text/template"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// awkwardKey has a character that each escaping treats its own way: letters in both cases,
// HTML's &"'<> and html/template's +, URLs' /?@%: and space, and one letter beyond ASCII.
const awkwardKey = `K3y&"q'<+> é/?@%:x9`

// echoedForm is the secret as a careless server may send it back: one way each of the forms
// masking recognises, written here without the masker's help.
type echoedForm struct {
	name string
	form func(v string) string
	// wrapped: the form has line breaks, so it can't be a header's value.
	wrapped bool
	// base64: the form is the base64 of a longer text, whose characters beside the secret's
	// depend on its neighbours: what must be gone is each core (builtin.Base64Cores), not only the
	// encoding whole, which masking any part of it removes.
	base64 bool
}

var echoedForms = []echoedForm{
	{name: "as is", form: func(v string) string { return v }},
	{name: "upper case", form: strings.ToUpper},
	{name: "lower case", form: strings.ToLower},
	{name: "mixed case", form: builtin.MixedCase},
	{name: "hex", form: func(v string) string { return hex.EncodeToString([]byte(v)) }},
	{name: "HEX", form: func(v string) string { return strings.ToUpper(hex.EncodeToString([]byte(v))) }},
	{name: "html.EscapeString", form: html.EscapeString},
	{name: "template.HTMLEscapeString", form: template.HTMLEscapeString},
	{name: "html/template", form: func(v string) string {
		var b strings.Builder
		_ = htmltemplate.Must(htmltemplate.New("").Parse(`{{.}}`)).Execute(&b, v)
		return b.String()
	}},
	{name: "PHP htmlspecialchars", form: strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#039;", "<", "&lt;", ">", "&gt;").Replace},
	{name: "Python html.escape", form: strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#x27;", "<", "&lt;", ">", "&gt;").Replace},
	{name: "Go JSON", form: func(v string) string { b, _ := json.Marshal(v); return string(b) }},
	{name: "JSON, every character \\u", form: func(v string) string {
		var b strings.Builder
		for _, u := range utf16.Encode([]rune(v)) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
		return b.String()
	}},
	{name: "JSON, ASCII only", form: func(v string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.ReplaceAll(strings.TrimSpace(b.String()), "é", `\u00e9`)
	}},
	{name: "query-escaped twice", form: func(v string) string { return url.QueryEscape(url.QueryEscape(v)) }},
	{name: "path-escaped twice", form: func(v string) string { return url.PathEscape(url.PathEscape(v)) }},
	{name: "base64 at offset 0", base64: true, form: func(v string) string { return base64.StdEncoding.EncodeToString([]byte("abc" + v + "!")) }},
	{name: "base64 at offset 1", base64: true, form: func(v string) string { return base64.StdEncoding.EncodeToString([]byte("a" + v + "!?")) }},
	{name: "base64 at offset 2", base64: true, form: func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte("ab" + v)) }},
	{name: "base64 -w 40", base64: true, wrapped: true, form: func(v string) string {
		return builtin.FoldText(base64.StdEncoding.EncodeToString([]byte("xy"+v+v)), 40, "\n")
	}},
	{name: "hex folded at 7, CRLF", wrapped: true, form: func(v string) string { return builtin.FoldText(hex.EncodeToString([]byte(v)), 7, "\r\n") }},
	{name: "folded at 3", wrapped: true, form: func(v string) string { return builtin.FoldText(v, 3, "\n") }},
}

// requireMasked fails when text holds the secret's form, in any letter case or across line
// breaks.
func requireMasked(t *testing.T, text, form string, msgAndArgs ...any) {
	t.Helper()
	flat := strings.NewReplacer("\r", "", "\n", "").Replace
	require.NotContains(t, strings.ToLower(flat(text)), strings.ToLower(flat(form)), msgAndArgs...)
}

// A server that sends the secret back in any form a program or library commonly gives it, in
// the body or a header, sees it masked in the result and the log, on both dialects.
func TestHTTPRequestMasksEveryForm(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			for _, f := range echoedForms {
				if f.name == r.URL.Query().Get("form") {
					echoed := f.form(r.Header.Get("X-Key"))
					if !f.wrapped {
						w.Header().Set("X-Request-Id", echoed)
					}
					_, _ = io.WriteString(w, "before "+echoed+" after")
				}
			}
		})
		e := newEngine(t, s, fast())
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: mapSecrets{"key": awkwardKey}}))
		start(t, e)
		for _, f := range echoedForms {
			leaks := []string{f.form(awkwardKey)}
			if f.base64 {
				leaks = append(leaks, builtin.Base64Cores(awkwardKey)...)
			}
			j := runOnce(t, e, s, map[string]any{"url": rec.srv.URL + "/?form=" + url.QueryEscape(f.name),
				"headers": map[string]string{"X-Key": "${secret:key}"}})
			require.Equal(t, models.JobSucceeded, j.State, f.name)
			var res builtin.HTTPResponse
			require.NoError(t, json.Unmarshal([]byte(j.Result), &res), f.name)
			require.True(t, strings.HasPrefix(res.Body, "before "), "%s: %q", f.name, res.Body)
			require.Contains(t, res.Body, "${secret:key}", f.name)
			if !f.wrapped {
				require.Contains(t, res.Headers["X-Request-Id"], "${secret:key}", f.name)
			}
			log := strings.Join(logLines(t, s, j.ID), "\n")
			for _, leak := range leaks {
				requireMasked(t, res.Body, leak, "%s: the body", f.name)
				if !f.wrapped {
					requireMasked(t, res.Headers["X-Request-Id"], leak, "%s: the header", f.name)
				}
				requireMasked(t, log, leak, "%s: the log", f.name)
			}
		}
	})
}

// awsKey is shaped as an AWS secret access key, with base64's / and + (builtin.AWSKey).
const awsKey = builtin.AWSKey

// A server that sends the secret back inside JSON, as the common encoders write it by default,
// one at a time or all in one body, sees it masked in the result and the log of a success, and
// in the error and the log of a failure, on both dialects.
func TestHTTPRequestMasksJSONEncoders(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			var fields []string
			for _, enc := range builtin.JSONEncoders() {
				if name := r.URL.Query().Get("encoder"); name == "" || name == enc.Name {
					fields = append(fields, fmt.Sprintf(`"%s":"%s"`, enc.Name, enc.Encode(r.Header.Get("X-Key"))))
				}
			}
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Has("fail") {
				w.WriteHeader(http.StatusInternalServerError)
			}
			_, _ = io.WriteString(w, "{"+strings.Join(fields, ",")+"}")
		})
		e := newEngine(t, s, fast())
		secrets := mapSecrets{"aws": awsKey, "key": awkwardKey}
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: secrets}))
		start(t, e)
		encoders := builtin.JSONEncoders()
		for _, name := range []string{"aws", "key"} {
			for i := -1; i < len(encoders); i++ { // -1: all of them
				var want []string
				query := url.Values{}
				for k, enc := range encoders {
					if i < 0 || i == k {
						want = append(want, fmt.Sprintf(`"%s":"${secret:%s}"`, enc.Name, name))
					}
				}
				if i >= 0 {
					query.Set("encoder", encoders[i].Name)
				}
				body, what := "{"+strings.Join(want, ",")+"}", name+" "+query.Get("encoder")
				args := map[string]any{"url": rec.srv.URL + "/?" + query.Encode(), "headers": map[string]string{"X-Key": "${secret:" + name + "}"}}

				j := runOnce(t, e, s, args)
				require.Equal(t, models.JobSucceeded, j.State, what)
				var res builtin.HTTPResponse
				require.NoError(t, json.Unmarshal([]byte(j.Result), &res), what)
				require.Equal(t, body, res.Body, "%s: the result", what)
				log := strings.Join(logLines(t, s, j.ID), "\n")

				query.Set("fail", "")
				args["url"] = rec.srv.URL + "/?" + query.Encode()
				j = runOnce(t, e, s, args)
				require.Equal(t, models.JobFailed, j.State, what)
				require.Equal(t, "500 Internal Server Error (expected 2xx): "+body, j.LastError, "%s: the error", what)
				log += "\n" + strings.Join(logLines(t, s, j.ID), "\n")
				require.Equal(t, 2, strings.Count(log, body), "%s: the logs\n%s", what, log)
				for _, enc := range encoders {
					requireMasked(t, log, enc.Encode(secrets[name]), "%s: the logs", what)
				}
			}
		}
	})
}

// A body cut at max_body is masked first, and the masked text cut: a secret the cut would fall
// in is masked whole, and a mask is kept whole or left out, never shown in part.
func TestHTTPRequestCutBodyIsMaskedFirst(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			more := 1
			if r.URL.Query().Has("long") {
				more = 1000
			}
			_, _ = io.WriteString(w, "token="+r.Header.Get("X-Key")+strings.Repeat(" and more", more))
		})
		e := httpEngine(t, s)
		start(t, e)
		const masked = "token=${secret:api} and more" // 28 bytes
		for _, tc := range []struct {
			maxBody int
			long    bool
			want    string
		}{
			{len("token=") + len(apiKey) - 1, false, masked[:27]}, // the raw body cut there ends inside the secret
			{len("token=") + len(apiKey) - 1, true, masked[:27]},
			{len("token=") + 3, false, "token="},              // the mask doesn't fit: left out
			{len("token=${secret:api}") - 1, false, "token="}, // nor any part of it
			{len("token=${secret:api}"), false, "token=${secret:api}"},
			{len("token=${secret:api}") + 2, true, "token=${secret:api} a"},
			{len(masked), false, masked}, // all of it: the masked body is shorter than the body
			{len("token=") + len(apiKey) + len(" and more"), false, masked},
		} {
			target := rec.srv.URL
			if tc.long {
				target += "?long"
			}
			j := runOnce(t, e, s, map[string]any{"url": target, "max_body": tc.maxBody, "headers": map[string]string{"X-Key": "${secret:api}"}})
			var res builtin.HTTPResponse
			require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
			require.Equal(t, tc.want, res.Body, "max_body %d", tc.maxBody)
			require.Equal(t, tc.want != masked, res.BodyTruncated, "max_body %d", tc.maxBody)
			require.NotContains(t, j.Result+strings.Join(logLines(t, s, j.ID), "\n"), apiKey[:4], "max_body %d", tc.maxBody)
		}
	})
}

// A secret in the URL's user info is masked in the error Go's client writes, which escapes it
// its own way (Us3r&Na=me%40x), in the log and in last_error.
func TestHTTPRequestMasksUserInfo(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e := newEngine(t, s, fast())
		const user, password = "Us3r&Na=me@x", "p@ss:w/rd?#1"
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: mapSecrets{"U": user, "P": password}}))
		start(t, e)
		// With a password, Go's error shows the user name as is; without, escaped its own way.
		for _, target := range []string{"https://${secret:U}:${secret:P}@127.0.0.1:1/", "https://${secret:U}@127.0.0.1:1/"} {
			j := runOnce(t, e, s, map[string]any{"url": target, "timeout": "5s"})
			require.Equal(t, models.JobFailed, j.State)
			require.Contains(t, j.LastError, "${secret:U}", target)
			out := j.LastError + "\n" + strings.Join(logLines(t, s, j.ID), "\n") + "\n" + j.Result
			for _, form := range []string{user, url.User(user).String(), url.QueryEscape(user), password,
				url.UserPassword("u", password).String()[2:], url.QueryEscape(password)} {
				requireMasked(t, out, form, target)
			}
			require.NotContains(t, out, "Na=me", target)
		}
	})
}
