package web

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"testing"
)

// stripSpace drops the whitespace outside strings of JSON text: what indenting adds.
func stripSpace(s string) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case inString && c == '"', !inString && c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// checkIndent holds indentJSON to what it promises for src and a room of room bytes.
func checkIndent(t *testing.T, src string, room int) {
	t.Helper()
	if !json.Valid([]byte(src)) {
		return
	}
	w := pageText{room: room}
	shown := w.indentJSON(src)
	out := string(w.buf)
	if got := len(html.EscapeString(out)); got > room {
		t.Fatalf("%q: %d bytes on the page, more than %d", src, got, room)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(src)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(compact.String(), stripSpace(out)) {
		t.Fatalf("%q: wrote %q, which is not the value", src, out)
	}
	if w.full {
		if shown > len(src) {
			t.Fatalf("%q: says %d bytes were shown", src, shown)
		}
		// What was written is what it says was shown, but for a ',' or ':' written whose
		// line break or space did not fit: not counted, as the value goes on after it.
		so, ss := stripSpace(out), stripSpace(src[:shown])
		if !strings.HasPrefix(so, ss) || len(so)-len(ss) > 1 {
			t.Fatalf("%q: wrote %q, yet says %d bytes (%q) were shown", src, out, shown, src[:shown])
		}
		return
	}
	if shown != len(src) || stripSpace(out) != compact.String() {
		t.Fatalf("%q: not cut, yet %q is not all of it", src, out)
	}
	if depth := strings.Count(compact.String(), "[") + strings.Count(compact.String(), "{"); depth <= indentMaxDepth {
		var want bytes.Buffer
		_ = json.Indent(&want, []byte(src), "", "  ")
		if got := strings.TrimRight(want.String(), " \t\r\n"); out != got {
			t.Fatalf("%q: indented as\n%s\nnot as json.Indent does:\n%s", src, out, got)
		}
	}
}

func TestIndentJSON(t *testing.T) {
	for _, src := range []string{
		`{"a":1,"b":[true,null,"x"],"c":{}}`, `[ ]`, ` {"k" : "v\"]}" , "e":[[],{}]} `, `"<&>"`, `12`,
		`{"é":"日本","s":"\u00e9\\"}`, strings.Repeat("[", 40) + "1,2" + strings.Repeat("]", 40),
		`["a string cut in its middle by the room"]`,
	} {
		for _, room := range []int{1 << 20, 37, 5, 0} {
			checkIndent(t, src, room)
		}
	}
	w := pageText{room: 1 << 20}
	w.indentJSON(strings.Repeat("[", 34) + "1,2" + strings.Repeat("]", 34))
	if want := strings.Repeat(" ", 64) + "[[1,2]]"; !strings.Contains(string(w.buf), "\n"+want+"\n") {
		t.Fatalf("levels past %d are not compact:\n%s", indentMaxDepth, w.buf)
	}
}

// The probe of issue 24: 5,000 nested arrays around 40,000 zeros, 90 KB that json.Indent makes
// 450 MB of. The block holds at most blockBudget bytes and says how much of the value it shows.
func TestJSONBlockOfDeepNesting(t *testing.T) {
	raw := strings.Repeat("[", 5000) + strings.TrimSuffix(strings.Repeat("0,", 40_000), ",") + strings.Repeat("]", 5000)
	b := jsonBlock(raw, "/raw")
	if len(b.Text) > blockBudget || b.Cut == nil || b.Cut.Total != len(raw) || b.Cut.RawURL != "/raw" {
		t.Fatalf("%d bytes, cut %+v", len(b.Text), b.Cut)
	}
	if b.Cut.Shown < 5000 || b.Cut.Shown >= len(raw) {
		t.Fatalf("says %d bytes were shown", b.Cut.Shown)
	}
	if b := textBlock(strings.Repeat("é", blockBudget), "/raw"); len(b.Text) > blockBudget || !json.Valid([]byte(`"`+b.Text+`"`)) {
		t.Fatal("a text block is cut between characters, or past the budget")
	}
	if b := jsonBlock(`{"a": 1}`, "/raw"); b.Cut != nil || b.Text != "{\n  \"a\": 1\n}" {
		t.Fatalf("%+v", b)
	}
	if b := jsonBlock(`not json`, "/raw"); b.Cut != nil || b.Text != "not json" {
		t.Fatalf("%+v", b)
	}
}

// FuzzIndentJSON: on any valid JSON and room, indentJSON keeps to the room as the page
// escapes it, writes a prefix of the value, and, when not cut, all of it as json.Indent would
// (levels past indentMaxDepth aside).
func FuzzIndentJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}],"c":"x\"y"}`, `[]`, `[[[[[0]]]]]`, `"\u2028<>&'"`, `{"":{"":[{}]}}`, `  3.5e9  `} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, src string, room int) {
		if room < 0 || room > 1<<20 {
			return
		}
		checkIndent(t, src, room)
		checkIndent(t, src, 1<<20)
	})
}

func TestTruncateRunes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"héllo", 5, "héllo"}, {"héllo!", 5, "héll…"}, {"", 3, ""}, {"ab", 1, "…"}, {"日本語", 3, "日本語"}} {
		if got := truncateRunes(tc.s, tc.n); got != tc.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
