package models

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NameRule is what one kind of name may be: a job's kind, a queue's name, a tag, a recurring
// job's name; and, more loosely, what a key a caller gives may be (UniqueKeyText). Every path
// that takes such a name (the engine, the store, the API, the forms, the command line through
// the API) checks it with the rule's Check, so they refuse the same names with the same words.
type NameRule struct {
	// Field is the form and JSON field the name comes in, as errors name it.
	Field string
	// What names it in messages: "A kind".
	What string
	// Shape says what the name may be, after What: "is 1 to 100 characters of text".
	Shape string
	// Max bounds it, in characters: as its message says, as the API's maxLength and
	// PostgreSQL's varchar(n) count.
	Max int
	// refuse reports characters the name may not hold besides those no name holds (Check).
	refuse func(r rune) bool
	// key makes the rule one for a key rather than a name: any space, and "." and "..", are
	// fine in a key.
	key bool
	// pattern, when set, is the whole of what the name may be.
	pattern *regexp.Regexp
}

// The names Kiln keeps. Each refuses what shows one thing on a page or in a log and is
// another: control characters (a line break, a tab), Unicode line and paragraph separators,
// format characters (invisible ones such as U+200B, U+2060 and U+FEFF, and the bidi controls
// such as U+202E, which make text read in another order than it is stored), and spaces other
// than the plain one ("default\u00a0" looks like "default"). And "." and "..", which make a
// link such as /dashboard/queues/../pause lead elsewhere.
var (
	KindName = NameRule{Field: "kind", What: "A kind", Shape: "is 1 to 100 characters of text", Max: jobKindMax}
	// QueueName refuses spaces, commas and '=', which the --queues syntax uses.
	QueueName = NameRule{Field: "queue", What: "A queue's name", Shape: "is 1 to 100 characters without spaces, commas or '='", Max: jobQueueMax,
		refuse: func(r rune) bool { return r == ' ' || r == ',' || r == '=' }}
	// TagName is a tag of a job (MaxTags at most).
	TagName = NameRule{Field: "tags", What: "A tag", Shape: "is 1 to 50 letters, digits, '.', '_', ':' or '-'", Max: 50,
		pattern: regexp.MustCompile(`^[A-Za-z0-9._:-]{1,50}$`)}
	// RecurringName is a recurring job's name.
	RecurringName = NameRule{Field: "name", What: "A recurring job's name", Shape: "is 1 to 200 characters of text", Max: 200}
)

// The keys callers give. They are not names (no page links to one, any space is fine) but
// are shown and compared: a control, format or bidi character in one makes it look like
// another key, or rewrites the line it is shown on.
var (
	// UniqueKeyText is a job's unique key as a caller gives it (jobs.UniqueKey).
	UniqueKeyText = NameRule{Field: "unique_key", What: "A unique key", Shape: "is 1 to 255 characters of text", Max: uniqueKeyMax, key: true}
	// IdempotencyKeyText is an HTTP Idempotency-Key, kept inside a unique key.
	IdempotencyKeyText = NameRule{Field: "Idempotency-Key", What: "An Idempotency-Key", Shape: "is 1 to 200 characters of text", Max: 200, key: true}
)

// Check returns nil when name fits the rule, else an EINVALID *Error whose Fields name the
// rule's field with what is wrong.
func (r NameRule) Check(name string) error {
	var msg string
	if bad, ok := r.hiddenRune(name); ok {
		msg = fmt.Sprintf("%s may not hold %s: %q holds %U.", r.What, describeHidden(bad), name, bad)
	} else if !r.key && (name == "." || name == "..") {
		msg = fmt.Sprintf(`%s may not be "." or "..": in a link, they name the page above.`, r.What)
	} else if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > r.Max || !storableText(name) ||
		(r.refuse != nil && strings.ContainsFunc(name, r.refuse)) || (r.pattern != nil && !r.pattern.MatchString(name)) {
		msg = fmt.Sprintf("%s %s, not %q.", r.What, r.Shape, name)
	}
	if msg == "" {
		return nil
	}
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string{r.Field: msg}}
}

// Valid reports whether name fits the rule.
func (r NameRule) Valid(name string) bool { return r.Check(name) == nil }

// hiddenRune returns the first character of s the rule refuses for not showing as what it is:
// a control or format character, a line or paragraph separator, and in a name (not a key) a
// space other than U+0020.
func (r NameRule) hiddenRune(s string) (rune, bool) {
	for _, c := range s {
		if unicode.IsControl(c) || unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp) || IsBidiControl(c) ||
			(!r.key && c != ' ' && unicode.Is(unicode.Zs, c)) {
			return c, true
		}
	}
	return 0, false
}

// IsBidiControl reports the characters that change the direction text is shown in: the
// Arabic letter mark, the left-to-right and right-to-left marks, the embeddings and overrides
// (U+202A to U+202E) and the isolates (U+2066 to U+2069). All are format characters (Cf); names
// tell them apart for the message, and the CLI escapes them in what it prints.
func IsBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || ('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

func describeHidden(r rune) string {
	switch {
	case r == '\n' || r == '\r' || r == '\u0085' || unicode.In(r, unicode.Zl, unicode.Zp):
		return "line breaks"
	case r == '\t':
		return "tabs"
	case IsBidiControl(r):
		return "bidi controls, which make text read in another order than it is stored"
	case unicode.Is(unicode.Cf, r):
		return "invisible formatting characters (zero-width spaces, joiners, byte order marks)"
	case unicode.Is(unicode.Zs, r):
		return "spaces other than the plain space, which look like it and are not"
	}
	return "control characters"
}

// storableText reports text every dialect stores: valid UTF-8 without NUL (PostgreSQL refuses
// both).
func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
