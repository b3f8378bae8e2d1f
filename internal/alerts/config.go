package alerts

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
)

// Defaults of Config.
const (
	// DefaultSendTimeout bounds one attempt to send a message: a webhook's request and its
	// answer, or an SMTP conversation.
	DefaultSendTimeout = 30 * time.Second
	// DefaultMaxAttempts is how often a message is tried before its delivery fails for good:
	// with the default backoff, the last try comes about 3 hours after the first.
	DefaultMaxAttempts = 8
)

// Config configures the alerts: the rules' evaluation, and the channels and their delivery.
// The zero value of every field means its default.
type Config struct {
	// PublicURL is where people reach Kiln (https://kiln.example.com), for the links in
	// messages; empty: messages carry no links. The kiln command's --public-url.
	PublicURL string
	// Every is how often the rules are evaluated (by one node of many). Default DefaultEvery.
	Every time.Duration
	// Settle is the margin the failure rules keep behind their horizon (now, or earlier while a
	// server holds outcomes not yet written: models.AlertTx.FailuresHorizon). It must be more
	// than the nodes' clocks may lag the database's. Default DefaultSettle.
	Settle time.Duration
	// Retention is how long resolved alerts are kept: the kiln command gives the jobs'
	// (--retention), so that an alert's links outlive it. Default builtin.DefaultRetention.
	Retention time.Duration
	// Now tells the time (time.Now); tests give their own.
	Now func() time.Time
	// Secrets fills in the ${secret:NAME} references of channels' settings when a message is
	// sent. Nil: a channel that refers to a secret is refused.
	Secrets builtin.Secrets
	// HTTPClient posts to webhooks. Default: a client with the default transport (proxy from
	// the environment); each send sets its own timeout.
	HTTPClient *http.Client
	// TLSConfig is the TLS configuration of SMTP connections (STARTTLS or TLS). Default: the
	// system's roots, verifying the server's name.
	TLSConfig *tls.Config
	// SendTimeout bounds one attempt to send. Default DefaultSendTimeout.
	SendTimeout time.Duration
	// MaxAttempts bounds how often a message is tried. Default DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is how long a failed delivery waits before its next try. Default
	// jobs.DefaultBackoff.
	Backoff jobs.Backoff
}

func (c Config) withDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == nil {
		c.Backoff = jobs.DefaultBackoff
	}
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Settle <= 0 {
		c.Settle = DefaultSettle
	}
	if c.Retention <= 0 {
		c.Retention = builtin.DefaultRetention
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Validate reports the first setting that can't work, in words naming its flag.
func (c Config) Validate() error {
	if c.PublicURL != "" {
		if err := CheckPublicURL(c.PublicURL); err != nil {
			return fmt.Errorf("%w: --public-url: %w", jobs.ErrInvalidConfig, err)
		}
	}
	if c.SendTimeout < 0 || c.MaxAttempts < 0 {
		return fmt.Errorf("%w: alerts: the send timeout and attempts must not be negative", jobs.ErrInvalidConfig)
	}
	return nil
}

// CheckPublicURL checks that u is an absolute http(s) URL, with no query or fragment: links
// are made by appending paths to it.
func CheckPublicURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", u, err)
	case p.Scheme != "http" && p.Scheme != "https", p.Host == "":
		return fmt.Errorf("%q is not an absolute http:// or https:// URL", u)
	case p.RawQuery != "" || p.Fragment != "" || p.User != nil:
		return fmt.Errorf("%q must be the address Kiln is reached at, without user, query or fragment", u)
	}
	return nil
}

// Link is the absolute URL of Kiln's page at path under c.PublicURL, or "" when it is not set.
func (c Config) Link(path string) string {
	if c.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(c.PublicURL, "/") + path
}
