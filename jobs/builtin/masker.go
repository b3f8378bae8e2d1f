package builtin

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"strings"
)

// masker finds every form of a set of secrets in text, in one pass, and replaces each by its
// mask. Matching ignores ASCII letter case and line breaks: the text and the forms are read
// with A-Z as a-z, and with \r and \n skipped, so that a form folded over lines (base64 -w 40,
// fold) or upper-cased (tr a-z A-Z) is still found. Text with a backslash is read a second time
// as JSON, each escape as what it stands for (maskjson.go).
//
// It is an Aho-Corasick automaton over the forms: one pass over the text whatever the number of
// forms, where strings.Replacer (case-sensitive besides) tried them at each position. The root
// has a full table, other states a short list of edges: the text mostly stays at the root. A
// masker is built once per set of revealed values, and is read-only after.
type masker struct {
	root     [256]int32 // the root's edges; 0: none
	edges    []int32    // state s's edges are edgeByte[edges[s]:edges[s+1]]; edge i leads to state i+1
	edgeByte []byte
	fail     []int32 // the state of the longest proper suffix that is a prefix of some pattern
	open     []int32 // the length of its longest suffix that more text could take further
	out      []int32 // the pattern that ends at the state, or -1
	dict     []int32 // the nearest state along fail with a pattern, or -1
	patterns []pattern
	deepest  int // the longest pattern, in bytes read
	// deepestValue is the longest form of a value, in bytes read, whether or not a pattern
	// of its own (a string built with the value may read the same).
	deepestValue int
}

// pattern is a form to look for, as read (lower case, no line breaks; as JSON reads it, for a
// form that is a JSON string's inside), and its mask.
type pattern struct {
	form
	n   int    // its length as read
	ref string // what replaces it: ${secret:NAME}, or the template a string was built from
}

// lowerASCII maps A-Z to a-z and every other byte to itself.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// normalize is s as the masker reads it.
func normalize(s string) string {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		if c := s[i]; c != '\r' && c != '\n' {
			b = append(b, lowerASCII[c])
		}
	}
	return string(b)
}

// newMasker builds the automaton for the forms, each with its mask; an earlier form wins over
// a later one that reads the same.
//
// The trie is built a level at a time from the patterns in sorted order, so that states are
// numbered breadth first and each state's children are consecutive, in byte order: the k-th
// edge leads to state k+1, and fail links are found in one pass over the states. (Built node
// by node with a slice of edges each, the masker took 20 times longer to build.)
func newMasker(forms []form, refs []string) *masker {
	m := &masker{}
	seen := map[string]bool{}
	var texts []string
	for i, f := range forms {
		text := normalize(f.text)
		if f.json {
			text = jsonReading(f.text)
		}
		if !f.built {
			m.deepestValue = max(m.deepestValue, len(text))
		}
		if text == "" || seen[text] {
			continue
		}
		seen[text] = true
		texts = append(texts, text)
		m.patterns = append(m.patterns, pattern{form: f, n: len(text), ref: refs[i]})
		m.deepest = max(m.deepest, len(text))
	}
	order := make([]int32, len(texts)) // patterns by text
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(texts[a], texts[b]) })

	total := 1 // states at most
	for _, t := range texts {
		total += len(t)
	}
	m.out, m.edgeByte = append(make([]int32, 0, total), -1), make([]byte, 0, total)
	children := append(make([]int32, 0, total), 0) // per state
	at := make([]int32, len(texts))                // per pattern: its state at the current depth
	for depth := 0; len(order) > 0; depth++ {      // order: the patterns longer than depth
		longer := order[:0]
		parent, c := int32(-1), -1
		for _, p := range order {
			text := texts[p]
			if len(text) == depth {
				m.out[at[p]] = p
				continue
			}
			if at[p] != parent || int(text[depth]) != c {
				parent, c = at[p], int(text[depth])
				children[parent]++
				m.edgeByte = append(m.edgeByte, text[depth])
				m.out, children = append(m.out, -1), append(children, 0)
			}
			at[p] = int32(len(m.out) - 1)
			longer = append(longer, p)
		}
		order = longer
	}

	n := len(m.out)
	m.edges = make([]int32, n+1)
	for s := range n {
		m.edges[s+1] = m.edges[s] + children[s]
	}
	m.fail, m.open, m.dict = make([]int32, n), make([]int32, n), make([]int32, n)
	length := make([]int32, n) // of each state's string
	m.dict[0] = -1
	for s := range int32(n) { // breadth first: a state's fail is found from its parent's
		for i := m.edges[s]; i < m.edges[s+1]; i++ {
			c, to := m.edgeByte[i], i+1
			length[to] = length[s] + 1
			if s == 0 {
				m.root[c] = to
			} else {
				m.fail[to] = m.step(m.fail[s], c)
			}
			f := m.fail[to]
			if m.out[f] >= 0 {
				m.dict[to] = f
			} else {
				m.dict[to] = m.dict[f]
			}
			if children[to] > 0 {
				m.open[to] = length[to]
			} else { // a whole pattern that none goes on from: only a suffix of it may go on
				m.open[to] = m.open[f]
			}
		}
	}
	return m
}

// lookahead is the most bytes of text a form of a value may take, line breaks aside (0 for a
// nil masker): text cut into pieces must overlap by this much less one for every value to be
// seen whole. Read as JSON, each byte of a form may have been written as a six-byte escape
// (\u0041). The forms of strings built with values don't count: however long, the values' own
// forms find every value in them (builtForms), and a 200 KB JSON request body made the
// lookahead 2.9 MB.
func (m *masker) lookahead() int {
	if m == nil {
		return 0
	}
	return 6 * m.deepestValue
}

// step is the state after reading c (lower case) in state s.
func (m *masker) step(s int32, c byte) int32 {
	for s != 0 {
		for i := m.edges[s]; i < m.edges[s+1]; i++ {
			if m.edgeByte[i] == c {
				return i + 1
			}
		}
		s = m.fail[s]
	}
	return m.root[c]
}

// ending yields the patterns that end where the text has led to state s: its own, and those
// of the states along fail from it.
func (m *masker) ending(s int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		if m.out[s] < 0 {
			s = m.dict[s]
		}
		for ; s >= 0; s = m.dict[s] {
			if !yield(m.out[s]) {
				return
			}
		}
	}
}

// hit is one form found: s[start:end], line breaks within it included.
type hit struct {
	start, end int
	pattern    int32
}

// scan finds every form in s, read as is and, when s has a backslash, as JSON (scanJSON); and
// where a form may start that more text could complete: the offset from which s must be held
// back until it comes (len(s) when none may).
func (m *masker) scan(s string) (hits []hit, hold int) {
	state := int32(0)
	for i := 0; i < len(s); i++ {
		if state == 0 { // the common case: skip what can't start a form
			for i < len(s) && m.root[lowerASCII[s[i]]] == 0 {
				i++
			}
			if i == len(s) {
				break
			}
		}
		c := s[i]
		if c == '\r' || c == '\n' {
			continue
		}
		state = m.step(state, lowerASCII[c])
		for p := range m.ending(state) {
			hits = append(hits, hit{start: back(s, i, m.patterns[p].n), end: i + 1, pattern: p})
		}
	}
	hold = len(s)
	if d := int(m.open[state]); d > 0 {
		hold = back(s, len(s)-1, d)
	}
	if strings.IndexByte(s, '\\') >= 0 {
		hits, hold = m.scanJSON(s, hits, hold)
	}
	return hits, hold
}

// back is the offset of the n-th byte of s, line breaks aside, counting back from s[i].
func back(s string, i, n int) int {
	for ; i >= 0; i-- {
		if s[i] != '\r' && s[i] != '\n' {
			if n--; n == 0 {
				return i
			}
		}
	}
	return 0
}

// span is a stretch of text to mask: forms that overlap are masked as one, by the masks of
// each (in order, without repeats).
type span struct {
	start, end int
	refs       []string
}

// carried is a span that began in text already masked and written (an earlier line of a
// stream): it ended end bytes into the text now scanned, and its last mask was ref.
type carried struct {
	end int
	ref string
}

// spans turns hits into the spans to mask, leftmost first. A base64 core takes the character
// either side that holds some of its bits (base64Edge), written as is or JSON-escaped; one
// whose character after has yet to come moves hold back to before its start. A span that
// extends a carried one is written at offset 0 with the masks it adds; the carried part alone
// starts at -1, and is only skipped.
func (m *masker) spans(s string, hits []hit, c carried, hold *int) []span {
	for i := range hits {
		h := &hits[i]
		p := m.patterns[h.pattern]
		if !p.base64 {
			continue
		}
		if p.edgeLeft {
			h.start = base64Edge(s, h.start)
		}
		if p.edgeRight {
			j := nextChar(s, h.end)
			switch {
			case j < 0:
				*hold = min(*hold, h.start)
			case base64Chars[s[j]]:
				h.end = j + 1
			case s[j] == '\\':
				if end, ok, partial := escapedBase64At(s, j); partial {
					*hold = min(*hold, h.start)
				} else if ok {
					h.end = end
				}
			}
		}
	}
	// What more text may complete may be a base64 core whose character before holds some of
	// its bits: hold that back too.
	if *hold < len(s) {
		*hold = base64Edge(s, *hold)
	}
	if len(hits) == 0 && c.end <= 0 {
		return nil // most lines of output: nothing to allocate
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(b.end, a.end), cmp.Compare(a.pattern, b.pattern))
	})
	var out []span
	cur := span{start: -1, end: c.end, refs: []string{c.ref}}
	for _, h := range hits {
		ref := m.patterns[h.pattern].ref
		switch {
		case h.start >= cur.end:
			out = appendSpan(out, cur)
			cur = span{start: h.start, end: h.end, refs: []string{ref}}
		case h.end > cur.end:
			cur.end = h.end
			if cur.refs[len(cur.refs)-1] != ref {
				cur.refs = append(cur.refs, ref)
			}
		}
	}
	return appendSpan(out, cur)
}

func appendSpan(out []span, sp span) []span {
	switch {
	case sp.end <= 0:
		return out // no carried span, or one that ends where this text starts
	case sp.start < 0 && len(sp.refs) > 1:
		sp.start, sp.refs = 0, sp.refs[1:]
	}
	return append(out, sp)
}

// base64Edge is where a base64 core that starts at s[i] starts with its character before, when
// there is one, as is or JSON-escaped: one written on the line before is not taken, so that a
// text masked whole and the same text masked a line at a time (where that line was written
// already) agree.
func base64Edge(s string, i int) int {
	if k, c, ok := escapeBefore(s, i); ok {
		if base64Chars[c] {
			return k
		}
		return i
	}
	if i > 0 && base64Chars[s[i-1]] {
		return i - 1
	}
	return i
}

// nextChar is the offset of the first byte other than a line break in s from i on; -1 when
// there is none.
func nextChar(s string, i int) int {
	for ; i < len(s); i++ {
		if s[i] != '\r' && s[i] != '\n' {
			return i
		}
	}
	return -1
}

// render writes s[from:to] to b with the spans masked: a span that starts in it is written
// whole, masks and then the line breaks it held (so that lines stay lines); one that started
// before from is skipped. It stops short of limit bytes in b, never inside a mask, and then
// reports false.
func render(b *strings.Builder, s string, spans []span, from, to, limit int) bool {
	pos := from
	for _, sp := range spans {
		if sp.end <= pos {
			continue
		}
		if sp.start >= to {
			break
		}
		if sp.start < pos {
			pos = sp.end
			continue
		}
		if !writeUpTo(b, s[pos:sp.start], limit) {
			return false
		}
		masked := strings.Join(sp.refs, "") + strings.Repeat("\n", strings.Count(s[sp.start:min(sp.end, to)], "\n"))
		if b.Len()+len(masked) > limit {
			return false
		}
		b.WriteString(masked)
		pos = sp.end
	}
	return pos >= to || writeUpTo(b, s[pos:to], limit)
}

// writeUpTo writes what of text fits in limit bytes of b, and reports whether all of it did.
func writeUpTo(b *strings.Builder, text string, limit int) bool {
	if room := limit - b.Len(); len(text) > room {
		b.WriteString(text[:max(room, 0)])
		return false
	}
	b.WriteString(text)
	return true
}

// mask is s with every form masked.
func (m *masker) mask(s string) string {
	hits, hold := m.scan(s)
	if len(hits) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	render(&b, s, m.spans(s, hits, carried{}, &hold), 0, len(s), math.MaxInt)
	return b.String()
}
