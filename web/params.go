package web

import (
	"net/url"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"
)

// Echo routes on the request's RawPath when Go kept one (the path had an escape Go would not
// have written, such as %2F or %3B) and on the decoded Path otherwise, so a path parameter
// arrives encoded in the first case only. Decoding it once, and only then, gives back the name
// that was linked to: "a/b" from a%2Fb, and "50%off" from 50%25off.

// pathParam is the path parameter name of c, decoded.
func pathParam(c echo.Context, name string) (string, error) {
	return decodePathParam(c.Request().URL.RawPath != "", c.Param(name))
}

func decodePathParam(raw bool, v string) (string, error) {
	if !raw {
		return v, nil
	}
	return url.PathUnescape(v)
}

// decodeAPIParam decodes a path parameter of an API request in place (for the inputs'
// Resolve methods, which huma calls once the request is parsed).
func decodeAPIParam(ctx huma.Context, v *string, location string) []error {
	u := ctx.URL()
	d, err := decodePathParam(u.RawPath != "", *v)
	if err != nil {
		return []error{&huma.ErrorDetail{Location: location, Message: "not percent-encoded correctly", Value: *v}}
	}
	*v = d
	return nil
}

// Resolve decodes the recurring job's name.
func (in *RecurringNameInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Name, "path.name")
}

// Resolve decodes the recurring job's name.
func (in *RecurringActionInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Name, "path.name")
}

// Resolve decodes the recurring job's name.
func (in *RecurringScheduleInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Name, "path.name")
}

// Resolve decodes the queue's name.
func (in *QueueActionInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Name, "path.name")
}

// Resolve decodes the kind.
func (in *KindNameInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Kind, "path.kind")
}

// Resolve decodes the kind.
func (in *KindLimitsInput) Resolve(ctx huma.Context) []error {
	return decodeAPIParam(ctx, &in.Kind, "path.kind")
}
