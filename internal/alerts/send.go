package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/kilnhq/kiln/internal/textcut"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// The headers of a signed webhook's request: the time it was signed (Unix seconds) and the
// HMAC-SHA256 of "<timestamp>.<body>" under the channel's signing secret, as sha256=<hex>.
// The receiver recomputes it and refuses a timestamp too old, which stops replays.
const (
	HeaderTimestamp = "X-Kiln-Timestamp"
	HeaderSignature = "X-Kiln-Signature"
)

// Sign is the X-Kiln-Signature of body sent at ts under key.
func Sign(key []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Sender sends messages on channels: the delivery jobs and "Send test" both use it. It is safe
// for concurrent use.
type Sender struct {
	store models.ChannelStore
	cfg   Config
	now   func() time.Time
}

// NewSender returns the sender of store's channels under cfg.
func NewSender(store models.ChannelStore, cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sender{store: store, cfg: cfg.withDefaults(), now: time.Now}, nil
}

// Config is the sender's configuration, defaults filled in.
func (s *Sender) Config() Config { return s.cfg }

// Send sends m on ch once. Secrets of the channel's settings are filled in for the send and
// masked out of the error it returns; an error that retrying can't cure is jobs.Permanent.
func (s *Sender) Send(ctx context.Context, ch *models.Channel, m Message) error {
	rv := builtin.NewRevealer(ctx, s.cfg.Secrets)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	var err error
	if ch.Type == models.ChannelEmail {
		err = s.sendEmail(ctx, rv, ch, m)
	} else {
		err = s.post(ctx, rv, ch, m)
	}
	return rv.MaskError(err)
}

// post sends m to a webhook-type channel's URL.
func (s *Sender) post(ctx context.Context, rv *builtin.Revealer, ch *models.Channel, m Message) error {
	r, err := render(ch, m)
	if err != nil {
		return jobs.Permanent(err)
	}
	// A URL that is one reference is the secret's value as it is (a chat webhook's URL kept in
	// the vault); references inside a URL are escaped for where they stand.
	expand := rv.ExpandURL
	if secretOnlyRE.MatchString(ch.Settings.URL) {
		expand = rv.Expand
	}
	target, err := expand(ch.Settings.URL)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.body))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("request: %v", err))
	}
	for name, vs := range r.header {
		req.Header[name] = vs
	}
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set("User-Agent", "Kiln (alerts)")
	if ch.Settings.SigningSecret != "" {
		key, err := rv.Expand(ch.Settings.SigningSecret)
		if err != nil {
			return err
		}
		ts := s.now().Unix()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Sign([]byte(key), ts, r.body))
	}
	client := *s.cfg.HTTPClient
	// A message goes where the channel says, never on to where an answer points: the URL and
	// the headers may carry secrets.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// What a job's log and error keep, viewers read: a URL with its credentials redacted.
	shown := RedactURL(ch.Type, ch.Settings.URL)
	jobs.Logf(ctx, "→ POST %s (%s, %d bytes)", shown, ch.Type, len(r.body))
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: no answer within %s", shown, s.cfg.SendTimeout)
		}
		// The client's error quotes the URL as it was sent.
		return fmt.Errorf("post to %s: %s", shown, RedactURLs(ch.Type, err.Error()))
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	jobs.Logf(ctx, "← %s", resp.Status)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("%s answered %s: %s", ch.Type, resp.Status, textcut.Truncate(string(bytes.TrimSpace(answer)), 300))
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		return err // the service's trouble, or its limit: a later try may pass
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return jobs.Permanent(fmt.Errorf("%s answered %s, redirecting elsewhere: Kiln doesn't follow a webhook's redirects; put the URL it points to in the channel", ch.Type, resp.Status))
	}
	return jobs.Permanent(err) // the service refuses this request (a bad URL or token, a body it won't take): the same again won't pass
}

// SendTest sends a sample message on the named channel at once, not through the queue, notes
// the outcome on the channel as any delivery's, and returns the message.
func (s *Sender) SendTest(ctx context.Context, name string) (Message, error) {
	ch, err := s.store.ChannelByName(ctx, name)
	if err != nil {
		return Message{}, err
	}
	m := s.cfg.SampleMessage(ch.Name, s.now())
	err = s.Send(ctx, ch, m)
	s.record(ctx, ch.Name, err)
	return m, err
}

// record notes on the channel how a send went, even when the job's context has ended (its
// timeout is what the send failed of).
func (s *Sender) record(ctx context.Context, name string, sendErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	text := ""
	if sendErr != nil {
		text = sendErr.Error()
	}
	if err := s.store.RecordChannelSend(ctx, name, s.now(), text); err != nil {
		jobs.Logf(ctx, "could not note the delivery on the channel: %v", err)
	}
}
