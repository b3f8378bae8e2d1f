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
