package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/kilnhq/kiln/jobs"
)

// KindHTTPRequest is the built-in kind that makes one HTTP request.
const KindHTTPRequest = "http.request"

// Defaults and limits of http.request.
const (
	DefaultHTTPTimeout = 30 * time.Second
	DefaultHTTPMaxBody = 64 << 10
	// HTTPMaxBodyLimit is the most of a response an http.request job may keep.
	HTTPMaxBodyLimit = 256 << 10
	// httpMaxRetryAfter is the longest Retry-After honoured by snoozing; a longer one is an
	// ordinary failure, retried with the kind's backoff.
	httpMaxRetryAfter = 24 * time.Hour
	// httpMaxSnoozes is how many Retry-After waits a job takes without using an attempt; past
	// them, a 429 or 503 fails the attempt, so that a server that always says "later" can't
	// keep a job forever.
	httpMaxSnoozes = 20
)

// HTTPRequestArgs are the arguments of an http.request job. Strings may refer to secrets as
// ${secret:NAME} (the URL, header values and the body).
type HTTPRequestArgs struct {
	Method  string            `json:"method,omitempty" doc:"GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS"`
	URL     string            `json:"url" doc:"An absolute http or https URL"`
	Headers map[string]string `json:"headers,omitempty" doc:"Request headers"`
	// Body is sent as is when it is a JSON string, and as JSON (Content-Type application/json
	// unless a header says otherwise) when it is any other JSON value.
	Body    json.RawMessage `json:"body,omitempty" doc:"A string is sent as text; an object or array as JSON"`
	Timeout string          `json:"timeout,omitempty" doc:"A Go duration, e.g. 10s; default 30s"`
	// Expect is the statuses that count as success: "2xx" (the default), or a list of statuses
	// and classes such as [200, 404, "3xx"].
	Expect          Statuses `json:"expect,omitempty" doc:"Statuses that succeed: \"2xx\" (default) or a list such as [200, 404, \"3xx\"]"`
	FollowRedirects *bool    `json:"follow_redirects,omitempty" doc:"Follow redirects (default true)"`
	MaxBody         int      `json:"max_body,omitempty" doc:"Bytes of the response body to keep (default 65536, at most 262144)"`
}

// HTTPResponse is the result of an http.request job.
type HTTPResponse struct {
	Status        int               `json:"status"`
	Headers       map[string]string `json:"headers,omitempty"`
	Body          string            `json:"body"`
	BodyEncoding  string            `json:"body_encoding,omitempty"` // "base64" when the body isn't UTF-8 text
	BodyBytes     int64             `json:"body_bytes"`              // the body's whole length, kept or not
	BodyTruncated bool              `json:"body_truncated,omitempty"`
	DurationMS    float64           `json:"duration_ms"`
}

// keptHeaders are the response headers an http.request result keeps.
var keptHeaders = []string{"Content-Type", "Content-Length", "Location", "Retry-After", "Etag", "Last-Modified", "Date", "X-Request-Id"}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// Statuses is a set of HTTP statuses: numbers and classes ("2xx"). In JSON it is a class string
// or a list of numbers and class strings.
type Statuses []string

// UnmarshalJSON accepts "2xx", 204, or a list of either.
func (s *Statuses) UnmarshalJSON(b []byte) error {
	var one any
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	items, ok := one.([]any)
	if !ok {
		items = []any{one}
	}
	out := Statuses{}
	for _, it := range items {
		switch v := it.(type) {
		case string:
			out = append(out, v)
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			return fmt.Errorf("expect: %v is neither a status nor a class such as \"2xx\"", it)
		}
	}
	*s = out
	return nil
}

// validate checks every item.
func (s Statuses) validate() error {
	for _, it := range s {
		if len(it) == 3 && strings.HasSuffix(strings.ToLower(it), "xx") && it[0] >= '1' && it[0] <= '5' {
			continue
		}
		if n, err := strconv.Atoi(it); err == nil && n >= 100 && n <= 599 {
			continue
		}
		return fmt.Errorf("%q is neither a status (100-599) nor a class such as \"2xx\"", it)
	}
	return nil
}

// match reports whether status is in the set; an empty set is 2xx.
func (s Statuses) match(status int) bool {
	if len(s) == 0 {
		return status >= 200 && status < 300
	}
	for _, it := range s {
		if strings.HasSuffix(strings.ToLower(it), "xx") {
			if int(it[0]-'0') == status/100 {
				return true
			}
		} else if n, _ := strconv.Atoi(it); n == status {
			return true
		}
	}
	return false
}

func (s Statuses) String() string {
	if len(s) == 0 {
		return "2xx"
	}
	return strings.Join(s, ", ")
}

// fieldErr is a *jobs.FieldError: what is wrong with field.
func fieldErr(field, format string, args ...any) error {
	return &jobs.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// normalize fills the defaults and checks the arguments; secrets are checked by the caller.
func (a *HTTPRequestArgs) normalize() (timeout time.Duration, err error) {
	a.Method = strings.ToUpper(strings.TrimSpace(a.Method))
	if a.Method == "" {
		a.Method = http.MethodGet
	}
	if !slices.Contains(httpMethods, a.Method) {
		return 0, fieldErr("method", "%q is not one of %s", a.Method, strings.Join(httpMethods, ", "))
	}
	// Check the URL's shape with placeholders standing in for secrets: a secret can't change
	// where the request goes unless it is in the host, which is allowed but must still parse.
	u, perr := url.Parse(secretRef.ReplaceAllString(a.URL, "secret"))
	switch {
	case strings.TrimSpace(a.URL) == "":
		return 0, fieldErr("url", "a URL is required")
	case perr != nil:
		return 0, fieldErr("url", "%q is not a URL", a.URL)
	case u.Scheme != "http" && u.Scheme != "https":
		return 0, fieldErr("url", "the URL must start with http:// or https://")
	case u.Host == "":
		return 0, fieldErr("url", "the URL has no host")
	}
	canonical := map[string]string{}
	for name, v := range a.Headers {
		if name == "" || !validHeaderName(name) {
			return 0, fieldErr("headers", "%q is not a valid header name", name)
		}
		if other, dup := canonical[http.CanonicalHeaderKey(name)]; dup {
			return 0, fieldErr("headers", "%q and %q are the same header; give it once", other, name)
		}
		canonical[http.CanonicalHeaderKey(name)] = name
		if strings.ContainsAny(v, "\r\n\x00") {
			return 0, fieldErr("headers", "the value of %s must be one line", name)
		}
	}
	if len(a.Body) > 0 && !json.Valid(a.Body) {
		return 0, fieldErr("body", "the body must be a JSON string, object or array")
	}
	if timeout, err = argsTimeout(a.Timeout, DefaultHTTPTimeout, "10s or 2m"); err != nil {
		return 0, err
	}
	if err := a.Expect.validate(); err != nil {
		return 0, fieldErr("expect", "%v", err)
	}
	if a.MaxBody == 0 {
		a.MaxBody = DefaultHTTPMaxBody
	}
	if a.MaxBody < 0 || a.MaxBody > HTTPMaxBodyLimit {
		return 0, fieldErr("max_body", "must be between 1 and %d bytes", HTTPMaxBodyLimit)
	}
	return timeout, nil
}

func validHeaderName(name string) bool {
	for _, r := range name {
		if r > 126 || r <= 32 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// checkHTTPArgs is http.request's check when a job is made.
func checkHTTPArgs(ctx context.Context, src Secrets, a *HTTPRequestArgs) error {
	if _, err := a.normalize(); err != nil {
		return err
	}
	if err := checkSecretRefs(ctx, src, "url", a.URL); err != nil {
		return &jobs.FieldError{Field: "url", Message: err.Error()}
	}
	for name, v := range a.Headers {
		if err := checkSecretRefs(ctx, src, "header "+name, v); err != nil {
			return &jobs.FieldError{Field: "headers", Message: err.Error()}
		}
	}
	if err := checkSecretRefs(ctx, src, "body", string(a.Body)); err != nil {
		return &jobs.FieldError{Field: "body", Message: err.Error()}
	}
	return nil
}

// httpWorker makes the request an http.request job describes.
type httpWorker struct {
	client  *http.Client
	secrets Secrets
}

func (w *httpWorker) work(ctx context.Context, job *jobs.Job[HTTPRequestArgs]) error {
	a := job.Args
	timeout, err := a.normalize()
	if err != nil {
		return jobs.Permanent(err)
	}
	rv := newRevealer(ctx, w.secrets)
	err = w.do(ctx, rv, &a, timeout)
	return rv.maskError(err)
}

func (w *httpWorker) do(ctx context.Context, rv *revealer, a *HTTPRequestArgs, timeout time.Duration) error {
	target, err := rv.expandWith(a.URL, urlEscaper(a.URL))
	if err != nil {
		return err
	}
	body, contentType, err := requestBody(rv, a.Body)
	if err != nil {
		return err
	}
	jobCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, a.Method, target, body)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("request: %v", err))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Kiln (http.request)")
	for name, v := range a.Headers {
		v, err := rv.expand(v, nil)
		if err != nil {
			return err
		}
		req.Header.Set(name, v)
	}
	if req.Header.Get("traceparent") == "" {
		// The attempt's span, when the engine traces, goes on as the request's parent (W3C trace
		// context); a traceparent the job sets itself is kept.
		propagation.TraceContext{}.Inject(jobCtx, propagation.HeaderCarrier(req.Header))
	}
	client := *w.client
	follow := a.FollowRedirects == nil || *a.FollowRedirects
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		switch {
		case !follow:
			return http.ErrUseLastResponse
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		case rv.revealed() && !sameOrigin(next.URL, via[0].URL):
			// Go keeps the job's headers (all but Authorization and Cookie) on a redirect to
			// another host, and the URL may hold a secret too: never hand them over.
			return jobs.Permanent(fmt.Errorf("refused to follow a redirect to %s://%s: the request carries secrets, which go only where the job says", next.URL.Scheme, next.URL.Host))
		}
		next.Header.Del("Referer") // it would carry the previous URL, secrets and all
		return nil
	}
	// The log names the URL as written, with its secret references, not as sent.
	jobs.Logf(ctx, "→ %s %s", a.Method, a.URL)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		jobs.Logf(ctx, "✗ no response after %s: %s", time.Since(start).Round(time.Millisecond), rv.mask(err.Error()))
		var perm *jobs.PermanentError
		switch {
		case jobCtx.Err() != nil: // the job was cancelled or timed out: the engine says which
			return err
		case errors.As(err, &perm):
			return perm
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("no response within %s", timeout)
		}
		return fmt.Errorf("request failed: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	// Read past max_body by a secret's length, or two, to mask one the cut falls in: the body is
	// masked first, then cut.
	kept, total, err := readCapped(resp.Body, int64(a.MaxBody+2*rv.lookahead()))
	took := time.Since(start)
	if err != nil {
		jobs.Logf(ctx, "✗ %s, reading the body failed after %s: %s", resp.Status, took.Round(time.Millisecond), rv.mask(err.Error()))
		return fmt.Errorf("%s: reading the body: %w", resp.Status, err)
	}
	read := httpRead{headers: map[string]string{}, body: string(kept), whole: total == int64(len(kept))}
	for _, h := range keptHeaders {
		if v := resp.Header.Get(h); v != "" {
			read.headers[h] = v
		}
	}
	out := fitResult(rv, HTTPResponse{Status: resp.StatusCode, BodyBytes: total, DurationMS: float64(took.Microseconds()) / 1000}, read, a.MaxBody)
	// Every attempt's response shows in its log, failed or not (the result keeps a success's).
	jobs.Logf(ctx, "← %s in %s, %d bytes: %s", resp.Status, took.Round(time.Millisecond), total, preview(out.Body, 200))
	if err := jobs.SetResult(ctx, out); err != nil {
		return err
	}
	if a.Expect.match(resp.StatusCode) {
		return nil
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		j := jobs.JobFrom(ctx)
		switch {
		case !ok || d > httpMaxRetryAfter:
		case j != nil && j.Runs-j.Attempt-j.Rescues >= httpMaxSnoozes:
			jobs.Logf(ctx, "Retry-After: waited %d times already; this attempt counts as failed", httpMaxSnoozes)
		default:
			d = max(d, time.Second) // "0" or a date past: still not a tight loop
			jobs.Logf(ctx, "Retry-After: trying again in %s", d)
			return jobs.Snooze(d)
		}
	}
	return fmt.Errorf("%s (expected %s): %s", resp.Status, a.Expect, preview(out.Body, 500))
}

// requestBody is the body to send: a JSON string as text, other JSON as JSON.
func requestBody(rv *revealer, raw json.RawMessage) (io.Reader, string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		text, err := rv.expand(text, nil)
		if err != nil {
			return nil, "", err
		}
		return strings.NewReader(text), "", nil
	}
	expanded, err := rv.expand(string(raw), jsonEscape)
	if err != nil {
		return nil, "", err
	}
	return strings.NewReader(expanded), "application/json", nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		if n > int(httpMaxRetryAfter/time.Second) {
			return httpMaxRetryAfter + time.Second, true // too far: not honoured (and no overflow)
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0).Round(time.Second), true
	}
	return 0, false
}

// sameOrigin reports whether two URLs share scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// urlEscaper escapes a secret by where it stands in the URL template u: as a query value after
// the '?', as a path segment in the path, and in the user info or host with every reserved
// character escaped (a space as %20, not '+').
func urlEscaper(u string) func(offset int) func(string) string {
	query := strings.IndexByte(u, '?')
	path := len(u)
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			path = i + 3 + j
		}
	}
	if query >= 0 && query < path {
		path = query
	}
	return func(offset int) func(string) string {
		switch {
		case query >= 0 && offset > query:
			return url.QueryEscape
		case offset >= path:
			return url.PathEscape
		}
		return func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }
	}
}
