package builtin_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A response whose kept headers are huge still makes a result the job may keep: the headers are
// cut like the body. A 300 KB Content-Type of '"' (600 KB as JSON) failed every attempt with
// "result of job 28 is 600164 bytes; at most 524288 are kept".
func TestHTTPRequestHugeHeadersAreCut(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	quotes := strings.Repeat(`"`, 300<<10)
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", quotes)
		if r.URL.Path == "/all" {
			for _, h := range []string{"Location", "Etag", "X-Request-Id", "Last-Modified"} {
				w.Header().Set(h, quotes)
			}
		}
		_, _ = io.WriteString(w, strings.Repeat(`"`, 200<<10))
	})
	e := httpEngine(t, s)
	start(t, e)
	for _, path := range []string{"/type", "/all"} {
		j := runOnce(t, e, s, map[string]any{"url": rec.srv.URL + path, "max_body": builtin.HTTPMaxBodyLimit})
		require.Equal(t, models.JobSucceeded, j.State, "%s: %s", path, j.LastError)
		require.LessOrEqual(t, len(j.Result), models.JobResultMax, path)
		var res builtin.HTTPResponse
		require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
		ct := res.Headers["Content-Type"]
		require.True(t, strings.HasPrefix(ct, `"""`), "%s: the start of the header is kept", path)
		require.Less(t, len(ct), len(quotes), path)
		require.NotEmpty(t, res.Body, "%s: the body keeps what room is left", path)
	}
}

// A header or a body cut to fit is cut outside the masks: a mask is kept whole or left out.
// Masked first and then cut at 8 KiB, a header ended in "${sec"; a body of \x01 (six bytes each
// as JSON) with a secret every few bytes, halved to fit, ended in "${secr" for 4 gaps of 7.
func TestHTTPRequestCutsOutsideMasks(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	const headerKeep = 8 << 10 // httpHeaderKeep
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Key")
		w.Header().Set("X-Request-Id", strings.Repeat("x", headerKeep-5)+key+strings.Repeat("y", 100))
		w.Header().Set("Etag", strings.Repeat("x", headerKeep-30)+key+strings.Repeat("y", 100))
		gap, _ := strconv.Atoi(r.URL.Query().Get("gap"))
		_, _ = io.WriteString(w, strings.Repeat(strings.Repeat("\x01", gap)+key, 300<<10/gap))
	})
	e := httpEngine(t, s)
	start(t, e)
	end := func(s string) string { return s[max(0, len(s)-24):] }
	for gap := 8; gap <= 14; gap++ {
		j := runOnce(t, e, s, map[string]any{"url": rec.srv.URL + "/?gap=" + strconv.Itoa(gap), "max_body": builtin.HTTPMaxBodyLimit,
			"headers": map[string]string{"X-Key": "${secret:api}"}})
		require.Equal(t, models.JobSucceeded, j.State, j.LastError)
		require.LessOrEqual(t, len(j.Result), models.JobResultMax)
		require.NotContains(t, j.Result, apiKey[:4])
		var res builtin.HTTPResponse
		require.NoError(t, json.Unmarshal([]byte(j.Result), &res))

		for h, want := range map[string]string{
			"X-Request-Id": strings.Repeat("x", headerKeep-5) + "…", // the mask doesn't fit: left out
			"Etag":         strings.Repeat("x", headerKeep-30) + "${secret:api}" + strings.Repeat("y", 17) + "…",
		} {
			got := res.Headers[h]
			require.True(t, got == want, "%s: %d bytes ending %q, want %d ending %q", h, len(got), end(got), len(want), end(want))
		}

		require.True(t, res.BodyTruncated, gap)
		require.Greater(t, len(res.Body), 64<<10, "gap %d: the body keeps what room there is", gap)
		masked := strings.Repeat(strings.Repeat("\x01", gap)+"${secret:api}", 300<<10/gap)
		require.True(t, strings.HasPrefix(masked, res.Body), "gap %d: the start of the body", gap)
		require.Equal(t, strings.Count(res.Body, "$"), strings.Count(res.Body, "${secret:api}"), "gap %d: every mask whole: %d bytes ending %q", gap, len(res.Body), end(res.Body))
	}
}

// A body that isn't text, kept in base64, is halved before it is encoded: halving the base64
// left text that doesn't decode (its length not a multiple of 4) and could cut an encoded mask.
func TestHTTPRequestCutsBinaryBodyBeforeEncoding(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	angles := strings.Repeat("<", 300<<10) // 8 KiB kept of each, 48 KiB as JSON (\u003c)
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"Content-Type", "Location", "Retry-After", "Etag", "Last-Modified", "X-Request-Id", "Date"} {
			w.Header().Set(h, angles)
		}
		gap, _ := strconv.Atoi(r.URL.Query().Get("gap"))
		_, _ = io.WriteString(w, strings.Repeat(strings.Repeat("\xff", gap)+r.Header.Get("X-Key"), 300<<10/gap))
	})
	e := httpEngine(t, s)
	start(t, e)
	for gap := 8; gap <= 11; gap++ {
		j := runOnce(t, e, s, map[string]any{"url": rec.srv.URL + "/?gap=" + strconv.Itoa(gap), "max_body": builtin.HTTPMaxBodyLimit,
			"headers": map[string]string{"X-Key": "${secret:api}"}})
		require.Equal(t, models.JobSucceeded, j.State, j.LastError)
		var res builtin.HTTPResponse
		require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
		require.Equal(t, "base64", res.BodyEncoding)
		require.True(t, res.BodyTruncated, gap)
		body, err := base64.StdEncoding.DecodeString(res.Body)
		require.NoError(t, err, "gap %d: the body decodes", gap)
		require.Greater(t, len(body), 64<<10, "gap %d: the body keeps what room there is", gap)
		require.Less(t, len(body), 128<<10, "gap %d: the body was halved to fit", gap)
		masked := strings.Repeat(strings.Repeat("\xff", gap)+"${secret:api}", 300<<10/gap)
		require.True(t, strings.HasPrefix(masked, string(body)), "gap %d: the start of the body", gap)
		require.Equal(t, strings.Count(string(body), "$"), strings.Count(string(body), "${secret:api}"), "gap %d: every mask whole", gap)
	}
}
