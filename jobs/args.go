package jobs

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/kilnhq/kiln/models"
)

// ArgsMaxDepth is how deeply a job's arguments may nest arrays and objects within each other.
// Real arguments nest a few levels; every level costs whatever decodes or shows the value (a
// page indents each one: 5,000 levels turned 90 KB of arguments into a 450 MB page), and
// encoding/json itself stops at 10,000. Enqueue, Schedule, EnqueueMany, ContinueWith,
// EnqueueTx and recurring jobs refuse deeper arguments with an EINVALID error on "args".
const ArgsMaxDepth = 64

// marshalArgs turns a job's arguments into the JSON stored, refusing what can't be stored or
// nests deeper than ArgsMaxDepth.
func marshalArgs(args any) (string, error) {
	var raw []byte
	switch a := args.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		if !json.Valid(a) {
			if nestsDeeper(a, ArgsMaxDepth) { // encoding/json gives up past 10,000 levels: say why
				return "", errArgsTooDeep()
			}
			return "", models.Errorf(models.EINVALID, "job arguments must be valid JSON")
		}
		if !utf8.Valid(a) { // json.Valid passes any byte inside a string but a control character such as NUL
			return "", &models.Error{Code: models.EINVALID, Message: "Job arguments must be UTF-8 text.",
				Fields: map[string]string{"args": "The arguments hold bytes that are not UTF-8 text."}}
		}
		raw = a
	default:
		b, err := json.Marshal(args)
		if err != nil {
			return "", models.Errorf(models.EINVALID, "job arguments can't be stored as JSON: %v", err)
		}
		raw = b
	}
	if nestsDeeper(raw, ArgsMaxDepth) {
		return "", errArgsTooDeep()
	}
	return string(raw), nil
}

func errArgsTooDeep() error {
	msg := fmt.Sprintf("The arguments nest arrays and objects more than %d levels deep; at most %d are taken.", ArgsMaxDepth, ArgsMaxDepth)
	return &models.Error{Code: models.EINVALID, Message: msg, Fields: map[string]string{"args": msg}}
}

// nestsDeeper reports whether the valid JSON in b nests arrays and objects more than limit
// deep. It scans the bytes, counting brackets outside strings, rather than walking a
// json.Decoder's tokens: no recursion a deep value could exhaust, and nothing allocated on
// the enqueue path.
func nestsDeeper(b []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++ // the escaped character can't end the string
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}
