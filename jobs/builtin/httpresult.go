package builtin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/internal/textcut"
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

// httpRead is what an http.request job read of a response, before it is masked.
type httpRead struct {
	headers map[string]string // the kept headers
	body    string            // read up to max_body, and twice the lookahead past it
	whole   bool              // body is all of it
}

// fitResult fills out's headers and body from read, masked and cut until the result fits what a
// job may keep: each header to httpHeaderKeep, the body to maxBody, then the body by halves. The
// kept headers then take at most 8 x 8 KiB, 6 times that as JSON escapes (384 KiB), under
// models.JobResultMax; should more be kept one day, the longest header is halved once the body
// is gone. Each cut is made as the text is masked (revealer.maskCut), so that a mask is kept
// whole or left out: masked first and cut after, a header ended in "${sec".
func fitResult(rv *revealer, out HTTPResponse, read httpRead, maxBody int) HTTPResponse {
	out.Headers = make(map[string]string, len(read.headers))
	for h, v := range read.headers {
		out.Headers[h] = cutHeader(rv, v, httpHeaderKeep)
	}
	body, truncated := rv.maskCut(read.body, read.whole, maxBody)
	out.setBody(body, truncated)
	for {
		b, _ := json.Marshal(out)
		if len(b) <= models.JobResultMax {
			return out
		}
		if body != "" {
			body, _ = rv.maskCut(read.body, read.whole, len(body)/2)
			out.setBody(body, true)
			continue
		}
		longest := ""
		for h, v := range out.Headers {
			if len(v) > len(out.Headers[longest]) {
				longest = h
			}
		}
		if len(out.Headers[longest]) <= 64 {
			return out // nothing worth cutting is left: jobs.SetResult says it is too big
		}
		out.Headers[longest] = cutHeader(rv, read.headers[longest], len(out.Headers[longest])/2)
	}
}

// setBody keeps the masked body: as it is when it is UTF-8 text, else in base64 (a secret in a
// body that isn't text was masked as bytes, before any encoding).
func (out *HTTPResponse) setBody(masked string, truncated bool) {
	out.Body, out.BodyEncoding, out.BodyTruncated = masked, "", truncated
	if !utf8.ValidString(masked) {
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString([]byte(masked)), "base64"
	}
}

// cutHeader is the header v masked and cut to at most n bytes outside the masks, ending in "…"
// when cut.
func cutHeader(rv *revealer, v string, n int) string {
	masked, cut := rv.maskCut(v, true, n)
	if cut {
		return masked + "…"
	}
	return masked
}

// preview is s cut to n bytes on a rune boundary, on one line.
func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return textcut.Truncate(s, n) + "…"
}
