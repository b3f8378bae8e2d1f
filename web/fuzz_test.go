package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// The fuzz targets send what a hostile or careless client might (forms, API bodies, query
// strings, redirect targets) through the real handler on a real SQLite database, and check
// three things of every answer: no panic (the test would crash), no 5xx, and no partial write
// (a refused request leaves every table's row count as it was). CI runs each for a few
// seconds from the seeds below (make fuzz); run one longer with, for example:
//
//	go test -run '^$' -fuzz '^FuzzForms$' -fuzztime 10m ./web/

// fuzzer is a Kiln server behind an in-process handler, with local access (no login) and a
// CSRF cookie and token, as a browser on the same machine would have.
type fuzzer struct {
	store   *models.Store
	handler http.Handler
	cookie  string
	token   string
}

// fuzzTables are the tables a refused request must leave as they were.
var fuzzTables = []string{"jobs", "job_events", "job_logs", "job_tags", "tasks", "recurring_jobs", "api_tokens",
	"secrets", "kind_limits", "kind_code_limits", "kind_rate_counts", "users", "queue_settings", "settings", "sessions",
	"job_queue_counts", "job_queue_count_deltas", "job_stats", "kind_stats", "known_kinds"}

func newFuzzer(f *testing.F) *fuzzer {
	f.Helper()
	store := modeltest.Open(f, modeltest.SQLiteDSN(f))
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	if err != nil {
		f.Fatal(err)
	}
	vault, err := secrets.Open(context.Background(), store, "")
	if err != nil {
		f.Fatal(err)
	}
	bcfg := builtin.Config{Secrets: vault, ExecAllow: []string{"/bin/*", "/usr/bin/*"}}
	if err := builtin.Register(engine, store.Jobs, bcfg); err != nil {
		f.Fatal(err)
	}
	srv, err := web.New(web.Config{LocalNoAuth: true, Secrets: vault, Exec: bcfg.ExecPolicy()}, store, engine, nil)
	if err != nil {
		f.Fatal(err)
	}
	z := &fuzzer{store: store, handler: srv.Handler()}
	rec := z.serve(httptest.NewRequest(http.MethodGet, "/tasks/new", nil))
	if rec.Code != http.StatusOK {
		f.Fatalf("GET /tasks/new: %d", rec.Code)
	}
	for _, c := range rec.Result().Cookies() {
		z.cookie += c.Name + "=" + c.Value + "; "
	}
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		f.Fatal("no CSRF token on /tasks/new")
	}
	z.token = m[1]
	// Something to edit, act on and page through.
	ctx := context.Background()
	if _, err := store.Tasks.CreateTask(ctx, models.TaskInput{Title: "seed", DueAt: time.Now().Add(time.Hour)}); err != nil {
		f.Fatal(err)
	}
	if _, err := engine.Enqueue(ctx, "seed.kind", map[string]int{"n": 1}, jobs.Tags("seed")); err != nil {
		f.Fatal(err)
	}
	// Inputs reach the handlers: a valid form gets past the host, CSRF and auth checks.
	rec = z.serve(z.postForm("/tasks", url.Values{"title": {"valid"}, "due_at": {"2030-01-01T10:00"}, "tz": {"UTC"}}))
	if rec.Code != http.StatusSeeOther {
		f.Fatalf("a valid task form got %d, not 303: the fuzzer's requests don't reach the handlers", rec.Code)
	}
	return z
}

func (z *fuzzer) serve(r *http.Request) *httptest.ResponseRecorder {
	r.Host = "127.0.0.1"
	r.RemoteAddr = "127.0.0.1:40000"
	if z.cookie != "" {
		r.Header.Set("Cookie", z.cookie)
	}
	rec := httptest.NewRecorder()
	z.handler.ServeHTTP(rec, r)
	return rec
}

// countsSQL counts the rows of every fuzzTables table in one statement: the check runs it
// twice per input.
var countsSQL = func() string {
	parts := make([]string, len(fuzzTables))
	for i, table := range fuzzTables {
		parts[i] = "(SELECT COUNT(*) FROM " + table + ")"
	}
	return "SELECT " + strings.Join(parts, ", ")
}()

func (z *fuzzer) counts(t *testing.T) map[string]int64 {
	t.Helper()
	n := make([]int64, len(fuzzTables))
	ptrs := make([]any, len(n))
	for i := range n {
		ptrs[i] = &n[i]
	}
	sqlDB, err := modeltest.DB(z.store).DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.QueryRow(countsSQL).Scan(ptrs...); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	out := make(map[string]int64, len(fuzzTables))
	for i, table := range fuzzTables {
		out[table] = n[i]
	}
	return out
}

// check sends r and fails on a 5xx, or on a refused (4xx) request that changed a row count.
// It returns the response.
func (z *fuzzer) check(t *testing.T, r *http.Request, what string) *httptest.ResponseRecorder {
	t.Helper()
	before := z.counts(t)
	rec := z.serve(r)
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, truncateBody(rec.Body.String()))
	}
	if rec.Code >= 400 {
		after := z.counts(t)
		for table, n := range before {
			if after[table] != n {
				t.Fatalf("%s: refused with %d, yet %s went from %d to %d rows", what, rec.Code, table, n, after[table])
			}
		}
	}
	return rec
}

func truncateBody(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

func (z *fuzzer) postForm(path string, form url.Values) *http.Request {
	form.Set("_csrf", z.token)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// formTargets are the forms FuzzForms posts to, with the fields its strings fill, in order.
var formTargets = []struct {
	path   string
	fields []string
}{
	{"/tasks", []string{"title", "description", "due_at", "tz", "return_to"}},
	{"/tasks/1", []string{"title", "description", "due_at", "tz", "return_to"}},
	{"/dashboard/jobs/new", []string{"kind", "args", "queue", "priority", "max_attempts", "timeout", "tags", "when", "delay", "run_at"}},
	{"/dashboard/jobs/new", []string{"kind", "http_method", "http_url", "http_body", "http_timeout", "http_expect", "http_max_body", "http_body_type"}},
	{"/dashboard/jobs/new", []string{"kind", "exec_program", "exec_dir", "exec_stdin", "exec_timeout", "exec_env_name", "exec_env_value"}},
	{"/dashboard/recurring/new", []string{"name", "spec", "tz", "kind", "args", "queue", "overlap", "misfire"}},
	{"/dashboard/kinds/seed.kind/limits", []string{"max_running", "rate_n", "rate_per"}},
	{"/dashboard/tokens", []string{"name", "role", "expires"}},
	{"/dashboard/secrets", []string{"name", "value"}},
	{"/dashboard/jobs/bulk", []string{"action", "scope", "state", "kind", "queue", "q", "tag", "confirm", "return_to", "ids"}},
	{"/dashboard/queues/default/pause", []string{"return_to"}},
}

// FuzzForms posts every form of the site with fuzzed fields.
func FuzzForms(f *testing.F) {
	seeds := [][6]string{
		{"Water the plants", "Both balconies", "2027-03-14T09:30", "America/New_York", "/", ""},
		{"mail.send", `{"to":"ada@example.com"}`, "default", "5", "3", "30s"},
		{"http.request", "POST", "https://example.com/hook", `{"a":1}`, "10s", "2xx"},
		{"exec", "/bin/echo", "/tmp", "hello", "5s", "HOME"},
		{"nightly", "0 2 * * *", "Europe/Berlin", "report.build", "{}", "skip"},
		{"5", "100", "1m", "", "", ""},
		{"ci", "admin", "720h", "", "", ""},
		{"cancel", "all", "failed", "", "", "yes"},
		{"\x00", "\xff\xfe", "9999-12-31T23:59:59", "../../etc/passwd", "//evil.example", "-1"},
		{strings.Repeat("x", 300), "{", "", "Local", "javascript:alert(1)", "1e309"},
		{"@every 0s", "* * * * * * *", "Etc/GMT+14", "", "", "NaN"},
	}
	for i, s := range seeds {
		f.Add(uint8(i), s[0], s[1], s[2], s[3], s[4], s[5])
	}
	z := newFuzzer(f)
	f.Fuzz(func(t *testing.T, which uint8, a, b, c, d, e, g string) {
		target := formTargets[int(which)%len(formTargets)]
		values := []string{a, b, c, d, e, g}
		form := url.Values{}
		for i, field := range target.fields {
			form.Set(field, values[i%len(values)])
		}
		z.check(t, z.postForm(target.path, form), "POST "+target.path)
	})
}

// apiTargets are the API operations that take a body.
var apiTargets = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/jobs"},
	{http.MethodPost, "/api/v1/jobs/batch"},
	{http.MethodPost, "/api/v1/recurring"},
	{http.MethodPut, "/api/v1/recurring/nightly"},
	{http.MethodPost, "/api/v1/tasks"},
	{http.MethodPut, "/api/v1/tasks/1"},
	{http.MethodPut, "/api/v1/secrets/fuzz-secret"},
	{http.MethodPut, "/api/v1/kinds/seed.kind/limits"},
	{http.MethodPost, "/api/v1/jobs/1/requeue"},
	{http.MethodPost, "/api/v1/queues/default/pause"},
}

// FuzzAPIBodies sends fuzzed JSON to every API operation that takes a body, with fuzzed
// headers that matter (an Idempotency-Key).
func FuzzAPIBodies(f *testing.F) {
	seeds := []string{
		`{"kind":"mail.send","args":{"to":"ada@example.com"},"queue":"default","tags":["a"],"unique_key":"k1"}`,
		`{"jobs":[{"kind":"a"},{"kind":"b","delay":"5m"},{"kind":""}]}`,
		`{"name":"nightly","spec":"0 2 * * *","time_zone":"Europe/Berlin","kind":"report.build","overlap":"skip"}`,
		`{"spec":"@every 1m","time_zone":"UTC"}`,
		`{"title":"Plan","due_at":"2027-01-01T10:00:00Z"}`,
		`{"value":"hunter2"}`,
		`{"max_running":2,"rate_n":10,"rate_per":"1m"}`,
		`{"kind":"http.request","args":{"method":"GET","url":"https://example.com","headers":{"X":"{{secret:nope}}"}}}`,
		`{"kind":"exec","args":{"program":"/bin/sh","argv":["-c","true"],"timeout":"1s"}}`,
		`{"kind":"a","run_at":"0000-01-01T00:00:00Z","priority":1e99,"max_attempts":-1,"timeout":"-1s"}`,
		`{"kind":"\u0000","args":"\ud800","tags":[""," ",",,"]}`,
		`[]`, `null`, `{`, ``, `{"jobs":null}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s), "")
		f.Add(uint8(i+1), []byte(s), "idem-1")
	}
	z := newFuzzer(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte, idem string) {
		target := apiTargets[int(which)%len(apiTargets)]
		r := httptest.NewRequest(target.method, target.path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if idem != "" && isHeaderValue(idem) {
			r.Header.Set("Idempotency-Key", idem)
		}
		rec := z.check(t, r, target.method+" "+target.path)
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s: %d without a problem+json body: %q", target.method, target.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

// isHeaderValue says whether net/http would send v as a header value at all.
func isHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// queryTargets are the pages and API lists that read query strings (search, filters, paging,
// cursors, ranges, previews); FuzzQueries appends a fuzzed query to each.
var queryTargets = []string{
	"/dashboard/jobs", "/api/v1/jobs", "/", "/dashboard", "/dashboard/live", "/dashboard/recurring/preview",
	"/api/v1/tasks", "/dashboard/jobs/new/fields", "/dashboard/kinds", "/login", "/dashboard/jobs/1", "/tasks/live",
}

// FuzzQueries sends fuzzed query strings to every page and list that reads one: the search
// box, filters, cursors and page sizes, the history range, the schedule preview. They are
// reads: nothing may change, and nothing may fail.
func FuzzQueries(f *testing.F) {
	for i, q := range []string{
		"q=%22n%22%3A7&state=failed&kind=a&queue=b&tag=x&limit=100",
		"q=tag%3Abilling+boom&after=99999999999&limit=-1",
		"before=abc&after=1&limit=1000000",
		"status=overdue&page=0", "status=pending&page=99999999999999999999",
		"history=7d", "history=1y",
		"spec=*/5+*+*+*+*&tz=Europe/Berlin", "spec=@every+1ns&tz=Mars/Olympus", "spec=0+2+30+2+*&tz=UTC",
		"state=%00&q=%ff%fe", "q=" + strings.Repeat("%25", 300), "kind=http.request", "next=//evil.example",
		"id=-1", "id=1e9",
	} {
		f.Add(uint8(i), q)
	}
	z := newFuzzer(f)
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		path := queryTargets[int(which)%len(queryTargets)]
		u := &url.URL{Path: path, RawQuery: query}
		r, err := http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return // not a request any client could send
		}
		r.RequestURI = u.RequestURI()
		before := z.counts(t)
		rec := z.serve(r)
		if rec.Code >= 500 {
			t.Fatalf("GET %s?%s: %d %s", path, query, rec.Code, truncateBody(rec.Body.String()))
		}
		after := z.counts(t)
		for table, n := range before {
			if after[table] != n {
				t.Fatalf("GET %s?%s changed %s: %d to %d rows", path, query, table, n, after[table])
			}
		}
	})
}

// FuzzRedirectTargets: wherever a form or link says where to go next (login's next, the
// return_to of task and job actions), the redirect stays on this site.
func FuzzRedirectTargets(f *testing.F) {
	for _, s := range []string{"/dashboard", "//evil.example", "/\\evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "javascript:alert(1)", "\t//evil.example", "/ok?x=1#y", "///evil", "/login", "\x00/"} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
		f.Add(uint8(2), s)
	}
	z := newFuzzer(f)
	f.Fuzz(func(t *testing.T, which uint8, next string) {
		var r *http.Request
		switch which % 3 {
		case 0:
			r = z.postForm("/tasks/1/complete", url.Values{"return_to": {next}})
		case 1:
			r = z.postForm("/dashboard/jobs/bulk", url.Values{"action": {"cancel"}, "ids": {"999999"}, "return_to": {next}})
		default:
			u := &url.URL{Path: "/login", RawQuery: url.Values{"next": {next}}.Encode()}
			r = httptest.NewRequest(http.MethodGet, u.String(), nil) // local access: straight to next
		}
		rec := z.check(t, r, fmt.Sprintf("redirect to %q", next))
		loc := rec.Header().Get("Location")
		if loc == "" {
			return
		}
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n") {
			t.Fatalf("redirect for %q leaves the site: Location %q", next, loc)
		}
	})
}
