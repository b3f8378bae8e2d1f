package jobs

import (
	"strings"
)

// Masking text that is kept in part: a response body cut to max_body. The text is masked first
// and cut after, so that a cut never falls inside a secret (showing the part before it) nor
// inside a mask.

// maskCut masks body and cuts the masked text to at most n bytes, never inside a mask or a
// character; whole says whether body is all there is (else what may be the start of a secret
// at its end is left out). It reports whether anything was left out.
func (r *revealer) maskCut(body string, whole bool, n int) (string, bool) {
	m := r.currentMasker()
	if m == nil {
		if len(body) <= n {
			return body, !whole
		}
		return string(trimPartialRune([]byte(body[:n]))), true
	}
	hits, hold := m.scan(body)
	spans := m.spans(body, hits, carried{}, &hold)
	if whole {
		hold = len(body)
	}
	var b strings.Builder
	if render(&b, body, spans, 0, hold, n) && hold == len(body) {
		return b.String(), !whole
	}
	return string(trimPartialRune([]byte(b.String()))), true
}
