package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// postRaw posts a form and returns the response alone.
func (a *app) postRaw(path string, form url.Values) *http.Response {
	a.t.Helper()
	resp, _ := a.post(path, form)
	return resp
}

// finishWith ends the job's attempt in state with result, as a worker would.
func (a *app) finishWith(job *models.Job, state models.JobState, result string) {
	a.t.Helper()
	ctx := context.Background()
	claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: job.Queue, ServerID: "srv-1", Limit: 1, Lease: time.Minute, Now: time.Now()})
	require.NoError(a.t, err)
	require.Len(a.t, claimed, 1)
	_, _, err = a.store.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: job.ID, ServerID: "srv-1", Attempt: claimed[0].Attempt, Run: claimed[0].Runs,
		State: state, Result: result, At: time.Now(), Duration: time.Second}})
	require.NoError(a.t, err)
}

// jobFrom is the job a form's redirect points at.
func (a *app) jobFrom(resp *http.Response) *models.Job {
	a.t.Helper()
	require.Equal(a.t, http.StatusSeeOther, resp.StatusCode)
	var id int64
	_, err := fmt.Sscanf(resp.Header.Get("Location"), "/dashboard/jobs/%d", &id)
	require.NoError(a.t, err, resp.Header.Get("Location"))
	j, err := a.store.JobQueries.GetJob(context.Background(), id)
	require.NoError(a.t, err)
	return j
}

// An HTTP job made in the form: header rows, a JSON body, statuses, tags, a delay; the job
// page then shows it, with Duplicate.
func TestNewHTTPJobForm(t *testing.T) {
	a := setup(t)
	resp, doc := a.get("/dashboard/jobs/new")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "http.request", doc.Find(`[data-testid="kind-fields"]`).AttrOr("data-kind", ""))
	var kinds []string
	doc.Find(`select[name="kind"] option`).Each(func(_ int, s *goquery.Selection) { kinds = append(kinds, s.AttrOr("value", "")) })
	require.Contains(t, kinds, "http.request")
	require.Contains(t, kinds, "exec")
	require.NotEmpty(t, doc.Find(`input[name="http_url"]`).Nodes)

	token := a.csrf("/dashboard/jobs/new")
	form := url.Values{"_csrf": {token}, "kind": {"http.request"}, "http_method": {"POST"}, "http_url": {"https://hooks.example.com/deploy"},
		"http_header_name": {"Authorization", "X-Team", ""}, "http_header_value": {"Bearer ${secret:deploy}", "ops", ""},
		"http_body": {"{\n  \"ref\": \"main\"\n}"}, "http_body_type": {"json"}, "http_expect": {"200, 202"}, "http_follow": {"on"},
		"http_timeout": {"10s"}, "queue": {"hooks"}, "priority": {"5"}, "max_attempts": {"3"}, "tags": {"deploy, team:ops"},
		"when": {"delay"}, "delay": {"10m"}}
	// The secret must exist before a job may refer to it.
	resp, doc = a.post("/dashboard/jobs/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-http_header"]`).Text(), "no secret of that name")
	_, err := a.vault.Set(context.Background(), "deploy", "s3cr3t", "ada")
	require.NoError(t, err)
	job := a.jobFrom(a.postRaw("/dashboard/jobs/new", form))
	require.Equal(t, "http.request", job.Kind)
	require.Equal(t, models.JobScheduled, job.State)
	require.WithinDuration(t, time.Now().Add(10*time.Minute), job.RunAt, time.Minute)
	require.Equal(t, "hooks", job.Queue)
	require.Equal(t, 5, job.Priority)
	require.Equal(t, 3, job.MaxAttempts)
	require.Equal(t, []string{"deploy", "team:ops"}, job.TagList())
	require.JSONEq(t, `{"method":"POST","url":"https://hooks.example.com/deploy","headers":{"Authorization":"Bearer ${secret:deploy}","X-Team":"ops"},
		"body":{"ref":"main"},"timeout":"10s","expect":["200","202"],"follow_redirects":true}`, job.Args)

	_, doc = a.get(fmt.Sprintf("/dashboard/jobs/%d", job.ID))
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), fmt.Sprintf("Job #%d (http.request) scheduled for", job.ID))
	require.Contains(t, doc.Find(`[data-testid="job-tags"]`).Text(), "team:ops")
	dup := doc.Find(`[data-testid="action-duplicate"]`).AttrOr("href", "")
	require.Equal(t, fmt.Sprintf("/dashboard/jobs/new?from=%d", job.ID), dup)

	// Duplicate: the same form, filled in.
	_, doc = a.get(dup)
	require.Contains(t, doc.Find(`[data-testid="duplicate-of"]`).Text(), fmt.Sprintf("job #%d", job.ID))
	require.Equal(t, "https://hooks.example.com/deploy", doc.Find(`input[name="http_url"]`).AttrOr("value", ""))
	require.Equal(t, "POST", doc.Find(`select[name="http_method"] option[selected]`).AttrOr("value", ""))
	require.Equal(t, "Authorization", doc.Find(`input[name="http_header_name"]`).First().AttrOr("value", ""))
	require.Equal(t, "Bearer ${secret:deploy}", doc.Find(`input[name="http_header_value"]`).First().AttrOr("value", ""))
	require.Equal(t, "json", doc.Find(`select[name="http_body_type"] option[selected]`).AttrOr("value", ""))
	require.JSONEq(t, `{"ref":"main"}`, doc.Find(`textarea[name="http_body"]`).Text())
	require.Equal(t, "deploy, team:ops", doc.Find(`input[name="tags"]`).AttrOr("value", ""))
	require.Equal(t, "hooks", doc.Find(`input[name="queue"]`).AttrOr("value", ""))

	// The tag links to the jobs it labels.
	_, doc = a.get("/dashboard/jobs?tag=team:ops")
	require.Equal(t, []string{fmt.Sprint(job.ID)}, jobIDs(doc))
	require.Contains(t, doc.Find(`[data-testid="tag-filter"]`).Text(), "team:ops")
	// "tag:NAME" in the search box filters by the tag; the other words are searched.
	_, doc = a.get("/dashboard/jobs?q=" + url.QueryEscape("tag:team:ops"))
	require.Equal(t, []string{fmt.Sprint(job.ID)}, jobIDs(doc))
	require.Contains(t, doc.Find(`[data-testid="tag-filter"]`).Text(), "team:ops")
	_, doc = a.get("/dashboard/jobs?q=" + url.QueryEscape("tag:team:ops nothing-like-this"))
	require.Empty(t, jobIDs(doc))
	_, doc = a.get("/dashboard/jobs?q=" + url.QueryEscape("hooks.example tag:deploy"))
	require.Equal(t, []string{fmt.Sprint(job.ID)}, jobIDs(doc))
}

// Mistakes come back next to their fields, with everything typed kept, and no job is made.
func TestNewJobFormErrors(t *testing.T) {
	a := setup(t)
	a.register("mail.send")
	token := a.csrf("/dashboard/jobs/new")
	for _, tc := range []struct {
		form  url.Values
		field string
		says  string
	}{
		{url.Values{"kind": {"http.request"}, "http_url": {"ftp://files.example.com"}}, "http_url", "http:// or https://"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_method": {"BREW"}}, "http_method", "not one of"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_body": {"{nope"}, "http_body_type": {"json"}}, "http_body", "not valid JSON"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_header_name": {""}, "http_header_value": {"orphan"}}, "http_header", "needs a name"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_expect": {"200, 7xx"}}, "http_expect", "neither a status"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_timeout": {"soon"}}, "http_timeout", "positive duration"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/usr/sbin/shutdown"}}, "exec_program", "not allowed on this server"},
		{url.Values{"kind": {"exec"}, "exec_program": {"ls"}}, "exec_program", "absolute path"},
		{url.Values{"kind": {"mail.send"}, "args": {"[1, 2]"}}, "args", "must be a JSON object"},
		{url.Values{"kind": {"mail.send"}, "args": {`{"to":"ada@example.com"}`}, "queue": {"bad queue"}}, "queue", "without spaces"},
		{url.Values{"kind": {"mail.send"}, "max_attempts": {"0"}}, "max_attempts", "from 1 to 1000"},
		{url.Values{"kind": {"mail.send"}, "tags": {"ok, not ok!"}}, "tags", ""},
		{url.Values{"kind": {"mail.send"}, "when": {"at"}, "run_at": {"tomorrow"}}, "run_at", "date and time"},
		{url.Values{"kind": {"mail.send"}, "when": {"delay"}, "delay": {"-5m"}}, "delay", "duration"},
		{url.Values{"kind": {""}}, "kind", "Choose what the job does"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_header_name": {"X-A", "x-a"}, "http_header_value": {"1", "2"}}, "http_header", "same header"},
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_body": {`"just text"`}, "http_body_type": {"json"}}, "http_body", "choose text"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/sh"}, "exec_env_name": {"A", "A"}, "exec_env_value": {"1", "2"}}, "exec_env", "given twice"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/sh"}, "exec_env_name": {"BASH_ENV"}, "exec_env_value": {"/dev/stdin"}}, "exec_env", "can't be set"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/sh"}, "exec_env_name": {"TAR_OPTIONS"}, "exec_env_value": {"--checkpoint-action=exec=id"}}, "exec_env",
			"TAR_OPTIONS can't be set on this server: a job may set LANG, LANGUAGE, LC_*, TZ and MODE (--exec-allow-env)"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/sh"}, "exec_env_name": {"HOME"}, "exec_env_value": {"/tmp"}}, "exec_env", "HOME can't be set: Kiln sets"},
		{url.Values{"kind": {"mail.send"}, "args": {"{\"a\":\"\xff\"}"}}, "args", "not UTF-8"},
		// More rows than the form holds are refused, not silently dropped.
		{url.Values{"kind": {"http.request"}, "http_url": {"https://x.test"}, "http_header_name": rows("X-H", 101), "http_header_value": rows("v", 101)},
			"http_header", "At most 100 headers; 101 were sent"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/sh"}, "exec_env_name": rows("MODE", 101), "exec_env_value": rows("x", 101)},
			"exec_env", "At most 100 variables; 101 were sent"},
		{url.Values{"kind": {"exec"}, "exec_program": {"/bin/echo"}, "exec_arg": rows("a", 101)}, "exec_program", "At most 100 arguments; 101 were sent"},
	} {
		tc.form.Set("_csrf", token)
		resp, doc := a.post("/dashboard/jobs/new", tc.form)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, tc.form)
		require.NotEmpty(t, doc.Find(`[data-testid="error-`+tc.field+`"]`).Nodes, "%v: no error on %s", tc.form, tc.field)
		require.Contains(t, doc.Find(`[data-testid="error-`+tc.field+`"]`).Text(), tc.says, tc.form)
		for name, vals := range tc.form {
			if name == "_csrf" || name == "when" || name == "kind" || strings.HasPrefix(name, "http_header") || name == "http_body_type" || name == "http_method" ||
				strings.HasPrefix(name, "exec_env") || name == "exec_arg" {
				continue
			}
			sel := doc.Find(`[name="` + name + `"]`)
			got := sel.AttrOr("value", sel.Text())
			require.Equal(t, vals[0], got, "%s is kept", name)
		}
	}
	n, err := a.store.JobQueries.CountJobs(context.Background(), models.JobFilter{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing was enqueued")
}

// rows is n form values, prefix1 to prefix<n>.
func rows(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

type reportArgs struct {
	Month string `json:"month"`
}

// A kind registered with typed arguments shows its schema, and arguments that don't fit it are
// refused; exec is offered with what the server allows.
func TestNewJobFormOtherKinds(t *testing.T) {
	a := setup(t)
	_, err := jobs.Register(a.engine, "report.build", func(context.Context, *jobs.Job[reportArgs]) error { return nil })
	require.NoError(t, err)
	resp, doc := a.get("/dashboard/jobs/new?kind=report.build")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="args-schema"]`).Text(), `"month"`)

	// The fields a kind change swaps in, and the rows the Add buttons append.
	_, doc = a.get("/dashboard/jobs/new/fields?kind=exec")
	require.Equal(t, "exec", doc.Find(`[data-testid="kind-fields"]`).AttrOr("data-kind", ""))
	require.Contains(t, doc.Find(`[data-testid="exec-allowed"]`).Text(), "/bin/*")
	require.Contains(t, doc.Find(`[data-testid="exec-allowed-env"]`).Text(), "LANG, LANGUAGE, LC_*, TZ, MODE")
	require.Contains(t, doc.Find(`[data-testid="exec-allowed-env"]`).Text(), "PATH, HOME, TMPDIR, USER are the server's")
	_, doc = a.get("/dashboard/jobs/new/row?list=env")
	require.Len(t, doc.Find(`input[name="exec_env_name"]`).Nodes, 1)
	resp, _ = a.get("/dashboard/jobs/new/row?list=nope")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	token := a.csrf("/dashboard/jobs/new")
	resp, doc = a.post("/dashboard/jobs/new", url.Values{"_csrf": {token}, "kind": {"report.build"}, "args": {`{"month":"2026-11","oops":1}`}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), `don't fit report.build: unknown field "oops"`)
	job := a.jobFrom(a.postRaw("/dashboard/jobs/new", url.Values{"_csrf": {token}, "kind": {"report.build"}, "args": {`{"month":"2026-11"}`}}))
	require.JSONEq(t, `{"month":"2026-11"}`, job.Args)
	require.Equal(t, models.JobEnqueued, job.State)

	job = a.jobFrom(a.postRaw("/dashboard/jobs/new", url.Values{"_csrf": {token}, "kind": {"exec"}, "exec_program": {"/bin/sh"},
		"exec_arg": {"-c", "echo hi", "", "last", "", ""}, "exec_env_name": {"MODE"}, "exec_env_value": {"full"}, "exec_dir": {"/tmp"}, "exec_timeout": {"5m"}}))
	require.JSONEq(t, `{"command":["/bin/sh","-c","echo hi","","last"],"env":{"MODE":"full"},"dir":"/tmp","timeout":"5m"}`, job.Args,
		"an empty argument in the middle is kept; the blank rows at the end are not arguments")
	_, doc = a.get(fmt.Sprintf("/dashboard/jobs/new?from=%d", job.ID))
	require.Equal(t, "/bin/sh", doc.Find(`input[name="exec_program"]`).AttrOr("value", ""))
	require.Equal(t, "echo hi", doc.Find(`input[name="exec_arg"]`).Eq(1).AttrOr("value", ""))
	require.Equal(t, "last", doc.Find(`input[name="exec_arg"]`).Eq(3).AttrOr("value", ""), "Duplicate keeps the empty argument")
}

// An http.request job's page shows its response; viewers can't make jobs.
func TestJobPageShowsTheResponse(t *testing.T) {
	a := setup(t)
	job := a.enqueue(builtin.KindHTTPRequest, map[string]any{"url": "https://example.com"})
	a.finishWith(job, models.JobSucceeded, `{"status":201,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}","body_bytes":11,"duration_ms":12.5}`)
	_, doc := a.get(fmt.Sprintf("/dashboard/jobs/%d", job.ID))
	require.Contains(t, doc.Find(`[data-testid="http-status"]`).Text(), "201")
	require.Contains(t, doc.Find(`[data-testid="http-status"]`).Text(), "11 bytes")
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc.Find(`[data-testid="http-body"]`).Text()), &body))
	require.Equal(t, true, body["ok"])

	v := setupWith(t, web.Config{})
	v.addUser("val", models.RoleViewer)
	v.login("val", password)
	resp, _ := v.get("/dashboard/jobs/new")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = v.post("/dashboard/jobs/new", url.Values{"_csrf": {v.csrf("/dashboard")}, "kind": {"mail.send"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// The New job form writes the moment its date-and-time field holds as the dashboard writes
// dates, in the viewer's zone (the picker shows its locale's mm/dd/yyyy); a form sent back
// with an error shows it too.
func TestJobNewShowsTheMomentPicked(t *testing.T) {
	a := setup(t)
	a.setZone("Europe/Berlin")
	_, doc := a.get("/dashboard/jobs/new/when?run_at=2030-03-05T14:30")
	preview := doc.Find(`[data-testid="run-at-preview"]`)
	require.Equal(t, "Tue 5 Mar 2030, 14:30", preview.Find("time").Text())
	require.Equal(t, "2030-03-05T13:30:00Z", preview.Find("time").AttrOr("datetime", ""), "read in the viewer's zone")
	require.Regexp(t, `^in \d years?$`, preview.Find(".rel").Text())
	// 02:30 on the night the clocks go forward does not exist: the preview says when it runs.
	_, doc = a.get("/dashboard/jobs/new/when?run_at=2030-03-31T02:30")
	require.Equal(t, "Sun 31 Mar 2030, 03:30", doc.Find(`[data-testid="run-at-preview"] time`).Text())
	_, doc = a.get("/dashboard/jobs/new/when?run_at=2020-01-01T10:00")
	require.Contains(t, doc.Find(`[data-testid="run-at-preview"]`).Text(), "that has passed, so at once")
	for _, bad := range []string{"", "tomorrow", "2030-13-01T10:00"} {
		_, doc = a.get("/dashboard/jobs/new/when?run_at=" + url.QueryEscape(bad))
		require.Empty(t, strings.TrimSpace(doc.Find(`[data-testid="run-at-preview"]`).Text()), "%q shows nothing", bad)
	}

	token := a.csrf("/dashboard/jobs/new")
	resp, doc := a.post("/dashboard/jobs/new", url.Values{"_csrf": {token}, "kind": {"mail.send"}, "args": {"{"}, "when": {"at"}, "run_at": {"2030-03-05T14:30"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Equal(t, "Tue 5 Mar 2030, 14:30", doc.Find(`[data-testid="run-at-preview"] time`).Text())
}
