package jobs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
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
		j := runOnce(t, e, s, map[string]any{"url": rec.srv.URL + path, "max_body": jobs.HTTPMaxBodyLimit})
		require.Equal(t, models.JobSucceeded, j.State, "%s: %s", path, j.LastError)
		require.LessOrEqual(t, len(j.Result), models.JobResultMax, path)
		var res jobs.HTTPResponse
		require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
		ct := res.Headers["Content-Type"]
		require.True(t, strings.HasPrefix(ct, `"""`), "%s: the start of the header is kept", path)
		require.Less(t, len(ct), len(quotes), path)
		require.NotEmpty(t, res.Body, "%s: the body keeps what room is left", path)
	}
}
