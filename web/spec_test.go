package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The API's responses must be what /api/openapi.json says. Every call apiCall makes is checked
// against the document: the operation exists, the status is one it declares (a 4xx by its
// number, not as the default answer), and the body fits the declared schema (types, required
// fields, enums, and no field the schema doesn't list).

type spec struct {
	doc    map[string]any
	routes []specRoute
}

type specRoute struct {
	re     *regexp.Regexp
	path   string
	item   map[string]any
	params int
}

func (a *app) spec() *spec {
	a.t.Helper()
	if a.openapi != nil {
		return a.openapi
	}
	resp, err := a.client.Get(a.server.URL + "/api/openapi.json")
	require.NoError(a.t, err)
	defer resp.Body.Close()
	var doc map[string]any
	require.NoError(a.t, json.NewDecoder(resp.Body).Decode(&doc))
	s := &spec{doc: doc}
	for p, item := range doc["paths"].(map[string]any) {
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				segs[i] = `[^/]+`
			} else {
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		s.routes = append(s.routes, specRoute{re: regexp.MustCompile("^/api" + strings.Join(segs, "/") + "$"), path: p, item: item.(map[string]any), params: strings.Count(p, "{")})
	}
	// A literal segment beats a parameter, as in the router.
	sort.Slice(s.routes, func(i, j int) bool { return s.routes[i].params < s.routes[j].params })
	a.openapi = s
	return s
}

// checkSpec fails the test when a response doesn't match the document.
func (a *app) checkSpec(method, url string, status int, contentType string, body any) {
	a.t.Helper()
	path := strings.SplitN(url, "?", 2)[0]
	if !strings.HasPrefix(path, "/api/v1/") {
		return
	}
	s := a.spec()
	for _, r := range s.routes {
		if !r.re.MatchString(path) {
			continue
		}
		op, ok := r.item[strings.ToLower(method)].(map[string]any)
		if !ok {
			continue
		}
		responses := op["responses"].(map[string]any)
		resp, ok := responses[strconv.Itoa(status)].(map[string]any)
		if !ok && status >= http.StatusInternalServerError { // a 4xx is the client's to handle: it must be named
			resp, ok = responses["default"].(map[string]any)
		}
		require.True(a.t, ok, "%s %s answered %d, which the document doesn't declare for %s", method, url, status, r.path)
		content, _ := resp["content"].(map[string]any)
		if body == nil {
			return
		}
		media, ok := content[contentType].(map[string]any)
		require.True(a.t, ok, "%s %s answered %d as %s, not declared", method, url, status, contentType)
		if errs := s.validate(media["schema"].(map[string]any), body, "body"); len(errs) > 0 {
			a.t.Fatalf("%s %s answered %d off its schema:\n%s", method, url, status, strings.Join(errs, "\n"))
		}
		return
	}
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		a.t.Fatalf("%s %s answered %d but no operation of the document matches", method, url, status)
	}
}

func (s *spec) resolve(schema map[string]any) map[string]any {
	for {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return schema
		}
		name := ref[strings.LastIndex(ref, "/")+1:]
		schema = s.doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
}

// validate checks v against schema: the subset of JSON Schema huma writes.
func (s *spec) validate(schema map[string]any, v any, at string) []string {
	schema = s.resolve(schema)
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	types := map[string]bool{}
	switch t := schema["type"].(type) {
	case string:
		types[t] = true
	case []any:
		for _, x := range t {
			types[x.(string)] = true
		}
	}
	if v == nil {
		if len(types) > 0 && !types["null"] && schema["nullable"] != true {
			bad("null where %v is required", schema["type"])
		}
		return errs
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			bad("%v is not one of %v", v, enum)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if len(types) > 0 && !types["object"] {
			bad("an object where %v is required", schema["type"])
			return errs
		}
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := x[r]; !ok {
				bad("required %q is missing", r)
			}
		}
		for k, fv := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					bad("%q is not in the schema", k)
				}
				continue
			}
			errs = append(errs, s.validate(p, fv, at+"."+k)...)
		}
	case []any:
		if len(types) > 0 && !types["array"] {
			bad("an array where %v is required", schema["type"])
			return errs
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, s.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		if len(types) > 0 && !types["string"] {
			bad("a string where %v is required", schema["type"])
		}
	case float64:
		if len(types) > 0 && !types["number"] && !(types["integer"] && x == float64(int64(x))) {
			bad("a number where %v is required", schema["type"])
		}
	case bool:
		if len(types) > 0 && !types["boolean"] {
			bad("a boolean where %v is required", schema["type"])
		}
	}
	return errs
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

// Every operation in the document is exercised by the API tests, and so checked against it.
func TestSpecCoversEveryOperation(t *testing.T) {
	a := setup(t)
	s := a.spec()
	var ops []string
	for _, r := range s.routes {
		for method := range r.item {
			ops = append(ops, strings.ToUpper(method)+" "+r.path)
		}
	}
	sort.Strings(ops)
	require.Len(t, ops, 48, "a new operation needs a test in api_test.go (or kinds_test.go, api_channels_test.go, api_alerts_test.go, api_rules_test.go, audit_read_test.go, api_workflows_test.go): %v", ops)
}

// The checker itself catches what drift looks like.
func TestSpecCheckerCatchesDrift(t *testing.T) {
	a := setup(t)
	s := a.spec()
	job := map[string]any{"$ref": "#/components/schemas/Job"}
	good := map[string]any{"id": 1.0, "kind": "k", "queue": "q", "state": "enqueued", "priority": 0.0, "args": map[string]any{},
		"attempt": 0.0, "max_attempts": 10.0, "run_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "progress": 0.0, "rescues": 0.0}
	require.Empty(t, s.validate(job, good, "body"))
	for name, mutate := range map[string]func(m map[string]any){
		"an unknown field":   func(m map[string]any) { m["colour"] = "red" },
		"a missing field":    func(m map[string]any) { delete(m, "kind") },
		"a wrong type":       func(m map[string]any) { m["attempt"] = "one" },
		"a value off enum":   func(m map[string]any) { m["state"] = "lost" },
		"a fraction for int": func(m map[string]any) { m["priority"] = 0.5 },
	} {
		bad := map[string]any{}
		for k, v := range good {
			bad[k] = v
		}
		mutate(bad)
		require.NotEmpty(t, s.validate(job, bad, "body"), name)
	}
}
