package web

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/kilnhq/kiln/views/components"
)

// Pages show what users and their jobs supplied (arguments, results, response bodies, errors,
// logs) through jsonBlock and textBlock, each within blockBudget bytes of the page, with a link
// to the whole value when it was cut.

// blockBudget bounds the bytes of HTML one block adds to a page: 64 KiB is pages of text to
// read, and a job page with a handful of full blocks still weighs a few hundred KB, polled
// every 2 seconds. Without a bound, the 90 KB arguments of issue 24 (5,000 nested arrays)
// were indented into a 450 MB page that took 10 s and 3.4 GB of memory.
const blockBudget = 64 << 10

// indentMaxDepth is the deepest level pretty-printing indents; deeper levels are printed
// compact. Indentation costs two bytes per level on every line, so without this cap a value
// nesting thousands of levels becomes thousands of times its size; with it, at most 64 bytes
// of indent per line.
const indentMaxDepth = 32

// jsonBlock shows stored JSON indented for reading, and anything else as it is; either cut to
// blockBudget, with rawURL for the whole.
func jsonBlock(raw, rawURL string) components.Block {
	w := pageText{room: blockBudget}
	return w.json(raw, rawURL)
}

// textBlock shows text as it is, cut to blockBudget, with rawURL for the whole.
func textBlock(s, rawURL string) components.Block {
	w := pageText{room: blockBudget}
	return w.text(s, rawURL)
}

// pageText collects text for a page, up to room bytes as the page will hold them: a character
// HTML escapes (& < > " ') counts as its escape's 5 bytes. It never holds more than room. One
// pageText can fill several blocks that share its room: the errors of a job's history.
type pageText struct {
	buf  []byte
	room int
	full bool // a write did not fit: what follows is not shown
}

// json is jsonBlock within w's room.
func (w *pageText) json(raw, rawURL string) components.Block {
	if raw == "" || !json.Valid([]byte(raw)) {
		return w.text(raw, rawURL)
	}
	return w.block(w.indentJSON(raw), len(raw), rawURL)
}

// text is textBlock within w's room.
func (w *pageText) text(s, rawURL string) components.Block {
	return w.block(w.write(s), len(s), rawURL)
}

// reserve takes n bytes of w's room for what the page adds around its text; when they don't
// fit, it reports false and w is full.
func (w *pageText) reserve(n int) bool {
	if w.full || n > w.room {
		w.full = true
		return false
	}
	w.room -= n
	return true
}

// fits reports whether s fits w's room whole, as the page will hold it.
func (w *pageText) fits(s string) bool {
	n := 0
	for i := 0; i < len(s) && n <= w.room; i++ {
		n += escapedLen(s[i])
	}
	return !w.full && n <= w.room
}

// escapedLen is the bytes c takes on the page: templ escapes these five.
func escapedLen(c byte) int {
	switch c {
	case '&', '<', '>', '"', '\'':
		return 5
	}
	return 1
}

// write adds as much of s as fits and returns how many of its bytes did.
func (w *pageText) write(s string) int {
	for i := 0; i < len(s); i++ {
		if !w.writeByte(s[i]) {
			return i
		}
	}
	return len(s)
}

func (w *pageText) writeByte(c byte) bool {
	if w.full {
		return false
	}
	if n := escapedLen(c); n <= w.room {
		w.room -= n
		w.buf = append(w.buf, c)
		return true
	}
	w.full = true
	return false
}

// newline starts a line indented for level, unless level is past indentMaxDepth.
func (w *pageText) newline(level int) {
	if level > indentMaxDepth {
		return
	}
	w.writeByte('\n')
	for range level {
		w.writeByte(' ')
		w.writeByte(' ')
	}
}

// block takes what was written since the last block, as shown: shown of total bytes of the
// value, cut at a character's boundary.
func (w *pageText) block(shown, total int, rawURL string) components.Block {
	text := w.buf
	w.buf = w.buf[:0]
	if !w.full {
		return components.Block{Text: string(text)}
	}
	for i := 0; i < utf8.UTFMax && len(text) > 0; i++ { // drop a character cut in two
		if r, size := utf8.DecodeLastRune(text); r != utf8.RuneError || size > 1 {
			break
		}
		text = text[:len(text)-1]
	}
	return components.Block{Text: string(text), Cut: &components.Cut{Shown: shown, Total: total, RawURL: rawURL}}
}

// indentJSON writes the valid JSON src to w as json.Indent does with two spaces, levels past
// indentMaxDepth compact, and stops as soon as w is full: it never builds more than w holds,
// where json.Indent builds the whole indented text first. It returns how many bytes of src
// were written.
func (w *pageText) indentJSON(src string) int {
	done := 0
	level, open := 0, false // open: a '{' or '[' was just written, its first line not started
	for i := 0; i < len(src) && !w.full; i++ {
		c := src[i]
		if open && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '}' && c != ']' {
			w.newline(level)
			open = false
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end := i + 1
			for end < len(src) && src[end] != '"' {
				if src[end] == '\\' {
					end++ // the escaped character can't end the string
				}
				end++
			}
			if n := w.write(src[i:min(end+1, len(src))]); w.full {
				return i + n
			}
			i = end
		case '{', '[':
			w.writeByte(c)
			level, open = level+1, true
		case '}', ']':
			if !open && level <= indentMaxDepth {
				w.newline(level - 1)
			}
			level, open = level-1, false
			w.writeByte(c)
		case ',':
			w.writeByte(c)
			w.newline(level)
		case ':':
			w.writeByte(c)
			if level <= indentMaxDepth {
				w.writeByte(' ')
			}
		default:
			w.writeByte(c)
		}
		if !w.full {
			done = i + 1
		}
	}
	return done
}
