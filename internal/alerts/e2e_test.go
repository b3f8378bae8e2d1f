package alerts_test

import (
	"crypto/tls"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The "failure rule, end to end": a rule on a recurring http.request that starts
// failing sends one grouped message to a webhook and one email, repeats no faster than its
// interval, and sends "resolved" once the job succeeds again. Everything is real but the
// clock's pace: engines that work the recurring job and the deliveries, the evaluator on its
// loop, an HTTP service that answers 500 then 200, a webhook receiver and an SMTP server.
func TestFailureRuleEndToEnd(t *testing.T) {
	jobstest.ForEachDialect(t, jobstest.Fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		runFailureRule(t, s, []*jobs.Engine{e}, []*models.Store{s})
	})
}

// The same on three nodes sharing one PostgreSQL database: each node runs the recurring job,
// the evaluator and the deliveries, and each message arrives once.
func TestFailureRuleEndToEndThreeNodes(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	var (
		engines []*jobs.Engine
		stores  []*models.Store
	)
	for range 3 {
		s := modeltest.Open(t, dsn)
		engines, stores = append(engines, jobstest.New(t, s, jobstest.Fast())), append(stores, s)
	}
	runFailureRule(t, stores[0], engines, stores)
}

// e2eRepeat is the rule's repeat interval: long against the evaluator's tick, short for a test.
const e2eRepeat = 1500 * time.Millisecond

// runFailureRule runs the scenario on the nodes (engines[i] on stores[i], not started); s is
// where the test reads and writes.
func runFailureRule(t *testing.T, s *models.Store, engines []*jobs.Engine, stores []*models.Store) {
	var failing atomic.Bool
	failing.Store(true)
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			http.Error(w, "backend down", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(service.Close)
	hook := newReceiver(t)
	box := newMailbox(t, false)

	require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "hook", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: hook.URL}}))
	require.NoError(t, s.Channels.CreateChannel(ctx, emailChannel(box, models.ChannelSecuritySTARTTLS)))
	_, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: "ping failing", Watch: models.WatchFailed, Scope: models.ScopeRecurring, Target: "ping",
		Channels: []string{"hook", "oncall"}, RepeatEvery: e2eRepeat, Enabled: true}, time.Now())
	require.NoError(t, err)

	for i, e := range engines {
		require.NoError(t, builtin.Register(e, stores[i].Jobs, builtin.Config{}))
		_, err := alerts.Register(e, stores[i].Channels, alerts.Config{Secrets: vault{"SMTP_PASSWORD": "smtp-pass-word"},
			TLSConfig: &tls.Config{RootCAs: box.roots, MinVersion: tls.VersionTLS12}, Backoff: jobs.ConstantBackoff(50 * time.Millisecond), SendTimeout: 5 * time.Second})
		require.NoError(t, err)
		require.NoError(t, alerts.New(e, stores[i].Rules, alerts.Config{Every: 100 * time.Millisecond, Settle: 200 * time.Millisecond}).Register())
		require.NoError(t, e.Recurring("ping", "@every 1s", builtin.KindHTTPRequest, map[string]any{"url": service.URL}, jobs.MaxAttempts(1)))
		jobstest.Start(t, e)
	}

	// The messages, as each channel got them, in order.
	var (
		mu    sync.Mutex
		hooks []alerts.Message
		mails []string // subjects
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case r := <-hook.got:
				var m alerts.Message
				if err := json.Unmarshal(r.body, &m); err != nil {
					t.Errorf("the webhook's body: %v", err)
				}
				mu.Lock()
				hooks = append(hooks, m)
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case d := <-box.got:
				msg, err := mail.ReadMessage(strings.NewReader(string(d.data)))
				if err != nil {
					t.Errorf("an email: %v", err)
					continue
				}
				subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
				if err != nil {
					t.Errorf("an email's subject: %v", err)
				}
				mu.Lock()
				mails = append(mails, subject)
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	got := func() ([]alerts.Message, []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]alerts.Message(nil), hooks...), append([]string(nil), mails...)
	}

	// Failing: the alert opens, then repeats while the failures go on.
	require.Eventually(t, func() bool { h, m := got(); return len(h) >= 3 && len(m) >= 3 }, 30*time.Second, 20*time.Millisecond,
		"the alert opened and repeated twice on both channels")
	failing.Store(false)
	require.Eventually(t, func() bool {
		h, m := got()
		return len(h) > 0 && h[len(h)-1].Status == alerts.StatusResolved && len(m) == len(h)
	}, 30*time.Second, 20*time.Millisecond, "the alert resolved on both channels")
	time.Sleep(2 * e2eRepeat) // the successes go on: nothing more is said
	close(stop)
	wg.Wait()

	h, m := got()
	for _, msg := range h {
		t.Logf("%s %s: %s (count %d)", msg.At.Format("15:04:05.000"), msg.Status, msg.Title, msg.Count)
	}
	require.GreaterOrEqual(t, len(h), 4, "opened, repeated twice, resolved")
	first := h[0]
	require.Equal(t, alerts.StatusFiring, first.Status)
	require.Equal(t, "ping failing", first.Rule)
	require.NotEmpty(t, first.Jobs, "the message lists the failed jobs")
	require.LessOrEqual(t, len(first.Jobs), alerts.MaxJobsInMessage)
	require.Equal(t, builtin.KindHTTPRequest, first.Jobs[0].Kind)
	require.Contains(t, first.Jobs[0].Error, "500")
	for i, msg := range h {
		require.Equal(t, first.AlertID, msg.AlertID, "one alert: the failures grouped (message %d)", i)
		if i == len(h)-1 {
			require.Equal(t, alerts.StatusResolved, msg.Status, "the last message")
			break
		}
		require.Equal(t, alerts.StatusFiring, msg.Status, "message %d", i)
		if i > 0 {
			require.GreaterOrEqual(t, msg.At.Sub(h[i-1].At), e2eRepeat, "message %d repeats no faster than the rule's interval", i)
			require.GreaterOrEqual(t, msg.Count, h[i-1].Count, "the count grows")
		}
	}
	titles := make([]string, len(h))
	for i, msg := range h {
		titles[i] = msg.Title
	}
	require.Equal(t, titles, m, "the email said each message once too")

	// Each message was enqueued once a channel, and all were delivered.
	var deliveries []models.Job
	require.NoError(t, modeltest.DB(s).Where("kind = ?", alerts.KindDeliver).Find(&deliveries).Error)
	require.Len(t, deliveries, 2*len(h))
	for _, d := range deliveries {
		require.Equal(t, models.JobSucceeded, d.State, "delivery %d: %s", d.ID, d.LastError)
	}
	all, err := s.Rules.ListAlerts(ctx, false, 10)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, models.AlertResolved, all[0].State)
	require.EqualValues(t, len(h), all[0].Messages)
	var failed int64
	require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("kind = ? AND state = ?", builtin.KindHTTPRequest, models.JobFailed).Count(&failed).Error)
	require.EqualValues(t, failed, all[0].Count, "the alert counts every failure")
	require.Equal(t, all[0].Count, int64(h[len(h)-1].Count), "as its resolution says")
}
