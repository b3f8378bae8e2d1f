package web

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// The API's secrets: the values http.request and exec jobs refer to as ${secret:NAME}. Admin
// tokens only, even to list them; a value goes in and never comes out.

// SecretNameInput names a secret.
type SecretNameInput struct {
	Name string `path:"name" maxLength:"64" doc:"1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"`
}

// SecretPutInput is a secret's new value.
type SecretPutInput struct {
	Name string `path:"name" maxLength:"64" doc:"1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"`
	Body api.SecretValue
}

// SecretOutput is one secret, without its value.
type SecretOutput struct {
	Status int
	Body   api.Secret
}

// SecretListOutput lists the secrets.
type SecretListOutput struct {
	Body api.SecretList
}

func (s *Server) registerSecretAPI(hapi huma.API) {
	// Every operation here is a 404 on a server that keeps no secrets (vault).
	register(hapi, authz.SecretsManage, huma.Operation{OperationID: "list-secrets", Method: http.MethodGet, Path: "/v1/secrets", Summary: "List secrets (names only)",
		Tags: []string{tagSecrets}, Description: "Their names and when they last changed; never their values.",
		Errors: append(codeStatuses(models.ENOTFOUND), http.StatusForbidden)}, s.apiListSecrets)
	register(hapi, authz.SecretsManage, huma.Operation{OperationID: "put-secret", Method: http.MethodPut, Path: "/v1/secrets/{name}", Summary: "Save a secret",
		DefaultStatus: http.StatusCreated, Metadata: map[string]any{secretBody: true}, Tags: []string{tagSecrets}, Responses: okToo[api.Secret](hapi, "The secret's value was replaced"),
		Description: "Creates the secret (201) or replaces its value (200). The value is never shown again.",
		Errors:      codeStatuses(models.ENOTFOUND)}, s.apiPutSecret)
	register(hapi, authz.SecretsManage, huma.Operation{OperationID: "delete-secret", Method: http.MethodDelete, Path: "/v1/secrets/{name}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a secret", Tags: []string{tagSecrets}, Description: "Jobs that refer to it fail when they run, until it is saved again.",
		Errors: codeStatuses(models.ENOTFOUND)}, s.apiDeleteSecret)
}

// secretBody marks, in an operation's Metadata, a request body that holds a secret's value.
const secretBody = "kiln.secretBody"

// secretBodyFields are the fields of a secret's body (api.SecretValue), which its errors may name.
var secretBodyFields = []string{"value"}

// jsonSyntaxChar is the character a JSON syntax error quotes from the body: invalid character 'x'.
var jsonSyntaxChar = regexp.MustCompile(`invalid character '(?:\\'|[^'])*'`)

// hideSecretBody keeps the body of an operation marked secretBody out of its errors. huma puts
// what it refused in each error's value: the whole body when it can't be read (a wrong content
// type, JSON that doesn't parse), the object or field that breaks the schema otherwise. A
// JSON syntax error also quotes one character of the body. One transformer for every such
// operation, whatever the error, rather than a check in each handler.
func hideSecretBody(ctx huma.Context, _ string, v any) (any, error) {
	problem, ok := v.(*huma.ErrorModel)
	if op := ctx.Operation(); !ok || op == nil || op.Metadata[secretBody] != true {
		return v, nil
	}
	for _, d := range problem.Errors {
		if d != nil {
			d.Value = nil
			d.Message = jsonSyntaxChar.ReplaceAllString(d.Message, "invalid character")
			// An unexpected property is named in the location, and its name may be the value
			// itself ({"<value>": ...}): only the schema's own fields are named.
			if strings.HasPrefix(d.Location, "body.") && !slices.Contains(secretBodyFields, strings.TrimPrefix(d.Location, "body.")) {
				d.Location = "body"
			}
		}
	}
	return v, nil
}

func (s *Server) apiVault(ctx context.Context) (SecretVault, error) {
	v, err := s.vault()
	if err != nil {
		return nil, s.apiErr(err)
	}
	return v, nil
}

func secretOut(r models.SecretRow) api.Secret {
	return api.Secret{Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), UpdatedBy: r.UpdatedBy}
}

func (s *Server) apiListSecrets(ctx context.Context, _ *struct{}) (*SecretListOutput, error) {
	v, err := s.apiVault(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := v.List(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &SecretListOutput{Body: api.SecretList{Secrets: make([]api.Secret, 0, len(rows))}}
	for _, r := range rows {
		out.Body.Secrets = append(out.Body.Secrets, secretOut(r))
	}
	return out, nil
}

func (s *Server) apiPutSecret(ctx context.Context, in *SecretPutInput) (*SecretOutput, error) {
	v, err := s.apiVault(ctx)
	if err != nil {
		return nil, err
	}
	who := apiUser(ctx).Username
	created, err := v.Set(ctx, in.Name, in.Body.Value, who)
	if models.ErrorCode(err) == models.EINVALID {
		fields := models.FieldErrors(err)
		if msg, ok := fields["name"]; ok { // the name is the path's, not the body's
			return nil, huma.Error422UnprocessableEntity(models.ErrorMessage(err), &huma.ErrorDetail{Location: "path.name", Message: msg})
		}
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	s.log.Info("api: secret saved", "name", in.Name, "created", created, "user", who) // never the value
	rows, err := v.List(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &SecretOutput{Status: http.StatusOK}
	if created {
		out.Status = http.StatusCreated
	}
	for _, r := range rows {
		if r.Name == in.Name {
			out.Body = secretOut(r)
		}
	}
	return out, nil
}

func (s *Server) apiDeleteSecret(ctx context.Context, in *SecretNameInput) (*struct{}, error) {
	v, err := s.apiVault(ctx)
	if err != nil {
		return nil, err
	}
	if err := v.Delete(ctx, in.Name); err != nil {
		return nil, s.apiErr(err)
	}
	s.log.Info("api: secret deleted", "name", in.Name, "user", apiUser(ctx).Username)
	return nil, nil
}
