// Package client is a Go client of Kiln's JSON API (/api/v1): the kiln CLI uses it, and so can
// any Go program that drives a Kiln server it doesn't embed.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("KILN_TOKEN"))
//	// email.send: a kind your workers register; one no server registered lately is refused.
//	job, err := c.Enqueue(ctx, api.JobSpec{Kind: "email.send", Args: json.RawMessage(`{"to":"ada@example.com"}`)})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/api"
)

// DefaultURL is where a Kiln server listens unless told otherwise.
const DefaultURL = "http://127.0.0.1:8080"

// Client calls one Kiln server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client of the server at baseURL (DefaultURL when ""), sending token as a bearer
// token when it isn't "" (a server lets requests made on its own machine in without one).
func New(baseURL, token string) *Client {
	if baseURL == "" {
		baseURL = DefaultURL
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Error is a refusal from the server: an RFC 9457 problem.
type Error struct {
	Status int          `json:"status"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

// FieldError says what is wrong with one part of a request.
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	for _, f := range e.Errors {
		if strings.Contains(msg, f.Message) { // the detail said it already
			continue
		}
		msg += "; " + strings.TrimPrefix(f.Location, "body.") + ": " + f.Message
	}
	return fmt.Sprintf("%s (%d)", msg, e.Status)
}

// do sends a request and decodes the answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("client: read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, e) != nil || (e.Detail == "" && e.Title == "") {
			e.Detail = strings.TrimSpace(string(raw))
			if e.Detail == "" {
				e.Detail = http.StatusText(resp.StatusCode)
			}
		}
		return e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("client: decode answer: %w", err)
		}
	}
	return nil
}

// Enqueue stores a job; with a unique key that is taken, it returns the job that holds it. A
// kind no server has registered in the last 7 days is refused (a 422 *Error naming the known
// kinds) unless spec.AllowUnknownKind is set, as it may be for workers that are not up yet.
func (c *Client) Enqueue(ctx context.Context, spec api.JobSpec) (*api.Job, error) {
	var j api.Job
	return &j, c.do(ctx, http.MethodPost, "/jobs", nil, spec, &j)
}

// EnqueueBatch stores up to 1,000 jobs in one transaction, all or none; each spec's kind is
// held to the known ones as Enqueue's is.
func (c *Client) EnqueueBatch(ctx context.Context, specs []api.JobSpec) ([]api.Job, error) {
	var out api.BatchResult
	return out.Jobs, c.do(ctx, http.MethodPost, "/jobs/batch", nil, api.Batch{Jobs: specs}, &out)
}

// JobFilter selects jobs; zero fields select all.
type JobFilter struct {
	State, Kind, Queue, Search, Tag string
	Limit                           int    // default 50, at most 500
	After                           string // the previous page's Next
}

// ListJobs returns a page of jobs matching f, newest first.
func (c *Client) ListJobs(ctx context.Context, f JobFilter) (*api.JobPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": f.State, "kind": f.Kind, "queue": f.Queue, "q": f.Search, "tag": f.Tag, "after": f.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page api.JobPage
	return &page, c.do(ctx, http.MethodGet, "/jobs", q, nil, &page)
}

// Job returns a job with its history.
func (c *Client) Job(ctx context.Context, id int64) (*api.JobDetail, error) {
	var j api.JobDetail
	return &j, c.do(ctx, http.MethodGet, "/jobs/"+strconv.FormatInt(id, 10), nil, nil, &j)
}

// JobLogs returns what a job logged.
func (c *Client) JobLogs(ctx context.Context, id int64) ([]api.LogLine, error) {
	var l api.Logs
	return l.Logs, c.do(ctx, http.MethodGet, "/jobs/"+strconv.FormatInt(id, 10)+"/logs", nil, nil, &l)
}

// JobAction cancels, requeues or runs a job now: action is "cancel", "requeue" or "run".
func (c *Client) JobAction(ctx context.Context, id int64, action string) (*api.Job, error) {
	var j api.Job
	return &j, c.do(ctx, http.MethodPost, "/jobs/"+strconv.FormatInt(id, 10)+"/"+url.PathEscape(action), nil, nil, &j)
}

// DeleteJob deletes a job (a running one is stopped first).
func (c *Client) DeleteJob(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/jobs/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// Recurring returns the recurring jobs.
func (c *Client) Recurring(ctx context.Context) ([]api.Recurring, error) {
	var l api.RecurringList
	return l.Recurring, c.do(ctx, http.MethodGet, "/recurring", nil, nil, &l)
}

// RecurringAction pauses, resumes or triggers a recurring job: "pause", "resume" or "trigger".
func (c *Client) RecurringAction(ctx context.Context, name, action string) (*api.RecurringAction, error) {
	var r api.RecurringAction
	return &r, c.do(ctx, http.MethodPost, "/recurring/"+url.PathEscape(name)+"/"+url.PathEscape(action), nil, nil, &r)
}

// Queues returns the queues.
func (c *Client) Queues(ctx context.Context) ([]api.Queue, error) {
	var l api.QueueList
	return l.Queues, c.do(ctx, http.MethodGet, "/queues", nil, nil, &l)
}

// QueueAction pauses or resumes a queue: "pause" or "resume".
func (c *Client) QueueAction(ctx context.Context, name, action string) error {
	return c.do(ctx, http.MethodPost, "/queues/"+url.PathEscape(name)+"/"+url.PathEscape(action), nil, nil, nil)
}

// Stats returns the overview's counts.
func (c *Client) Stats(ctx context.Context) (*api.Stats, error) {
	var s api.Stats
	return &s, c.do(ctx, http.MethodGet, "/stats", nil, nil, &s)
}

// CreateRecurring makes a recurring job (an ECONFLICT-like 409 *Error when the name is taken);
// its kind is held to the known ones as Enqueue's is (spec.AllowUnknownKind).
func (c *Client) CreateRecurring(ctx context.Context, spec api.RecurringSpec) (*api.Recurring, error) {
	var r api.Recurring
	return &r, c.do(ctx, http.MethodPost, "/recurring", nil, spec, &r)
}

// DeleteRecurring deletes a recurring job; the jobs it made stay.
func (c *Client) DeleteRecurring(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/recurring/"+url.PathEscape(name), nil, nil, nil)
}

// Secrets returns the secrets' names and times (never their values).
func (c *Client) Secrets(ctx context.Context) ([]api.Secret, error) {
	var l api.SecretList
	return l.Secrets, c.do(ctx, http.MethodGet, "/secrets", nil, nil, &l)
}

// PutSecret creates a secret or replaces its value.
func (c *Client) PutSecret(ctx context.Context, name, value string) (*api.Secret, error) {
	var s api.Secret
	return &s, c.do(ctx, http.MethodPut, "/secrets/"+url.PathEscape(name), nil, api.SecretValue{Value: value}, &s)
}

// DeleteSecret deletes a secret.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/secrets/"+url.PathEscape(name), nil, nil, nil)
}

// StartWorkflow starts a run of steps, each a job that waits for the steps it depends on.
func (c *Client) StartWorkflow(ctx context.Context, spec api.WorkflowSpec) (*api.Workflow, error) {
	var wf api.Workflow
	return &wf, c.do(ctx, http.MethodPost, "/workflows", nil, spec, &wf)
}

// GetWorkflow returns a run with its steps.
func (c *Client) GetWorkflow(ctx context.Context, id int64) (*api.Workflow, error) {
	var wf api.Workflow
	return &wf, c.do(ctx, http.MethodGet, "/workflows/"+strconv.FormatInt(id, 10), nil, nil, &wf)
}

// WorkflowAction cancels a running run ("cancel") or retries an ended run's failed steps ("retry").
func (c *Client) WorkflowAction(ctx context.Context, id int64, action string) (*api.Workflow, error) {
	var wf api.Workflow
	return &wf, c.do(ctx, http.MethodPost, "/workflows/"+strconv.FormatInt(id, 10)+"/"+url.PathEscape(action), nil, nil, &wf)
}
