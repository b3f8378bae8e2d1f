package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/views/pages"
)

// handleAPIDocs renders the API's reference from its OpenAPI document: the same source as
// /api/openapi.json, drawn on Kiln's own page (no third-party script; the CSP stays strict).
func (s *Server) handleAPIDocs(c echo.Context) error {
	doc := s.api.OpenAPI()
	reg := s.api.OpenAPI().Components.Schemas
	v := pages.APIDocsView{Layout: s.layoutProps(c, "API reference", ""), Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	groups := map[string]*pages.APIGroup{}
	var order []string
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths[p]
		for _, mo := range []struct {
			method string
			op     *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"DELETE", item.Delete}} {
			if mo.op == nil {
				continue
			}
			op := pages.APIOp{ID: mo.op.OperationID, Method: mo.method, Path: apiPrefix + p, Summary: mo.op.Summary, Description: mo.op.Description}
			for _, prm := range mo.op.Parameters {
				op.Params = append(op.Params, pages.APIField{Name: prm.Name + " (" + prm.In + ")", Type: schemaType(reg, prm.Schema), Doc: fieldDoc(prm.Description, prm.Schema), Required: prm.Required})
			}
			if rb := mo.op.RequestBody; rb != nil {
				if mt := rb.Content["application/json"]; mt != nil {
					op.Body = schemaFields(reg, mt.Schema)
				}
			}
			codes := make([]string, 0, len(mo.op.Responses))
			for code := range mo.op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				r := mo.op.Responses[code]
				resp := pages.APIResponse{Status: code, Doc: r.Description}
				if mt := r.Content["application/json"]; mt != nil {
					resp.Fields = schemaFields(reg, mt.Schema)
				}
				op.Responses = append(op.Responses, resp)
			}
			tag := "Other"
			if len(mo.op.Tags) > 0 {
				tag = mo.op.Tags[0]
			}
			if groups[tag] == nil {
				groups[tag] = &pages.APIGroup{Tag: tag}
				order = append(order, tag)
			}
			groups[tag].Ops = append(groups[tag].Ops, op)
		}
	}
	sort.Strings(order)
	for _, t := range order {
		v.Groups = append(v.Groups, *groups[t])
	}
	return render(c, http.StatusOK, pages.APIDocsPage(v))
}

// resolve follows a $ref to its schema.
func resolve(reg huma.Registry, s *huma.Schema) *huma.Schema {
	for s != nil && s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	return s
}

// schemaFields lists an object schema's properties.
func schemaFields(reg huma.Registry, s *huma.Schema) []pages.APIField {
	s = resolve(reg, s)
	if s == nil || len(s.Properties) == 0 {
		return nil
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		if n != "$schema" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]pages.APIField, 0, len(names))
	for _, n := range names {
		p := s.Properties[n]
		out = append(out, pages.APIField{Name: n, Type: schemaType(reg, p), Doc: fieldDoc(resolve(reg, p).Description, p), Required: required[n]})
	}
	return out
}

// schemaType names a schema's type for people: "string (date-time)", "array of Job", "any".
func schemaType(reg huma.Registry, s *huma.Schema) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	}
	switch {
	case s.Type == "":
		return "any JSON"
	case s.Type == huma.TypeArray && s.Items != nil:
		return "array of " + schemaType(reg, s.Items)
	case s.Format != "":
		return s.Type + " (" + s.Format + ")"
	}
	return s.Type
}

// fieldDoc is a field's description, with its allowed values and bounds.
func fieldDoc(doc string, s *huma.Schema) string {
	if s == nil {
		return doc
	}
	var extra []string
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, e := range s.Enum {
			if str, ok := e.(string); ok {
				vals = append(vals, str)
			}
		}
		extra = append(extra, "one of "+strings.Join(vals, ", "))
	}
	if s.Default != nil {
		extra = append(extra, fmt.Sprint("default ", s.Default))
	}
	if s.Minimum != nil && s.Maximum != nil {
		extra = append(extra, fmt.Sprintf("%v to %v", *s.Minimum, *s.Maximum))
	}
	if len(extra) > 0 {
		if doc != "" {
			doc += " "
		}
		doc += "(" + strings.Join(extra, "; ") + ")"
	}
	return doc
}
