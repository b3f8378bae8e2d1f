package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// A chunked body (no Content-Length) over the limit is a 413, problem JSON for the API and a
// page for a form, not a 500 or a CSRF refusal.
func TestChunkedBodyOverTheLimitIs413(t *testing.T) {
	a := setup(t)
	token := a.csrf("/dashboard/jobs/new")
	for _, tc := range []struct{ path, contentType, body, answer string }{
		{"/api/v1/jobs", "application/json", `{"kind":"k","args":{"x":"` + strings.Repeat("x", 2<<20) + `"}}`, "application/problem+json"},
		{"/api/v1/jobs/batch", "application/json", `{"jobs":[{"kind":"k","args":{"x":"` + strings.Repeat("x", 2<<20) + `"}}]}`, "application/problem+json"},
		{"/dashboard/jobs/new", "application/x-www-form-urlencoded", "_csrf=" + token + "&kind=k&args=" + strings.Repeat("x", 2<<20), "text/html; charset=UTF-8"},
	} {
		// Chunks of odd sizes, as curl sends them: a read past the limit must not become a 500.
		req, err := http.NewRequest(http.MethodPost, a.server.URL+tc.path, io.MultiReader(strings.NewReader(tc.body[:1000]), strings.NewReader(tc.body[1000:])))
		require.NoError(t, err)
		req.ContentLength, req.Close = -1, true
		req.Header.Set("Content-Type", tc.contentType)
		resp, doc := a.do(req)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, tc.path)
		require.Equal(t, tc.answer, resp.Header.Get("Content-Type"), tc.path)
		require.Contains(t, doc.Text(), "large", tc.path)
		if tc.answer != "application/problem+json" { // huma words the API's 413 itself
			require.Contains(t, doc.Text(), "larger than Kiln accepts (1 MB)", tc.path)
		}
	}
	require.Empty(t, modeltestRecent(t, a))
}

// A token sent in the query string is refused, and the request log doesn't keep it: credential
// parameters, and any value holding an API token, are logged as REDACTED.
func TestRequestLogRedactsCredentials(t *testing.T) {
	a := setup(t)
	var log syncBuffer
	srv, err := web.New(web.Config{LocalNoAuth: true}, a.store, a.engine, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	for _, q := range []string{"token=kiln_sekrit1", "access_token=abc-sekrit2", "q=x&API_KEY=sekrit3", "password=sekrit4&state=failed",
		"next=%2Fdashboard%3Ftoken%3Dkiln_sekrit5", "_csrf=sekrit6", "x=kiln_sekrit7"} {
		resp, err := http.Get(ts.URL + "/dashboard/jobs?" + q)
		require.NoError(t, err)
		resp.Body.Close()
	}
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/stats?token=kiln_sekrit8", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	logged := log.String()
	require.Contains(t, logged, "/dashboard/jobs?password=REDACTED&state=failed", "the rest of the URI is kept")
	require.Contains(t, logged, "q=x&API_KEY=REDACTED")
	for i := 1; i <= 8; i++ {
		require.NotContains(t, logged, fmt.Sprintf("sekrit%d", i))
	}
}

// The user information of an absolute request URI is not logged either.
func TestRequestLogRedactsUserInfo(t *testing.T) {
	for uri, want := range map[string]string{
		"http://ada:pw@kiln.example.com/dashboard?x=1": "http://REDACTED@kiln.example.com/dashboard?x=1",
		"http://kiln.example.com/a@b":                  "http://kiln.example.com/a@b",
		"/dashboard/jobs?queue=a%2Bb&key=k":            "/dashboard/jobs?queue=a%2Bb&key=REDACTED",
		"/dashboard?token":                             "/dashboard?token=REDACTED",
	} {
		require.Equal(t, want, web.RedactURI(uri), uri)
	}
}

// A credential inside another parameter's value is redacted too: the login page's next= holds
// the URL that was refused, query and all, so GET /dashboard/jobs?api_key=X, logged redacted,
// was logged again in clear as /login?next=%2Fdashboard%2Fjobs%3Fapi_key%3DX.
func TestRequestLogRedactsCredentialsInsideNext(t *testing.T) {
	var log syncBuffer
	a := setupLogged(t, web.Config{}, modeltest.SQLiteDSN(t), slog.New(slog.NewTextHandler(&log, nil)))
	follow := &http.Client{Jar: a.client.Jar} // follows the redirect to the login page, as a browser does
	for _, q := range []string{"api_key=sekrit1", "state=failed&password=sekrit2", "x=1;pwd=sekrit3"} {
		resp, err := follow.Get(a.server.URL + "/dashboard/jobs?" + q)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "/login", resp.Request.URL.Path, "redirected to log in")
	}
	logged := log.String()
	require.Contains(t, logged, "/login?next=", "the login page's request is logged")
	require.Contains(t, logged, "api_key%3DREDACTED")
	for i := 1; i <= 3; i++ {
		require.NotContains(t, logged, fmt.Sprintf("sekrit%d", i))
	}
}

// Every common name of a credential is redacted, with '&' or ';' between parameters, and inside
// values that are a URL with a query (next, return_to...), however deep.
func TestRedactURINamesAndNesting(t *testing.T) {
	for _, name := range []string{"pwd", "pass", "passwd", "password", "authorization", "auth", "private_token", "refresh_token",
		"id_token", "access_token", "client_secret", "session", "sig", "signature", "X-Amz-Signature", "api_key", "Token", "code_verifier", "id_token_hint"} {
		require.Equal(t, "/a?x=1&"+name+"=REDACTED", web.RedactURI("/a?x=1&"+name+"=s3cr3t"), name)
		require.Equal(t, "/a?x=1;"+name+"=REDACTED", web.RedactURI("/a?x=1;"+name+"=s3cr3t"), name)
	}
	for uri, want := range map[string]string{
		"/login?next=%2Fdashboard%2Fjobs%3Fapi_key%3DX":           "/login?next=%2Fdashboard%2Fjobs%3Fapi_key%3DREDACTED",
		"/login?return_to=/dashboard/jobs?sig=X":                  "/login?return_to=%2Fdashboard%2Fjobs%3Fsig%3DREDACTED",
		"/login?next=%2Flogin%3Fnext%3D%252Fa%253Fpass%253DX&z=1": "/login?next=%2Flogin%3Fnext%3D%252Fa%253Fpass%253DREDACTED&z=1",
		"/login?next=https%3A%2F%2Fu%3Apw%40example.com%2Fa":      "/login?next=https%3A%2F%2FREDACTED%40example.com%2Fa",
		"/login?next=%2Fdashboard%2Fjobs%3Fstate%3Dfailed":        "/login?next=%2Fdashboard%2Fjobs%3Fstate%3Dfailed",
		"/a?x=1;y=2&z":                              "/a?x=1;y=2&z",
		"/auth/callback?code=X&state=Y&iss=Z":       "/auth/callback?code=REDACTED&state=REDACTED&iss=Z",
		"/login?next=%2Fauth%2Fcallback%3Fcode%3DX": "/login?next=%2Fauth%2Fcallback%3Fcode%3DREDACTED",
		"/dashboard/jobs?state=failed&code=7":       "/dashboard/jobs?state=failed&code=7",
	} {
		require.Equal(t, want, web.RedactURI(uri), uri)
	}
}
