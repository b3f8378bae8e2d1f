package web

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/pages"
)

// A new job from the API or a form must be of a kind some server registers (the engine's
// KnownKinds): a kind nobody works would be accepted, then fail for good when a worker met it.
// Its caller may allow an unknown kind instead (allow_unknown_kind in the JSON, the form's box,
// --allow-unknown-kind on the command line), for workers that are not up yet. The engine's own
// Enqueue does not ask: an embedder's producer enqueues kinds its workers' processes register.

// knownKindsShown bounds the kinds a refusal lists.
const knownKindsShown = 50

// checkKind refuses kind (EINVALID, field kind) when no server knows it and allowUnknown is
// off. A kind that is no valid name passes: the engine refuses it, saying why.
func (s *Server) checkKind(ctx context.Context, kind string, allowUnknown bool) error {
	if allowUnknown || models.KindName.Check(kind) != nil {
		return nil
	}
	if ok, err := s.engine.KindKnown(ctx, kind); ok || err != nil {
		return err
	}
	known, err := s.engine.KnownKinds(ctx)
	if err != nil {
		return err
	}
	return unknownKindError(kind, known)
}

// unknownKindError is the refusal of a kind that is not among known: the message names it, the
// known kinds and the way to allow it; the kind field's message, shown next to a form's Kind,
// names the known kinds.
func unknownKindError(kind string, known []string) error {
	days := int(models.KnownKindsWindow / (24 * time.Hour))
	list := "none"
	if len(known) > 0 {
		shown := known[:min(len(known), knownKindsShown)]
		list = strings.Join(shown, ", ")
		if more := len(known) - len(shown); more > 0 {
			list += fmt.Sprintf(" and %d more", more)
		}
	}
	field := fmt.Sprintf("No server has registered this kind in the last %d days, so no worker would run it. Known kinds: %s.", days, list)
	return &models.Error{Code: models.EINVALID,
		Message: fmt.Sprintf("The kind %q is unknown. %s If its workers are not up yet, allow an unknown kind to take it anyway: "+
			"allow_unknown_kind in the JSON, --allow-unknown-kind on the command line.", kind, field),
		Fields: map[string]string{"kind": field},
	}
}

// checkFormKind puts the refusal of the form's kind next to its Kind field; any other failure
// (the database's) is returned.
func (s *Server) checkFormKind(c echo.Context, v *pages.JobFormView) error {
	if v.Errors["kind"] != "" {
		return nil
	}
	err := s.checkKind(c.Request().Context(), v.Kind, v.AllowUnknownKind)
	if models.ErrorCode(err) == models.EINVALID {
		v.Errors["kind"] = models.FieldErrors(err)["kind"]
		return nil
	}
	return err
}
