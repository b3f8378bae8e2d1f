package web_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/web"
)

// The refusals that come from rules over every request, not from one handler, are declared on
// each operation they apply to, and each one declared happens: no usable token (401, every
// operation), a viewer's token (403: every change, and the reads only admins may make), a
// change's body that is not UTF-8 (400), and for an operation with a body, one that is not JSON
// (415) or is too large (413). Each answer also goes through checkSpec: its status is declared
// and its problem fits the schema. The refusals one handler gives (404, 409, 422) are proven by
// that handler's own tests, through the same checkSpec.
func TestAPIRefusalsAreDeclaredAndHappen(t *testing.T) {
	a := setupWith(t, web.Config{}) // no local access: the test client needs a token like anyone
	viewer, admin := a.token("viewer", "viewer"), a.token("admin", "admin")
	doc := a.loadOpenAPI(openAPIPaths[0])
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			declared := func(status string) bool { return op.Responses.Value(status) != nil }
			change := method != http.MethodGet
			require.True(t, declared("401"), "%s: every operation may meet a request without a usable token", at)
			require.Equal(t, change, declared("400"), "%s: 400 is declared for every change, and only for them (a body that isn't UTF-8)", at)
			require.True(t, declared("403") || !change, "%s: a change may come with a viewer's token", at)
			require.Equal(t, op.RequestBody != nil, declared("415"), "%s: 415 goes with a request body", at)
			require.Equal(t, op.RequestBody != nil, declared("413"), "%s: 413 goes with a request body", at)

			url := "/api" + fillPath(t, path, op)
			type refusal struct {
				status             string
				token, ctype, body string
			}
			refusals := []refusal{
				{"401", "", "application/json", ""},
				{"403", viewer, "application/json", "{}"},
				{"400", admin, "application/json", "{\"value\":\"\xff\"}"},
				{"415", admin, "text/plain", "x"},
				{"413", admin, "application/json", `{"value":"` + strings.Repeat("x", 2<<20) + `"}`},
			}
			for _, r := range refusals {
				if !declared(r.status) {
					continue
				}
				body := r.body
				if !change {
					body = ""
				}
				status := a.rawAPICall(method, url, r.token, r.ctype, body)
				require.Equal(t, r.status, status, "%s %s: the refusal declared", method, url)
			}
		}
	}
}

// fillPath puts a value in each of path's parameters that its schema allows: the first of an
// enum, 1 for a number, else "x". No such job, task or secret exists, which the refusals
// tested here come before.
func fillPath(t *testing.T, path string, op *openapi3.Operation) string {
	t.Helper()
	for _, p := range op.Parameters {
		if p.Value.In != openapi3.ParameterInPath {
			continue
		}
		s := p.Value.Schema.Value
		v := "x"
		switch {
		case len(s.Enum) > 0:
			v = s.Enum[0].(string)
		case s.Type.Is(openapi3.TypeInteger):
			v = "1"
		}
		path = strings.Replace(path, "{"+p.Value.Name+"}", v, 1)
	}
	require.NotContains(t, path, "{", "a path parameter the operation doesn't list")
	return path
}

// rawAPICall sends body as it is, with content type ctype, and returns the answer's status
// (checked against the document by apiDo).
func (a *app) rawAPICall(method, path, token, ctype, body string) string {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.server.URL+path, r)
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", ctype)
	resp, _ := a.apiDo(req, token)
	return strconv.Itoa(resp.StatusCode)
}
