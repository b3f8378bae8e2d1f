package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A workflow's step passes values to the steps after it through templates in their arguments:
//   - ${steps.NAME.result} is the result of NAME, a step it depends on (for a fan-out, the list
//     of its items' results, in their order), and ${steps.NAME.result.a.b.0} a value in it;
//   - ${item} is the item of a fan-out's job, and ${item.a.b} a value in it.
//
// A template that is a whole string is replaced by the value, whatever its type (a number
// stays a number, a list a list); one inside a longer string by its text (a string as it is,
// anything else as JSON). A path goes into a string that holds a JSON object or list as into
// that object or list: an http.request's result keeps its response's body as a string. And
// ${secret:NAME} is the secrets' business, not this.

// templateRE finds what looks like a template of steps or items; parseTemplate says whether it
// is a good one.
var templateRE = regexp.MustCompile(`\$\{(steps\.[^}]*|item(?:\.[^}]*)?)\}`)

// stepRefRE parses a template of a step's result: its name (which may hold dots: the shortest
// that is followed by .result) and the path in its result.
var stepRefRE = regexp.MustCompile(`^steps\.([A-Za-z0-9._-]{1,100}?)\.result((?:\.[A-Za-z0-9_-]+)*)$`)

// itemRefRE parses a template of a fan-out's item.
var itemRefRE = regexp.MustCompile(`^item((?:\.[A-Za-z0-9_-]+)*)$`)

// tmplRef is one template: a step's result (Step set) or the item (Step empty), and the path
// of the value in it.
type tmplRef struct {
	Text string // as written, ${...}
	Step string
	Path []string
}

// parseTemplate parses the inside of ${...}.
func parseTemplate(inner string) (tmplRef, error) {
	ref := tmplRef{Text: "${" + inner + "}"}
	var path string
	if m := stepRefRE.FindStringSubmatch(inner); m != nil {
		ref.Step, path = m[1], m[2]
	} else if m := itemRefRE.FindStringSubmatch(inner); m != nil {
		path = m[1]
	} else {
		return ref, fmt.Errorf("%s is not a template: use ${steps.NAME.result}, ${steps.NAME.result.PATH}, ${item} or ${item.PATH} (a PATH is keys and list indexes joined by dots)", ref.Text)
	}
	if path != "" {
		ref.Path = strings.Split(path[1:], ".")
	}
	return ref, nil
}

// templatesIn returns the templates in s (JSON text, or any string), or the first bad one's
// error.
func templatesIn(s string) ([]tmplRef, error) {
	if !strings.Contains(s, "${") {
		return nil, nil
	}
	var refs []tmplRef
	for _, m := range templateRE.FindAllStringSubmatch(s, -1) {
		ref, err := parseTemplate(m[1])
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// HasTemplates reports whether args (JSON) use a step's result or a fan-out's item: such
// arguments are whole only when the step is released, so they are checked then.
func HasTemplates(args string) bool {
	return strings.Contains(args, "${") && templateRE.MatchString(args)
}

// valueAt is the value at path in v (decoded JSON), or an error saying where it is missing;
// what names what v is ("dump's result", "the item").
func valueAt(v any, path []string, what string) (any, error) {
	for i, key := range path {
		at := what
		if i > 0 {
			at += "." + strings.Join(path[:i], ".")
		}
		if str, ok := v.(string); ok { // a string of JSON, such as an http.request's body: its inside
			if inner, err := decodeJSON(str); err == nil {
				switch inner.(type) {
				case map[string]any, []any:
					v = inner
				}
			}
		}
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[key]
			if !ok {
				return nil, fmt.Errorf("%s has no %q", at, key)
			}
			v = next
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || n >= len(x) {
				return nil, fmt.Errorf("%s is a list of %d, with no item %q", at, len(x), key)
			}
			v = x[n]
		case nil:
			return nil, fmt.Errorf("%s is empty (null), with no %q", at, key)
		default:
			return nil, fmt.Errorf("%s is a %s, with no %q", at, jsonType(x), key)
		}
	}
	return v, nil
}

// jsonType names the JSON type of v, for messages.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return "null"
}

// decodeJSON decodes s keeping numbers as written.
func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// templateValues gives the value of a template: a step's result, or the item.
type templateValues func(ref tmplRef) (any, error)

// fillTemplates replaces, in args (JSON), each template for which has says true by its value:
// a whole string by the value, a template inside a string by its text. Other templates stay.
func fillTemplates(args string, has func(tmplRef) bool, values templateValues) (string, error) {
	if !strings.Contains(args, "${") {
		return args, nil
	}
	v, err := decodeJSON(args)
	if err != nil {
		return "", fmt.Errorf("the arguments are not JSON: %w", err)
	}
	v, err = fillValue(v, has, values)
	if err != nil {
		return "", err
	}
	return encodeJSON(v)
}

func fillValue(v any, has func(tmplRef) bool, values templateValues) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f, err := fillValue(e, has, values)
			if err != nil {
				return nil, err
			}
			x[k] = f
		}
	case []any:
		for i, e := range x {
			f, err := fillValue(e, has, values)
			if err != nil {
				return nil, err
			}
			x[i] = f
		}
	case string:
		return fillString(x, has, values)
	}
	return v, nil
}

// fillString fills the templates of one string.
func fillString(s string, has func(tmplRef) bool, values templateValues) (any, error) {
	locs := templateRE.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return s, nil
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		ref, err := parseTemplate(s[l[2]:l[3]])
		if err != nil {
			return nil, err
		}
		if !has(ref) {
			continue
		}
		val, err := values(ref)
		if err != nil {
			return nil, err
		}
		if l[0] == 0 && l[1] == len(s) { // the whole string: the value, of its own type
			return val, nil
		}
		b.WriteString(s[last:l[0]])
		if str, ok := val.(string); ok {
			b.WriteString(str)
		} else {
			t, err := json.Marshal(val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref.Text, err)
			}
			b.Write(t)
		}
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// deepCopy copies decoded JSON, for fillValue to fill in place.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// encodeJSON writes v as compact JSON, leaving <, > and & as they are.
func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode the arguments: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
