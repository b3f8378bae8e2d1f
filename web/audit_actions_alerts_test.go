package web_test

import (
	"net/http"
	"net/url"
	"time"

	"github.com/stretchr/testify/require"
)

// The rows of TestAuditEveryActionWritesOneEntry for alerts, their rules and channels, and for
// logging in and out.

func alertAuditRows() []auditRow {
	return []auditRow{
		{"rule create page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/alerts/rules/new", url.Values{"watch": {"failures-within"}, "name": {"r"},
				"scope": {"kind"}, "target": {"report.build"}, "threshold": {"3"}, "within": {"10m"}, "enabled": {"1"}})
			return auditWant{action: "alert_rules.edit", target: "rule r", partial: true,
				details: `{"watch":{"before":null,"after":"failures-within"},"threshold":{"before":null,"after":3},"within":{"before":null,"after":"10m0s"}}`}
		}},
		{"rule edit page", func(s *auditScene) auditWant {
			s.submit(http.StatusSeeOther, "/dashboard/alerts/rules/r/edit", `[data-testid="rule-form"]`, url.Values{"threshold": {"5"}})
			return auditWant{action: "alert_rules.edit", target: "rule r", details: `{"threshold":{"before":3,"after":5}}`}
		}},
		{"rule delete page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/alerts/rules/r/delete", nil)
			return auditWant{action: "alert_rules.edit", target: "rule r", partial: true,
				details: `{"watch":{"before":"failures-within","after":null},"threshold":{"before":5,"after":null}}`}
		}},
		{"rule create API", func(s *auditScene) auditWant {
			s.call(http.StatusCreated, http.MethodPost, "/api/v1/alerts/rules", map[string]any{"name": "late", "watch": "missed-schedule",
				"scope": "recurring", "target": "nightly", "grace": "30m"})
			return auditWant{api: true, action: "alert_rules.edit", target: "rule late", partial: true,
				details: `{"watch":{"before":null,"after":"missed-schedule"},"grace":{"before":null,"after":"30m0s"}}`}
		}},
		{"rule edit API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPut, "/api/v1/alerts/rules/late", map[string]any{"name": "late", "watch": "missed-schedule",
				"scope": "recurring", "target": "weekly", "grace": "30m"})
			return auditWant{api: true, action: "alert_rules.edit", target: "rule late", details: `{"target":{"before":"nightly","after":"weekly"}}`}
		}},
		{"rule delete API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodDelete, "/api/v1/alerts/rules/late", nil)
			return auditWant{api: true, action: "alert_rules.edit", target: "rule late", partial: true,
				details: `{"target":{"before":"weekly","after":null}}`}
		}},
		{"channel create page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/alerts/channels/new", url.Values{"type": {"webhook"}, "name": {"c"}, "url": {"https://hooks.example.com/a"}})
			return auditWant{action: "channels.edit", target: "channel c", details: `{"type":{"before":null,"after":"webhook"}}`}
		}},
		{"channel edit page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/alerts/channels/c", url.Values{"type": {"webhook"}, "url": {"https://hooks.example.com/b"}})
			return auditWant{action: "channels.edit", target: "channel c", details: `{"settings":"changed"}`}
		}},
		{"channel delete page", func(s *auditScene) auditWant {
			s.post(http.StatusSeeOther, "/dashboard/alerts/channels/c/delete", nil)
			return auditWant{action: "channels.edit", target: "channel c"}
		}},
		{"channel create API", func(s *auditScene) auditWant {
			s.call(http.StatusCreated, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "hook", "type": "webhook",
				"settings": map[string]any{"url": "https://hooks.example.com/in"}})
			return auditWant{api: true, action: "channels.edit", target: "channel hook", details: `{"type":{"before":null,"after":"webhook"}}`}
		}},
		{"channel edit API", func(s *auditScene) auditWant {
			s.call(http.StatusOK, http.MethodPut, "/api/v1/alerts/channels/hook", map[string]any{"type": "slack",
				"settings": map[string]any{"url": "https://hooks.slack.com/services/c"}})
			return auditWant{api: true, action: "channels.edit", target: "channel hook",
				details: `{"type":{"before":"webhook","after":"slack"},"settings":"changed"}`}
		}},
		{"channel delete API", func(s *auditScene) auditWant {
			s.call(http.StatusNoContent, http.MethodDelete, "/api/v1/alerts/channels/hook", nil)
			return auditWant{api: true, action: "channels.edit", target: "channel hook"}
		}},
		{"alert acknowledge page", func(s *auditScene) auditWant {
			id := s.page.openAlert("mail failing", "mail.send", time.Now())
			s.ids["alert"] = id
			s.post(http.StatusSeeOther, "/dashboard/alerts/"+itoa(id)+"/acknowledge", nil)
			return auditWant{action: "alerts.ack", target: "alert " + itoa(id), details: `{"acknowledged_by":{"before":"","after":"ada"}}`}
		}},
		{"alert silence page", func(s *auditScene) auditWant {
			id := s.ids["alert"]
			s.post(http.StatusSeeOther, "/dashboard/alerts/"+itoa(id)+"/silence", url.Values{"until": {"2031-03-04T12:00"}})
			return auditWant{action: "alerts.ack", target: "alert " + itoa(id), details: `{"silenced_until":{"before":null,"after":"2031-03-04T12:00:00Z"}}`}
		}},
		{"alert acknowledge API", func(s *auditScene) auditWant {
			id := s.page.openAlert("reports failing", "report.build", time.Now())
			s.ids["alert"] = id
			s.call(http.StatusOK, http.MethodPost, "/api/v1/alerts/"+itoa(id)+"/acknowledge", nil)
			return auditWant{api: true, action: "alerts.ack", target: "alert " + itoa(id), details: `{"acknowledged_by":{"before":"","after":"token ops"}}`}
		}},
		{"alert silence API", func(s *auditScene) auditWant {
			id := s.ids["alert"]
			s.call(http.StatusOK, http.MethodPost, "/api/v1/alerts/"+itoa(id)+"/silence", map[string]any{"until": "2031-03-04T13:00:00Z"})
			return auditWant{api: true, action: "alerts.ack", target: "alert " + itoa(id), details: `{"silenced_until":{"before":null,"after":"2031-03-04T13:00:00Z"}}`}
		}},
	}
}

// loginAuditRows log in and out on a browser of their own, leaving ada's.
func loginAuditRows() []auditRow {
	var b *app // the browser the rows share
	return []auditRow{
		{"login failed", func(s *auditScene) auditWant {
			other := *s.page
			other.client = newClient(other.t)
			b = &other
			require.Equal(b.t, http.StatusUnauthorized, b.login("ada", "not the password").StatusCode)
			return auditWant{action: "login", outcome: "refused"}
		}},
		{"login", func(s *auditScene) auditWant {
			b.t = s.page.t
			require.Equal(b.t, http.StatusSeeOther, b.login("ada", password).StatusCode)
			return auditWant{action: "login"}
		}},
		{"logout", func(s *auditScene) auditWant {
			b.t = s.page.t
			resp, _ := b.post("/logout", url.Values{"_csrf": {b.csrf("/dashboard")}})
			require.Equal(b.t, http.StatusSeeOther, resp.StatusCode)
			return auditWant{action: "logout"}
		}},
	}
}
