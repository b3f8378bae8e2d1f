package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kilnhq/kiln/api"
)

// Channels returns the alert channels, by name.
func (c *Client) Channels(ctx context.Context) ([]api.Channel, error) {
	var l api.ChannelList
	return l.Channels, c.do(ctx, http.MethodGet, "/alerts/channels", nil, nil, &l)
}

// TestChannel sends a sample message on the named channel at once and returns it; a channel
// whose service refuses it is a 502 *Error saying why.
func (c *Client) TestChannel(ctx context.Context, name string) (*api.ChannelTest, error) {
	var t api.ChannelTest
	return &t, c.do(ctx, http.MethodPost, "/alerts/channels/"+url.PathEscape(name)+"/test", nil, nil, &t)
}

// Alerts returns the alerts, newest first: only the open ones when open is set, and at most
// limit of them (the server's default, 100, when 0; 500 at most).
func (c *Client) Alerts(ctx context.Context, open bool, limit int) ([]api.Alert, error) {
	q := url.Values{}
	if open {
		q.Set("open", "true")
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l api.AlertList
	return l.Alerts, c.do(ctx, http.MethodGet, "/alerts", q, nil, &l)
}

// AcknowledgeAlert records that the token's user took the alert in hand: it repeats no more.
// A resolved alert is a 409 *Error.
func (c *Client) AcknowledgeAlert(ctx context.Context, id int64) (*api.Alert, error) {
	var a api.Alert
	return &a, c.do(ctx, http.MethodPost, "/alerts/"+strconv.FormatInt(id, 10)+"/acknowledge", nil, nil, &a)
}

// SilenceAlert mutes the alert's repeats until the time given; its resolution is still told.
// A time not still to come is a 422 *Error (UnsilenceAlert unmutes), a resolved alert a 409.
func (c *Client) SilenceAlert(ctx context.Context, id int64, until time.Time) (*api.Alert, error) {
	var a api.Alert
	return &a, c.do(ctx, http.MethodPost, "/alerts/"+strconv.FormatInt(id, 10)+"/silence", nil, api.AlertSilence{Until: until}, &a)
}

// UnsilenceAlert ends the alert's silence, if it has one: it repeats again while it stays
// open. A resolved alert is a 409 *Error.
func (c *Client) UnsilenceAlert(ctx context.Context, id int64) (*api.Alert, error) {
	var a api.Alert
	return &a, c.do(ctx, http.MethodDelete, "/alerts/"+strconv.FormatInt(id, 10)+"/silence", nil, nil, &a)
}

// AlertRules returns the alert rules, by name.
func (c *Client) AlertRules(ctx context.Context) ([]api.AlertRule, error) {
	var l api.AlertRuleList
	return l.Rules, c.do(ctx, http.MethodGet, "/alerts/rules", nil, nil, &l)
}

// AlertRule returns the alert rule of that name (a 404 *Error when there is none).
func (c *Client) AlertRule(ctx context.Context, name string) (*api.AlertRule, error) {
	var r api.AlertRule
	return &r, c.do(ctx, http.MethodGet, "/alerts/rules/"+url.PathEscape(name), nil, nil, &r)
}

// CreateAlertRule makes an alert rule, which looks at what happens from now on; a rule that is
// not valid is a 422 *Error naming each field's fault, a name that is taken a 409.
func (c *Client) CreateAlertRule(ctx context.Context, spec api.AlertRuleSpec) (*api.AlertRule, error) {
	var r api.AlertRule
	return &r, c.do(ctx, http.MethodPost, "/alerts/rules", nil, spec, &r)
}

// UpdateAlertRule replaces the named rule's definition with spec (its name stays; its alerts,
// creation and whether it is enabled stay). A rule that is not valid is a 422 *Error naming
// each field's fault, one a server's code defines a 409, an unknown name a 404.
func (c *Client) UpdateAlertRule(ctx context.Context, name string, spec api.AlertRuleSpec) (*api.AlertRule, error) {
	var r api.AlertRule
	return &r, c.do(ctx, http.MethodPut, "/alerts/rules/"+url.PathEscape(name), nil, spec, &r)
}

// DeleteAlertRule deletes an alert rule and its alerts; messages already on their way are
// still delivered.
func (c *Client) DeleteAlertRule(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/alerts/rules/"+url.PathEscape(name), nil, nil, nil)
}
