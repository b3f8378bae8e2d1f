package jobs

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/kilnhq/kiln/models"
)

// What an http.request job keeps of a response: the body read up to its cap, the result cut to
// what a job may keep, previews for its log.

// readCapped reads up to limit bytes of r and counts (by reading on, up to 64 MiB) how long it is.
func readCapped(r io.Reader, limit int64) ([]byte, int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit))
	if err != nil {
		return buf.Bytes(), n, err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, 64<<20))
	return buf.Bytes(), n + rest, err
}

// httpHeaderKeep bounds each header an http.request result keeps, in bytes: a Content-Type, a
// Location or an ETag is well under it, and a server's 300 KB header (600 KB as JSON, for '"')
// made a result too big to keep, so the job failed whatever the response.
const httpHeaderKeep = 8 << 10

// fitResult cuts the result until it fits what a job may keep: each header to httpHeaderKeep,
// then the body by halves. The kept headers then take at most 8 x 8 KiB, 6 times that as
// JSON escapes (384 KiB), under models.JobResultMax; should more be kept one day, the longest
// header is halved once the body is gone.
func fitResult(out HTTPResponse) HTTPResponse {
	for h, v := range out.Headers {
		out.Headers[h] = cutHeader(v, httpHeaderKeep)
	}
	for {
		b, _ := json.Marshal(out)
		if len(b) <= models.JobResultMax {
			return out
		}
		if out.Body != "" {
			out.Body, out.BodyTruncated = truncateText(out.Body, len(out.Body)/2), true
			continue
		}
		longest := ""
		for h, v := range out.Headers {
			if len(v) > len(out.Headers[longest]) {
				longest = h
			}
		}
		if len(out.Headers[longest]) <= 64 {
			return out // nothing worth cutting is left: SetResult says it is too big
		}
		out.Headers[longest] = cutHeader(out.Headers[longest], len(out.Headers[longest])/2)
	}
}

// cutHeader is v cut to about n bytes at a character's boundary, ending in "…" when cut.
func cutHeader(v string, n int) string {
	if len(v) <= n {
		return v
	}
	return truncateText(v, n) + "…"
}

// preview is s cut to n bytes on a rune boundary, on one line.
func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return truncateText(s, n) + "…"
}
