package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
