package web_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// The API's document is linted here as outside tools lint it (Redocly's and Spectral's
// recommended rules found 29 operations without a 4xx answer, 29 undefined tags, 15 operations
// without a description, no contact). kin-openapi validates it: a reader that is not huma, the
// library that writes it. Then the rules those tools applied, so a new operation can't bring
// their warnings back. Checked by hand with: npx @redocly/cli lint openapi.json.

// openAPIPaths are the document's two versions: huma serves a 3.0 copy for older tools.
var openAPIPaths = []string{"/api/openapi.json", "/api/openapi-3.0.json"}

// loadOpenAPI fetches and parses the document at path.
func (a *app) loadOpenAPI(path string) *openapi3.T {
	a.t.Helper()
	resp, err := a.client.Get(a.server.URL + path)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(a.t, err, path)
	return doc
}

// repoHasLicence reports whether the repository has a LICENSE file at its root.
func repoHasLicence(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat("../LICENSE")
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	require.NoError(t, err)
	return true
}

// lintOpenAPI lists what breaks the rules: every operation has a description, at least one 4xx
// answer and only tags the document defines; each defined tag has a description and is used;
// the info names a contact, and a licence exactly when the repository has one (a document
// must not claim a licence the project never chose).
func lintOpenAPI(doc *openapi3.T, hasLicence bool) []string {
	var problems []string
	used := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if strings.TrimSpace(op.Description) == "" {
				problems = append(problems, at+": no description")
			}
			has4xx := false
			for code := range op.Responses.Map() {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			if !has4xx {
				problems = append(problems, at+": no 4xx response")
			}
			for _, tag := range op.Tags {
				used[tag] = true
				if doc.Tags.Get(tag) == nil {
					problems = append(problems, at+": tag "+tag+" is not defined at the top level")
				}
			}
		}
	}
	for _, tag := range doc.Tags {
		if strings.TrimSpace(tag.Description) == "" {
			problems = append(problems, "tag "+tag.Name+": no description")
		}
		if !used[tag.Name] {
			problems = append(problems, "tag "+tag.Name+": no operation has it")
		}
	}
	if c := doc.Info.Contact; c == nil || (c.URL == "" && c.Email == "") {
		problems = append(problems, "info: no contact URL or email")
	}
	switch l := doc.Info.License; {
	case hasLicence && (l == nil || l.Name == ""):
		problems = append(problems, "info: no licence, though the repository has a LICENSE")
	case !hasLicence && l != nil:
		problems = append(problems, "info: a licence ("+l.Name+"), though the repository has no LICENSE")
	}
	slices.Sort(problems)
	return problems
}

func TestOpenAPIDocumentLintsClean(t *testing.T) {
	a := setup(t)
	for _, path := range openAPIPaths {
		doc := a.loadOpenAPI(path)
		require.NoError(t, doc.Validate(context.Background(), openapi3.EnableMultiError()), path)
		require.Empty(t, lintOpenAPI(doc, repoHasLicence(t)), path)
	}
}

// The lint catches each thing it is for, on the real document broken one way at a time.
func TestOpenAPILintCatchesEachRule(t *testing.T) {
	a := setup(t)
	hasLicence := repoHasLicence(t)
	require.Empty(t, lintOpenAPI(a.loadOpenAPI(openAPIPaths[0]), hasLicence))
	anOp := func(doc *openapi3.T) *openapi3.Operation { return doc.Paths.Find("/v1/jobs").Get }
	for name, breakIt := range map[string]func(doc *openapi3.T){
		"no description": func(doc *openapi3.T) { anOp(doc).Description = "" },
		"no 4xx": func(doc *openapi3.T) {
			for code := range anOp(doc).Responses.Map() {
				if strings.HasPrefix(code, "4") {
					anOp(doc).Responses.Delete(code)
				}
			}
		},
		"an undefined tag":    func(doc *openapi3.T) { anOp(doc).Tags = append(anOp(doc).Tags, "Misc") },
		"a tag not described": func(doc *openapi3.T) { doc.Tags[0].Description = "" },
		"a tag no one uses":   func(doc *openapi3.T) { doc.Tags = append(doc.Tags, &openapi3.Tag{Name: "Unused", Description: "x"}) },
		"no contact":          func(doc *openapi3.T) { doc.Info.Contact = nil },
		"the licence is wrong": func(doc *openapi3.T) {
			doc.Info.License = map[bool]*openapi3.License{true: nil, false: {Name: "MIT"}}[hasLicence]
		},
	} {
		doc := a.loadOpenAPI(openAPIPaths[0])
		breakIt(doc)
		require.NotEmpty(t, lintOpenAPI(doc, hasLicence), name)
	}
}
