package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// SecretVault keeps the named secrets jobs refer to as ${secret:NAME} (package secrets' Vault).
type SecretVault interface {
	Set(ctx context.Context, name, value, by string) (created bool, err error)
	List(ctx context.Context) ([]models.SecretRow, error)
	Delete(ctx context.Context, name string) error
}

// keyFromEnv is implemented by a vault that can say where its key comes from.
type keyFromEnv interface{ KeyFromEnv() bool }

// vault returns the configured vault, or an error saying this server keeps no secrets.
func (s *Server) vault() (SecretVault, error) {
	if s.cfg.Secrets == nil {
		return nil, models.Errorf(models.ENOTFOUND, "This server keeps no secrets.")
	}
	return s.cfg.Secrets, nil
}

// handleSecrets lists the secrets with the form that saves one (admins only).
func (s *Server) handleSecrets(c echo.Context) error {
	return s.renderSecrets(c, http.StatusOK, pages.SecretsView{})
}

// handleSecretSave creates or replaces a secret. The value is never echoed back, not even when
// the form comes back with an error.
func (s *Server) handleSecretSave(c echo.Context) error {
	v, err := s.vault()
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	created, err := v.Set(c.Request().Context(), name, c.FormValue("value"), currentUser(c).Username)
	if fields := models.FieldErrors(err); fields != nil {
		return s.renderSecrets(c, http.StatusUnprocessableEntity, pages.SecretsView{Name: name, Errors: fields})
	}
	if err != nil {
		return err
	}
	s.log.Info("web: secret saved", "name", name, "created", created, "user", currentUser(c).Username) // never the value
	msg := "Secret " + name + " saved: jobs that refer to ${secret:" + name + "} get it when they run."
	if !created {
		msg = "Secret " + name + " replaced: jobs get the new value from their next run."
	}
	setFlash(c, "success", msg)
	return redirect(c, "/dashboard/secrets")
}

// handleSecretDelete deletes the named secret.
func (s *Server) handleSecretDelete(c echo.Context) error {
	v, err := s.vault()
	if err != nil {
		return err
	}
	name := c.Param("name")
	if err := v.Delete(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("web: secret deleted", "name", name, "user", currentUser(c).Username)
	setFlash(c, "success", "Secret "+name+" deleted: jobs that refer to it fail until it is saved again.")
	return redirect(c, "/dashboard/secrets")
}

func (s *Server) renderSecrets(c echo.Context, status int, v pages.SecretsView) error {
	vault, err := s.vault()
	if err != nil {
		return err
	}
	rows, err := vault.List(c.Request().Context())
	if err != nil {
		return err
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, pages.SecretRow{Name: r.Name, UpdatedBy: r.UpdatedBy,
			Created: s.moment(c, r.CreatedAt), Updated: s.moment(c, r.UpdatedAt)})
	}
	if k, ok := vault.(keyFromEnv); ok {
		v.KeyFromEnv = k.KeyFromEnv()
	}
	v.Layout, v.CSRF = s.layoutProps(c, "Secrets", layout.SectionJobs), csrfToken(c)
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, status, pages.SecretsPage(v))
}
