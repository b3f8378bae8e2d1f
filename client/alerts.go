package client

import (
	"context"
	"net/http"
	"net/url"

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
