package builtin

import (
	"math"
	"strings"

	"github.com/kilnhq/kiln/internal/textcut"
)

// Masking text that is kept in part: a response body cut to max_body, a program's output
// logged a line at a time. Either way the text is masked first and cut after, so that a cut
// never falls inside a secret (showing the part before it) nor inside a mask.

// maskCut masks body and cuts the masked text to at most n bytes, never inside a mask or a
// character; whole says whether body is all there is (else what may be the start of a secret
// at its end is left out). It reports whether anything was left out.
func (r *revealer) maskCut(body string, whole bool, n int) (string, bool) {
	m := r.currentMasker()
	if m == nil {
		if len(body) <= n {
			return body, !whole
		}
		return textcut.TrimPartialRune(body[:n]), true
	}
	hits, hold := m.scan(body)
	if !whole {
		hold = min(hold, base64Edge(body, len(body))) // it may hold bits of a base64 core that the rest begins
	}
	spans := m.spans(body, hits, carried{}, &hold)
	if whole {
		hold = len(body)
	}
	var b strings.Builder
	if render(&b, body, spans, 0, hold, n) && hold == len(body) {
		return b.String(), !whole
	}
	return textcut.TrimPartialRune(b.String()), true
}

// lineWindow masks a program's output (one stream of it) a line at a time, with line breaks
// allowed inside a secret: a line is held back while what ends it could be the start of a
// secret that the next lines complete (base64 -w 40, fold), and written once they show
// whether it is. Lines come out as they went in, one for one and in order, each masked and
// cut to execMaxLine bytes; a line that is part of a secret and nothing else comes out empty.
type lineWindow struct {
	m     *masker // nil: no secret to mask
	lines []heldLine
	carry carried // the span that an emitted line began, if it goes on into lines held
}

// heldLine is a line waiting to be written.
type heldLine struct {
	text string
	// cut: only the first execMaxLine bytes are shown (the line was longer).
	cut bool
	// hidden: not a line of its own but the end of a line too long to keep whole, kept only
	// so that a secret it starts is recognised in the lines after.
	hidden bool
}

// push takes a line and returns the lines that can be written now.
func (w *lineWindow) push(l heldLine) []string {
	w.lines = append(w.lines, l)
	return w.take(false)
}

// flush returns every line still held: the stream has ended.
func (w *lineWindow) flush() []string {
	return w.take(true)
}

// take masks the held lines and returns those that more text can no longer change.
func (w *lineWindow) take(final bool) []string {
	m := w.m
	var text string
	if len(w.lines) == 1 {
		text = w.lines[0].text
	} else {
		texts := make([]string, len(w.lines))
		for i, l := range w.lines {
			texts[i] = l.text
		}
		text = strings.Join(texts, "\n")
	}
	hold := len(text)
	var spans []span
	if m != nil {
		var hits []hit
		hits, hold = m.scan(text)
		spans = m.spans(text, hits, w.carry, &hold)
	}
	// Lines are held from the start of the one hold is in; if that is inside a JSON escape,
	// from the start of the escape's line, so that the lines held are read as JSON as they were.
	for m != nil && hold < len(text) {
		from := strings.LastIndexByte(text[:hold], '\n') + 1
		if k := escapeAround(text, from); k < from {
			hold = k
			continue
		}
		break
	}
	switch {
	case final:
		hold = len(text)
	case m != nil && len(w.lines) > m.lookahead()+2:
		// A secret broken by more line breaks than it has characters is not looked for: the
		// window holds at most that many lines.
		hold = max(hold, len(w.lines[0].text))
	}
	var out []string
	start := 0 // of the line in text
	n := 0     // lines taken
	for ; n < len(w.lines); n++ {
		l := w.lines[n]
		end := start + len(l.text)
		if end > hold {
			break
		}
		if !l.hidden {
			shown := end
			if l.cut {
				shown = start + len(textcut.Truncate(text[start:end], execMaxLine))
			}
			line := text[start:shown]
			if len(spans) > 0 {
				var b strings.Builder
				render(&b, text, spans, start, shown, math.MaxInt)
				line = b.String()
			}
			if l.cut {
				line += "…"
			}
			out = append(out, line)
		}
		start = end + 1
	}
	if n == 0 {
		return nil
	}
	w.carry = carried{}
	for _, sp := range spans {
		if sp.start < start && sp.end > start {
			w.carry = carried{end: sp.end - start, ref: sp.refs[len(sp.refs)-1]}
		}
	}
	w.lines = append(w.lines[:0], w.lines[n:]...)
	return out
}
