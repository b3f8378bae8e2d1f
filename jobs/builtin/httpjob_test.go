package builtin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// mapSecrets is a builtin.Secrets for tests.
type mapSecrets map[string]string

func (m mapSecrets) Reveal(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%w: %s", builtin.ErrSecretNotFound, name)
}

const apiKey = "sk_test_51HxQ-0f9e8d7c"

// hit is one request the test server saw.
type hit struct {
	method, path, query, auth, body, contentType string
}

// recorder is a test HTTP server that records requests and answers from a script.
type recorder struct {
	mu     sync.Mutex
	hits   []hit
	answer func(n int, w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server
}

func newRecorder(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{answer: answer}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.hits = append(rec.hits, hit{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body), r.Header.Get("Content-Type")})
		n := len(rec.hits)
		rec.mu.Unlock()
		rec.answer(n, w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hits)
}

func (r *recorder) hit(i int) hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[i]
}

func httpEngine(t *testing.T, s *models.Store) *jobs.Engine {
	e := newEngine(t, s, fast())
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: mapSecrets{"api": apiKey}}))
	return e
}

func logLines(t *testing.T, s *models.Store, id int64) []string {
	t.Helper()
	logs, err := s.JobQueries.JobLogs(ctx, id)
	require.NoError(t, err)
	out := make([]string, len(logs))
	for i, l := range logs {
		out[i] = l.Message
	}
	return out
}

// An http.request job sends what its arguments say, with secrets filled in, and keeps the
// response (secrets masked) as its result, with a log line for the request and one for the
// response.
func TestHTTPRequestJob(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Internal", "not kept")
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"echo":%q}`, r.Header.Get("Authorization"))
		})
		e := httpEngine(t, s)
		start(t, e)
		job, err := e.Enqueue(ctx, builtin.KindHTTPRequest, map[string]any{
			"method": "post", "url": rec.srv.URL + "/hooks/deploy?key=${secret:api}",
			"headers": map[string]string{"Authorization": "Bearer ${secret:api}"},
			"body":    map[string]any{"token": "${secret:api}", "n": 1},
		})
		require.NoError(t, err)
		require.Contains(t, job.Args, "${secret:api}")
		require.NotContains(t, job.Args, apiKey)
		done := waitState(t, s, job.ID, models.JobSucceeded)

		got := rec.hit(0)
		require.Equal(t, "POST", got.method)
		require.Equal(t, "/hooks/deploy", got.path)
		require.Equal(t, "key="+apiKey, got.query)
		require.Equal(t, "Bearer "+apiKey, got.auth)
		require.JSONEq(t, `{"token":"`+apiKey+`","n":1}`, got.body)
		require.Equal(t, "application/json", got.contentType)

		var res builtin.HTTPResponse
		require.NoError(t, json.Unmarshal([]byte(done.Result), &res))
		require.Equal(t, 201, res.Status)
		require.JSONEq(t, `{"echo":"Bearer ${secret:api}"}`, res.Body, "the echoed secret is masked")
		require.Equal(t, "application/json", res.Headers["Content-Type"])
		require.NotContains(t, res.Headers, "X-Internal")
		require.NotContains(t, done.Result, apiKey)

		lines := logLines(t, s, job.ID)
		require.Len(t, lines, 2)
		require.Equal(t, "→ POST "+rec.srv.URL+"/hooks/deploy?key=${secret:api}", lines[0])
		require.Contains(t, lines[1], "← 201 Created in ")
	})
}

// A status outside the expected set fails the attempt, with the response kept and a retry; a
// 429 or 503 with Retry-After snoozes until then without using an attempt.
func TestHTTPRequestRetriesAndRetryAfter(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	rec := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/flaky" && n == 1:
			http.Error(w, "database on fire", http.StatusInternalServerError)
		case r.URL.Path == "/busy" && n == 3:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	e := httpEngine(t, s)
	start(t, e)

	job, err := e.Enqueue(ctx, builtin.KindHTTPRequest, map[string]any{"url": rec.srv.URL + "/flaky"})
	require.NoError(t, err)
	retrying := waitState(t, s, job.ID, models.JobScheduled)
	require.Contains(t, retrying.LastError, "500 Internal Server Error (expected 2xx): database on fire")
	require.Contains(t, logLines(t, s, job.ID)[1], "← 500 Internal Server Error in ", "the failed response is logged")
	require.Contains(t, logLines(t, s, job.ID)[1], "bytes: database on fire")
	require.True(t, retrying.RunAt.After(time.Now().Add(10*time.Second)), "retried with the kind's backoff")
	require.NoError(t, e.TriggerNow(ctx, job.ID))
	done := waitState(t, s, job.ID, models.JobSucceeded)
	require.Equal(t, 2, done.Attempt)
	require.Contains(t, done.Result, `"body":"ok"`)

	busy, err := e.Enqueue(ctx, builtin.KindHTTPRequest, map[string]any{"url": rec.srv.URL + "/busy"})
	require.NoError(t, err)
	snoozed := waitState(t, s, busy.ID, models.JobScheduled)
	require.Equal(t, 0, snoozed.Attempt, "a snooze uses no attempt")
	require.WithinDuration(t, time.Now().Add(time.Second), snoozed.RunAt, 1500*time.Millisecond)
	done = waitState(t, s, busy.ID, models.JobSucceeded)
	require.Equal(t, 4, rec.count(), "tried again once Retry-After had passed")
	require.Contains(t, strings.Join(logLines(t, s, busy.ID), "\n"), "Retry-After: trying again in 1s")
	require.Equal(t, 1, done.Attempt)
}

// expect, follow_redirects and max_body do what they say.
func TestHTTPRequestOptions(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		default:
			_, _ = io.WriteString(w, strings.Repeat("x", 5000))
		}
	})
	e := httpEngine(t, s)
	start(t, e)
	run := func(args map[string]any) *models.Job { t.Helper(); return runOnce(t, e, s, args) }
	j := run(map[string]any{"url": rec.srv.URL + "/missing", "expect": []any{404}})
	require.Equal(t, models.JobSucceeded, j.State)
	j = run(map[string]any{"url": rec.srv.URL + "/missing", "expect": []any{200, "3xx"}})
	require.Equal(t, models.JobFailed, j.State)
	require.Contains(t, j.LastError, "404 Not Found (expected 200, 3xx)")
	j = run(map[string]any{"url": rec.srv.URL + "/moved", "follow_redirects": false, "expect": "3xx"})
	require.Equal(t, models.JobSucceeded, j.State)
	require.Contains(t, j.Result, `"Location":"/elsewhere"`)
	j = run(map[string]any{"url": rec.srv.URL + "/moved", "max_body": 100})
	require.Equal(t, models.JobSucceeded, j.State, "redirects are followed by default")
	var res builtin.HTTPResponse
	require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
	require.Equal(t, strings.Repeat("x", 100), res.Body)
	require.True(t, res.BodyTruncated)
	require.EqualValues(t, 5000, res.BodyBytes)
}

// Cancelling a job aborts its request at once.
func TestHTTPRequestCancelAbortsTheRequest(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	arrived, aborted := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			aborted <- struct{}{}
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(srv.Close)
	e := httpEngine(t, s)
	start(t, e)
	job, err := e.Enqueue(ctx, builtin.KindHTTPRequest, map[string]any{"url": srv.URL, "timeout": "10m"})
	require.NoError(t, err)
	receive(t, arrived, "the request")
	require.NoError(t, e.Cancel(ctx, job.ID))
	receive(t, aborted, "the request to be aborted")
	waitState(t, s, job.ID, models.JobCancelled)
}

// Bad arguments are refused when the job is made, naming the argument.
func TestHTTPRequestArgumentsAreChecked(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := httpEngine(t, s)
	for _, tc := range []struct {
		args  string
		field string
		msg   string
	}{
		{`{}`, "args.url", "a URL is required"},
		{`{"url":"ftp://example.com"}`, "args.url", "http:// or https://"},
		{`{"url":"https://"}`, "args.url", "no host"},
		{`{"url":"https://x.test","method":"BREW"}`, "args.method", `"BREW" is not one of`},
		{`{"url":"https://x.test","timeout":"soon"}`, "args.timeout", "not a positive duration"},
		{`{"url":"https://x.test","expect":[700]}`, "args.expect", "neither a status"},
		{`{"url":"https://x.test","expect":{"a":1}}`, "args", "don't fit"},
		{`{"url":"https://x.test","max_body":99999999}`, "args.max_body", "between 1 and"},
		{`{"url":"https://x.test","headers":{"Bad Name":"x"}}`, "args.headers", "not a valid header name"},
		{`{"url":"https://x.test","headers":{"X":"a\nb"}}`, "args.headers", "one line"},
		{`{"url":"https://x.test/?k=${secret:nope}"}`, "args.url", "no secret of that name"},
		{`{"url":"https://x.test","body":"${secret:}"}`, "args.body", "needs a name"},
	} {
		_, err := e.Enqueue(ctx, builtin.KindHTTPRequest, json.RawMessage(tc.args))
		var me *models.Error
		require.ErrorAs(t, err, &me, tc.args)
		require.Equal(t, models.EINVALID, me.Code, tc.args)
		require.Contains(t, me.Fields[tc.field], tc.msg, tc.args)
	}
	n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing was stored")
	_, err = e.CreateRecurring(ctx, "bad", "@every 1m", builtin.KindHTTPRequest, json.RawMessage(`{"url":"nope"}`))
	require.Equal(t, models.EINVALID, models.ErrorCode(err), "a recurring job's arguments are checked too")
}

// A recurring http.request calls the server on every occurrence, and stops once paused.
func TestRecurringHTTPRequest(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		_, _ = fmt.Fprintf(w, "call %d", n)
	}))
	t.Cleanup(srv.Close)
	e := httpEngine(t, s)
	start(t, e)
	_, err := e.CreateRecurring(ctx, "ping", "@every 1s", builtin.KindHTTPRequest, map[string]any{"url": srv.URL})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return calls.Load() >= 2 }, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, e.PauseRecurring(ctx, "ping"))
	time.Sleep(300 * time.Millisecond) // a run already enqueued may still land
	paused := calls.Load()
	time.Sleep(2500 * time.Millisecond)
	require.Equal(t, paused, calls.Load(), "no call once paused")

	page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{Kind: builtin.KindHTTPRequest}, 0, 0, 100)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(page.Jobs), 2)
	for _, j := range page.Jobs {
		if j.State == models.JobSucceeded {
			require.Contains(t, j.Result, `"body":"call `)
			require.Contains(t, j.Result, `"status":200`)
		}
	}
}

// waitFinal waits until the job is in a final state and returns it.
func waitFinal(t *testing.T, s *models.Store, id int64) *models.Job {
	t.Helper()
	var j *models.Job
	require.Eventually(t, func() bool {
		var err error
		j, err = s.JobQueries.GetJob(ctx, id)
		require.NoError(t, err)
		return j.State.Final()
	}, 20*time.Second, 10*time.Millisecond, "job %d never finished", id)
	return j
}

// A recurring job made at run time records who made it, and can be replaced whole; one the
// code defines can't.
func TestReplaceRecurring(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := httpEngine(t, s)
	require.NoError(t, e.Register("report", func(context.Context, *models.Job) error { return nil }))
	require.NoError(t, e.Recurring("from-code", "@daily", "report", nil))
	start(t, e)
	made, err := e.CreateRecurring(jobs.WithActor(ctx, "ada"), "ping", "0 2 * * *", builtin.KindHTTPRequest,
		map[string]any{"url": "https://example.com/a"}, jobs.TimeZone("Europe/Berlin"))
	require.NoError(t, err)
	require.Equal(t, "ada", made.CreatedBy)

	got, err := e.ReplaceRecurring(ctx, "ping", "30 3 * * *", builtin.KindHTTPRequest, map[string]any{"url": "https://example.com/b"},
		jobs.TimeZone("America/New_York"), jobs.Queue("hooks"), jobs.MaxAttempts(2), jobs.Misfire(models.MisfireIgnore))
	require.NoError(t, err)
	require.Equal(t, "30 3 * * *", got.Spec)
	require.Equal(t, "America/New_York", got.TimeZone)
	require.JSONEq(t, `{"url":"https://example.com/b"}`, got.Args)
	require.Equal(t, "hooks", got.Queue)
	require.Equal(t, 2, got.MaxAttempts)
	require.Equal(t, models.MisfireIgnore, got.Misfire)
	require.Equal(t, "ada", got.CreatedBy, "who made it stays")
	ny, _ := time.LoadLocation("America/New_York")
	next := got.NextRunAt.In(ny)
	require.Equal(t, [2]int{3, 30}, [2]int{next.Hour(), next.Minute()}, "the next run follows the new schedule")

	_, err = e.ReplaceRecurring(ctx, "ping", "30 3 * * *", builtin.KindHTTPRequest, map[string]any{"url": "ftp://nope"})
	require.Equal(t, models.EINVALID, models.ErrorCode(err), "the arguments are checked")
	_, err = e.ReplaceRecurring(ctx, "from-code", "@hourly", "report", nil)
	require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
	require.ErrorContains(t, err, "defined in code")
	_, err = e.ReplaceRecurring(ctx, "missing", "@hourly", "report", nil)
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
}

// Found in review: secrets must not leave with a redirect, a body that isn't text, or a body
// cut inside a character; Retry-After can't make a job spin.
func TestHTTPRequestEdges(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	other := make(chan http.Header, 10)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { other <- r.Header }))
	t.Cleanup(elsewhere.Close)
	var retryCalls atomic.Int64
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, elsewhere.URL+"/x", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/landed", http.StatusFound)
		case "/landed":
			_, _ = io.WriteString(w, "referer="+r.Header.Get("Referer"))
		case "/binary":
			_, _ = w.Write(append([]byte{0xff, 0xfe}, apiKey...))
		case "/cut":
			_, _ = io.WriteString(w, "token="+apiKey+" é and more")
		case "/spin":
			retryCalls.Add(1)
			w.Header().Set("Retry-After", r.URL.Query().Get("after"))
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	e := httpEngine(t, s)
	start(t, e)
	run := func(args map[string]any) *models.Job { t.Helper(); return runOnce(t, e, s, args) }
	withKey := map[string]string{"X-Api-Key": "${secret:api}"}

	j := run(map[string]any{"url": rec.srv.URL + "/away", "headers": withKey})
	require.Equal(t, models.JobFailed, j.State)
	require.Contains(t, j.LastError, "refused to follow a redirect to http://"+strings.TrimPrefix(elsewhere.URL, "http://"))
	require.Empty(t, other, "the other host got nothing")
	j = run(map[string]any{"url": rec.srv.URL + "/away"}) // no secret: redirects are followed as usual
	require.Equal(t, models.JobSucceeded, j.State)
	require.Empty(t, (<-other).Get("Referer"), "no Referer is sent on")
	j = run(map[string]any{"url": rec.srv.URL + "/here?k=${secret:api}", "headers": withKey})
	require.Equal(t, models.JobSucceeded, j.State, "same host: followed")
	require.Contains(t, j.Result, `"body":"referer="`)

	j = run(map[string]any{"url": rec.srv.URL + "/binary", "headers": withKey})
	var res builtin.HTTPResponse
	require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
	require.Equal(t, "base64", res.BodyEncoding)
	raw, err := base64.StdEncoding.DecodeString(res.Body)
	require.NoError(t, err)
	require.Equal(t, "\xff\xfe${secret:api}", string(raw))
	cut := len("token=${secret:api} \xc3") // inside the é, once masked: the body is masked, then cut
	j = run(map[string]any{"url": rec.srv.URL + "/cut", "headers": withKey, "max_body": cut})
	res = builtin.HTTPResponse{}
	require.NoError(t, json.Unmarshal([]byte(j.Result), &res))
	require.Equal(t, "token=${secret:api} ", res.Body)
	require.Empty(t, res.BodyEncoding)

	// Retry-After far beyond a day (once overflowing) is not honoured: the attempt fails.
	j = run(map[string]any{"url": rec.srv.URL + "/spin?after=10000000000"})
	require.Equal(t, models.JobFailed, j.State)
	require.EqualValues(t, 1, retryCalls.Load())
	// Retry-After: 0 waits a second at least.
	job, err := e.Enqueue(ctx, builtin.KindHTTPRequest, map[string]any{"url": rec.srv.URL + "/spin?after=0"}, jobs.MaxAttempts(1))
	require.NoError(t, err)
	snoozed := waitState(t, s, job.ID, models.JobScheduled)
	require.True(t, snoozed.RunAt.After(time.Now().Add(500*time.Millisecond)), "not a tight loop")
	require.NoError(t, e.Cancel(ctx, job.ID))
}

// A recurring job's kind is held to what a job's kind may be (PostgreSQL's column refused a
// longer one with an error that was a 500).
func TestRecurringKindIsChecked(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		_, err := e.CreateRecurring(ctx, "long", "@daily", strings.Repeat("k", 101), nil)
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = e.Enqueue(ctx, "k", json.RawMessage("{\"a\":\"\xff\"}"))
		require.Equal(t, models.EINVALID, models.ErrorCode(err), "arguments that aren't UTF-8 are refused")
	})
}

// runOnce enqueues an http.request job with one attempt and waits for its end.
func runOnce(t *testing.T, e *jobs.Engine, s *models.Store, args map[string]any) *models.Job {
	t.Helper()
	job, err := e.Enqueue(ctx, builtin.KindHTTPRequest, args, jobs.MaxAttempts(1))
	require.NoError(t, err)
	return waitFinal(t, s, job.ID)
}
