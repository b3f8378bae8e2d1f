package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The audit trail's table test: every action a person or a token takes writes exactly one
// entry, with who took it, the permission's name, what it acted on, how it went and, where the
// store records them, the fields before and after; on both dialects. The rows run in order on
// one server, as a day's work would: a row may act on what an earlier one made.

// auditScene is the world the rows act in: ada, an admin, logged in on the pages, and her token
// "ops" for the API, on one server.
type auditScene struct {
	page *app // ada's browser
	api  *app // the same server, a client without ada's cookies: the API with her token
	tok  string
	ids  map[string]int64 // what earlier rows made, by name
}

// on is the scene with its apps failing t, the running row's test.
func (s *auditScene) on(t *testing.T) *auditScene {
	page, api := *s.page, *s.api
	page.t, api.t = t, t
	return &auditScene{page: &page, api: &api, tok: s.tok, ids: s.ids}
}

// post posts form as ada's browser does, with her CSRF token, and wants the answer status.
func (s *auditScene) post(status int, path string, form url.Values) *http.Response {
	s.page.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", s.page.csrf("/dashboard"))
	resp, doc := s.page.post(path, form)
	require.Equal(s.page.t, status, resp.StatusCode, "POST %s: %s", path, doc.Find(`[data-testid^="error"]`).Text())
	return resp
}

// call calls the API with ada's token, and wants the answer status.
func (s *auditScene) call(status int, method, path string, body any) map[string]any {
	s.api.t.Helper()
	resp, out := s.api.apiCall(method, path, s.tok, body)
	require.Equal(s.api.t, status, resp.StatusCode, "%s %s: %v", method, path, out)
	return out
}

// submit posts the form sel of the page at path as a browser would, with the fields as the
// page filled them but for change.
func (s *auditScene) submit(status int, path, sel string, change url.Values) *http.Response {
	s.page.t.Helper()
	resp, doc := s.page.get(path)
	require.Equal(s.page.t, http.StatusOK, resp.StatusCode, path)
	form := doc.Find(sel)
	require.Equal(s.page.t, 1, form.Length(), "one form %s on %s", sel, path)
	values := formOf(form)
	for k, v := range change {
		values[k] = v
	}
	action := form.AttrOr("action", path)
	resp, doc = s.page.post(action, values)
	require.Equal(s.page.t, status, resp.StatusCode, "POST %s: %s", action, doc.Find(`[data-testid^="error"]`).Text())
	return resp
}

// formOf is what a browser submits for the form sel: its fields as the page filled them in.
func formOf(sel *goquery.Selection) url.Values {
	v := url.Values{}
	sel.Find("input[name], select[name], textarea[name]").Each(func(_ int, f *goquery.Selection) {
		name := f.AttrOr("name", "")
		if _, off := f.Attr("disabled"); off {
			return
		}
		switch goquery.NodeName(f) {
		case "select":
			opt := f.Find("option[selected]").First()
			if opt.Length() == 0 {
				opt = f.Find("option").First()
			}
			if opt.Length() > 0 {
				v.Add(name, opt.AttrOr("value", opt.Text()))
			}
		case "textarea":
			v.Add(name, f.Text())
		default:
			switch f.AttrOr("type", "text") {
			case "checkbox", "radio":
				if _, on := f.Attr("checked"); on {
					v.Add(name, f.AttrOr("value", "on"))
				}
			case "submit", "button", "reset":
			default:
				v.Add(name, f.AttrOr("value", ""))
			}
		}
	})
	return v
}

// auditWant is the one entry a row's action must add to the trail.
type auditWant struct {
	api     bool   // made with ada's token ("token ops", owned by ada), not her browser
	actor   string // who, when not ada nor her token: a login's username, or "token NAME" of a token no one owns
	action  string // the permission's name (the entry's action starts with it and a space), or login/logout
	target  string
	kind    string
	outcome string // models.AuditOK when empty
	// details are the entry's details as JSON: exactly, or, with partial, the fields named among
	// others; empty: none.
	details string
	partial bool
	absent  []string // fields the details must not hold (a made entry's empty ones)
}

// auditRow is one action and the entry it must write.
type auditRow struct {
	name string
	do   func(s *auditScene) auditWant
}

// Every action listed writes exactly one audit entry, with the right actor, on both dialects.
func TestAuditEveryActionWritesOneEntry(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		rows := append(append(append(jobAuditRows(), recurringAuditRows()...), settingsAuditRows()...), alertAuditRows()...)
		runAuditRows(t, newAuditScene(t, a), append(rows, loginAuditRows()...))
	})
}

// newAuditScene logs ada in on a's browser and gives her the token "ops".
func newAuditScene(t *testing.T, a *app) *auditScene {
	t.Helper()
	a.register("mail.send", "report.build")
	a.addUser("ada", models.RoleAdmin)
	require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
	api := *a
	api.client = newClient(t)
	return &auditScene{page: a, api: &api, tok: a.ownedToken("ops", models.RoleAdmin, "ada"), ids: map[string]int64{}}
}

// runAuditRows runs the rows in order, each a subtest that wants exactly one new entry, as the
// row says; then the whole trail verifies.
func runAuditRows(t *testing.T, scene *auditScene, rows []auditRow) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := scene.on(t)
			before := len(s.page.auditEntries())
			want := row.do(s)
			got := s.page.auditEntries()
			require.Len(t, got, before+1, "exactly one new entry: %+v", got[before:])
			checkAuditEntry(t, got[before], want)
		})
	}
	v, err := scene.page.store.Audit.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.Zero(t, v.BadID, v.Problem)
}

// checkAuditEntry checks e is the entry want describes.
func checkAuditEntry(t *testing.T, e models.AuditEntry, want auditWant) {
	t.Helper()
	switch {
	case want.api:
		require.Equal(t, "token ops", e.Actor)
		require.Equal(t, models.AuditActorToken, e.ActorKind)
		require.NotNil(t, e.TokenOwner, "the token's owner")
		require.Equal(t, "ada", *e.TokenOwner)
	case strings.HasPrefix(want.actor, "token "): // a token no one owns
		require.Equal(t, want.actor, e.Actor)
		require.Equal(t, models.AuditActorToken, e.ActorKind)
		require.Nil(t, e.TokenOwner)
	default:
		actor := want.actor
		if actor == "" {
			actor = "ada"
		}
		require.Equal(t, actor, e.Actor)
		require.Equal(t, models.AuditActorUser, e.ActorKind)
		require.Nil(t, e.TokenOwner)
	}
	if want.action == "login" || want.action == "logout" {
		require.Equal(t, want.action, e.Action)
	} else {
		require.True(t, strings.HasPrefix(e.Action, want.action+" "), "%q is %s's", e.Action, want.action)
	}
	require.Equal(t, want.target, e.Target)
	require.Equal(t, want.kind, e.Kind)
	outcome := want.outcome
	if outcome == "" {
		outcome = models.AuditOK
	}
	require.Equal(t, outcome, e.Outcome)
	switch {
	case want.details == "":
		require.Empty(t, e.Details)
	case want.partial:
		var got, wanted map[string]any
		require.NoError(t, json.Unmarshal([]byte(e.Details), &got), e.Details)
		require.NoError(t, json.Unmarshal([]byte(want.details), &wanted))
		for k, v := range wanted {
			require.Equal(t, v, got[k], "details' %s in %s", k, e.Details)
		}
		for _, k := range want.absent {
			require.NotContains(t, got, k, "details of %s", e.Details)
		}
	default:
		require.JSONEq(t, want.details, e.Details)
	}
}

// jobAction does action to a new job in state from, through the page (with the path's name
// for it) or the API, and wants the entry of its move to state to.
func jobAction(api bool, path, perm string, from, to models.JobState) func(s *auditScene) auditWant {
	return func(s *auditScene) auditWant {
		j := s.page.jobIn(from)
		id := itoa(j.ID)
		switch {
		case !api:
			s.post(http.StatusSeeOther, "/dashboard/jobs/"+id+"/"+path, nil)
		case path == "delete":
			s.call(http.StatusNoContent, http.MethodDelete, "/api/v1/jobs/"+id, nil)
		default:
			s.call(http.StatusOK, http.MethodPost, "/api/v1/jobs/"+id+"/"+path, nil)
		}
		return auditWant{api: api, action: perm, target: "job " + id, kind: j.Kind,
			details: fmt.Sprintf(`{"state":{"before":%q,"after":%q}}`, from, to)}
	}
}

func jobAuditRows() []auditRow {
	return []auditRow{
		{"job enqueue API", func(s *auditScene) auditWant {
			body := s.call(http.StatusCreated, http.MethodPost, "/api/v1/jobs", map[string]any{"kind": "mail.send", "args": map[string]string{"to": "bo"}})
			return auditWant{api: true, action: "jobs.enqueue", target: fmt.Sprintf("job %v", body["id"]), kind: "mail.send"}
		}},
		{"job batch API", func(s *auditScene) auditWant {
			s.call(http.StatusCreated, http.MethodPost, "/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{
				{"kind": "mail.send"}, {"kind": "report.build"}, {"kind": "mail.send", "delay": "1h"}}})
			return auditWant{api: true, action: "jobs.enqueue", details: `{"jobs":3,"kinds":["mail.send","report.build"]}`}
		}},
		{"job enqueue page", func(s *auditScene) auditWant {
			j := s.page.jobFrom(s.post(http.StatusSeeOther, "/dashboard/jobs/new", url.Values{"kind": {"report.build"}, "args": {`{"month":"2026-11"}`}}))
			s.ids["enqueued"] = j.ID
			return auditWant{action: "jobs.enqueue", target: "job " + itoa(j.ID), kind: "report.build"}
		}},
		{"job duplicate page", func(s *auditScene) auditWant {
			resp := s.submit(http.StatusSeeOther, "/dashboard/jobs/new?from="+itoa(s.ids["enqueued"]), `form:has(select[name="kind"])`, nil)
			j := s.page.jobFrom(resp)
			require.NotEqual(s.page.t, s.ids["enqueued"], j.ID)
			require.JSONEq(s.page.t, `{"month":"2026-11"}`, j.Args, "a copy")
			return auditWant{action: "jobs.enqueue", target: "job " + itoa(j.ID), kind: "report.build"}
		}},
		{"job cancel page", jobAction(false, "cancel", "jobs.cancel", models.JobEnqueued, models.JobCancelled)},
		{"job cancel API", jobAction(true, "cancel", "jobs.cancel", models.JobScheduled, models.JobCancelled)},
		{"job delete page", jobAction(false, "delete", "jobs.delete", models.JobCancelled, models.JobDeleted)},
		{"job delete API", jobAction(true, "delete", "jobs.delete", models.JobEnqueued, models.JobDeleted)},
		{"job retry page", jobAction(false, "requeue", "jobs.retry", models.JobCancelled, models.JobEnqueued)},
		{"job retry API", jobAction(true, "requeue", "jobs.retry", models.JobDeleted, models.JobEnqueued)},
		{"job run now page", jobAction(false, "run", "jobs.run_now", models.JobScheduled, models.JobEnqueued)},
		{"job run now page, old name", jobAction(false, "trigger", "jobs.run_now", models.JobScheduled, models.JobEnqueued)},
		{"job run now API", jobAction(true, "run", "jobs.run_now", models.JobScheduled, models.JobEnqueued)},
		{"job bulk page", func(s *auditScene) auditWant {
			j1, j2, done := s.page.jobIn(models.JobCancelled), s.page.jobIn(models.JobCancelled), s.page.jobIn(models.JobEnqueued)
			s.post(http.StatusSeeOther, "/dashboard/jobs/bulk", url.Values{"action": {"requeue"}, "ids": {itoa(j1.ID), itoa(j2.ID), itoa(done.ID)}})
			return auditWant{action: "jobs.bulk", outcome: "303",
				details: `{"action":"requeue","scope":"selected","filter":"/dashboard/jobs","done":2,"skipped":1}`}
		}},
	}
}

// recurringPath is the page path of the recurring job name, with its action.
func (s *auditScene) recurringPath(name, action string) string {
	s.page.t.Helper()
	rj, err := s.page.store.Recurring.GetRecurring(context.Background(), name)
	require.NoError(s.page.t, err)
	return "/dashboard/recurring/" + itoa(rj.ID) + "/" + action
}

func recurringAuditRows() []auditRow {
	// nightly is made and changed on the pages, weekly through the API.
	const nightly, weekly = "recurring nightly", "recurring weekly"
	return []auditRow{
		{"recurring create page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/recurring/new", url.Values{"name": {"nightly"}, "spec": {"0 2 * * *"}, "tz": {"UTC"},
				"misfire": {"relaxed"}, "overlap": {"skip"}, "kind": {"report.build"}, "args": {`{"month":"2026-11"}`}, "max_attempts": {"4"}})
			return auditWant{action: "recurring.edit", target: nightly, kind: "report.build", partial: true,
				details: `{"spec":{"before":null,"after":"0 2 * * *"},"overlap":{"before":null,"after":"skip"},"max_attempts":{"before":null,"after":4}}`,
				absent:  []string{"paused", "timeout"}} // made: its empty fields say nothing
		}},
		{"recurring create API", func(s *auditScene) auditWant {
			s.call(http.StatusCreated, http.MethodPost, "/api/v1/recurring", map[string]any{"name": "weekly", "spec": "0 8 * * 1", "kind": "mail.send"})
			return auditWant{api: true, action: "recurring.edit", target: weekly, kind: "mail.send", partial: true,
				details: `{"spec":{"before":null,"after":"0 8 * * 1"},"kind":{"before":null,"after":"mail.send"}}`}
		}},
		{"recurring edit page", func(s *auditScene) auditWant {
			s.submit(http.StatusSeeOther, s.recurringPath("nightly", "edit"), `form:has(input[name="spec"])`, url.Values{"spec": {"30 3 * * *"}})
			return auditWant{action: "recurring.edit", target: nightly, kind: "report.build",
				details: `{"spec":{"before":"0 2 * * *","after":"30 3 * * *"}}`}
		}},
		{"recurring edit API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPut, "/api/v1/recurring/weekly", map[string]any{"spec": "0 9 * * 1", "time_zone": "Europe/Berlin", "overlap": "replace"})
			return auditWant{api: true, action: "recurring.edit", target: weekly, kind: "mail.send",
				details: `{"spec":{"before":"0 8 * * 1","after":"0 9 * * 1"},"time_zone":{"before":"UTC","after":"Europe/Berlin"},
					"overlap":{"before":"allow","after":"replace"}}`}
		}},
		{"recurring schedule edit page, defined in code", func(s *auditScene) auditWant {
			s.page.recurring("hourly", "0 4 * * *")
			s.submit(http.StatusSeeOther, s.recurringPath("hourly", "edit"), `form:has(input[name="spec"])`, url.Values{"spec": {"0 5 * * *"}, "overlap": {"skip"}})
			return auditWant{action: "recurring.edit", target: "recurring hourly", kind: "report.build",
				details: `{"spec":{"before":"0 4 * * *","after":"0 5 * * *"},"overlap":{"before":"allow","after":"skip"}}`}
		}},
		{"recurring pause page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, s.recurringPath("nightly", "pause"), nil)
			return auditWant{action: "recurring.pause", target: nightly, kind: "report.build", details: `{"paused":{"before":false,"after":true}}`}
		}},
		{"recurring pause API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPost, "/api/v1/recurring/weekly/pause", nil)
			return auditWant{api: true, action: "recurring.pause", target: weekly, kind: "mail.send", details: `{"paused":{"before":false,"after":true}}`}
		}},
		{"recurring resume page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, s.recurringPath("nightly", "resume"), nil)
			return auditWant{action: "recurring.pause", target: nightly, kind: "report.build", details: `{"paused":{"before":true,"after":false}}`}
		}},
		{"recurring resume API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPost, "/api/v1/recurring/weekly/resume", nil)
			return auditWant{api: true, action: "recurring.pause", target: weekly, kind: "mail.send", details: `{"paused":{"before":true,"after":false}}`}
		}},
		{"recurring trigger page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, s.recurringPath("nightly", "trigger"), nil)
			return auditWant{action: "recurring.trigger", target: nightly, kind: "report.build"}
		}},
		{"recurring trigger API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPost, "/api/v1/recurring/weekly/trigger", nil)
			return auditWant{api: true, action: "recurring.trigger", target: weekly, kind: "mail.send"}
		}},
		{"recurring delete page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, s.recurringPath("nightly", "delete"), nil)
			return auditWant{action: "recurring.edit", target: nightly, kind: "report.build", partial: true,
				details: `{"spec":{"before":"30 3 * * *","after":null}}`, absent: []string{"paused"}}
		}},
		{"recurring delete API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodDelete, "/api/v1/recurring/weekly", nil)
			return auditWant{api: true, action: "recurring.edit", target: weekly, kind: "mail.send", partial: true,
				details: `{"spec":{"before":"0 9 * * 1","after":null}}`}
		}},
	}
}

// settingsAuditRows are the rows of queues, kinds, secrets and tokens.
func settingsAuditRows() []auditRow {
	paused := func(before, after bool) string {
		return fmt.Sprintf(`{"paused":{"before":%t,"after":%t}}`, before, after)
	}
	return []auditRow{
		{"queue pause page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/queues/low/pause", nil)
			return auditWant{action: "queues.pause", target: "queue low", details: paused(false, true)}
		}},
		{"queue resume page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/queues/low/resume", nil)
			return auditWant{action: "queues.pause", target: "queue low", details: paused(true, false)}
		}},
		{"queue pause API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodPost, "/api/v1/queues/high/pause", nil)
			return auditWant{api: true, action: "queues.pause", target: "queue high", details: paused(false, true)}
		}},
		{"queue resume API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodPost, "/api/v1/queues/high/resume", nil)
			return auditWant{api: true, action: "queues.pause", target: "queue high", details: paused(true, false)}
		}},
		{"kind limits page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/kinds/emails/limits", url.Values{"max_running": {"2"}, "rate_n": {"0"}, "rate_per": {"1m"}})
			return auditWant{action: "limits.manage", target: "kind emails", kind: "emails", details: `{"max_running":{"before":0,"after":2}}`}
		}},
		{"kind limits API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPut, "/api/v1/kinds/emails/limits", map[string]any{"max_running": 3, "rate_n": 5, "rate_per": "1m"})
			return auditWant{api: true, action: "limits.manage", target: "kind emails", kind: "emails",
				details: `{"max_running":{"before":2,"after":3},"rate_n":{"before":0,"after":5},"rate_per_seconds":{"before":0,"after":60}}`}
		}},
		{"secret set page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/secrets", url.Values{"name": {"x"}, "value": {"v-1"}})
			return auditWant{action: "secrets.manage", target: "secret x", details: `{"created":true}`}
		}},
		{"secret set API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPut, "/api/v1/secrets/x", map[string]string{"value": "v-2"})
			return auditWant{api: true, action: "secrets.manage", target: "secret x", details: `{"created":false}`}
		}},
		{"secret delete page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/secrets/x/delete", nil)
			return auditWant{action: "secrets.manage", target: "secret x"}
		}},
		{"secret create API", func(s *auditScene) auditWant {
			s.call(http.StatusCreated, http.MethodPut, "/api/v1/secrets/z", map[string]string{"value": "v-3"})
			return auditWant{api: true, action: "secrets.manage", target: "secret z", details: `{"created":true}`}
		}},
		{"secret delete API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodDelete, "/api/v1/secrets/z", nil)
			return auditWant{api: true, action: "secrets.manage", target: "secret z"}
		}},
		{"token create page", func(s *auditScene) auditWant {
			s.post(http.StatusCreated, "/dashboard/tokens", url.Values{"name": {"y"}, "role": {"operator"}}) // the page that shows it once
			return auditWant{action: "tokens.own", target: "token y",
				details: `{"role":{"before":null,"after":"operator"},"owner":{"before":null,"after":"ada"}}`}
		}},
		{"token revoke page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/tokens/y/revoke", nil)
			return auditWant{action: "tokens.own", target: "token y"}
		}},
	}
}
