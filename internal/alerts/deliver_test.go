package alerts_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// setup runs fn on each dialect with an engine that delivers (alerts.Register, started) with
// secrets from v and a quick backoff, and its store.
func setup(t *testing.T, v vault, fn func(t *testing.T, e *jobs.Engine, s *models.Store)) {
	t.Helper()
	jobstest.ForEachDialect(t, jobstest.Fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		_, err := alerts.Register(e, s.Channels, alerts.Config{Secrets: v, Backoff: jobs.ConstantBackoff(20 * time.Millisecond),
			MaxAttempts: 3, SendTimeout: 5 * time.Second})
		require.NoError(t, err)
		jobstest.Start(t, e)
		fn(t, e, s)
	})
}

// deliver queues m for the channel named channel, as the rules do.
func deliver(t *testing.T, e *jobs.Engine, s *models.Store, channel string, m alerts.Message) *models.Job {
	t.Helper()
	var job *models.Job
	require.NoError(t, modeltest.DB(s).Transaction(func(tx *gorm.DB) error {
		var err error
		job, err = alerts.Deliver(e, tx, channel, m)
		return err
	}))
	return job
}

// A message queued for a signed webhook arrives once, signed over its timestamp and body with
// the key from the vault; the channel notes when it was sent. The delivery is housekeeping.
func TestDeliverSignedWebhook(t *testing.T) {
	setup(t, vault{"HOOK_KEY": "s3cr3t-hmac-key"}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		rc := newReceiver(t)
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "hook", Type: models.ChannelWebhook,
			Settings: models.ChannelSettings{URL: rc.URL, SigningSecret: "${secret:HOOK_KEY}"}}))
		job := deliver(t, e, s, "hook", firing)
		jobstest.WaitState(t, s.JobQueries, job.ID, models.JobSucceeded)
		r := rc.next(t)

		ts, err := strconv.ParseInt(r.header.Get(alerts.HeaderTimestamp), 10, 64)
		require.NoError(t, err)
		require.InDelta(t, time.Now().Unix(), ts, 60)
		mac := hmac.New(sha256.New, []byte("s3cr3t-hmac-key"))
		mac.Write([]byte(strconv.FormatInt(ts, 10) + "." + string(r.body)))
		require.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), r.header.Get(alerts.HeaderSignature))

		ch, err := s.Channels.ChannelByName(ctx, "hook")
		require.NoError(t, err)
		require.NotNil(t, ch.LastSentAt)
		require.Empty(t, ch.LastError)
		kinds := e.Kinds()
		for _, k := range kinds {
			if k.Name == alerts.KindDeliver {
				require.True(t, k.Housekeeping, "delivery is the system's upkeep")
			}
		}
	})
}

// A webhook that answers 503 is tried again, until it takes the message; each failure is
// noted on the channel.
func TestDeliverRetriesOn5xx(t *testing.T) {
	setup(t, nil, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		rc := newReceiver(t, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusOK)
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "flaky", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: rc.URL}}))
		job := deliver(t, e, s, "flaky", firing)
		done := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobSucceeded)
		require.Equal(t, 3, done.Attempt)
		for range 3 {
			rc.next(t)
		}
		ch, err := s.Channels.ChannelByName(ctx, "flaky")
		require.NoError(t, err)
		require.Contains(t, ch.LastError, "502 Bad Gateway")
		require.NotNil(t, ch.LastSentAt)
		require.True(t, ch.LastSentAt.After(*ch.LastErrorAt), "sent after the last failure")
	})
}

// A 4xx is the service refusing the request: the delivery fails at once, without retries,
// and the error noted on the channel has the secret in the URL masked, even where the service
// echoes it back.
func TestDeliverMasksSecretsInLastError(t *testing.T) {
	const token = "xoxb-very-secret-token"
	setup(t, vault{"SLACK_TOKEN": token}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		rc := newReceiver(t, http.StatusForbidden)
		rc.answer = func(r *http.Request) string { return "invalid_token " + r.URL.Query().Get("token") }
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "slack", Type: models.ChannelSlack,
			Settings: models.ChannelSettings{URL: rc.URL + "/hook?token=${secret:SLACK_TOKEN}"}}))
		job := deliver(t, e, s, "slack", firing)
		failed := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobFailed)
		require.Equal(t, 1, failed.Attempt, "a 4xx is not retried")
		require.Equal(t, "token="+token, rc.next(t).query, "the secret was sent")
		ch, err := s.Channels.ChannelByName(ctx, "slack")
		require.NoError(t, err)
		require.Contains(t, ch.LastError, "403 Forbidden")
		require.Contains(t, ch.LastError, "invalid_token ${secret:SLACK_TOKEN}")
		require.NotContains(t, ch.LastError, token)
		require.NotContains(t, failed.LastError, token)
	})
}

// A message for a channel deleted since it was queued fails for good, saying so.
func TestDeliverToDeletedChannelFailsPermanently(t *testing.T) {
	setup(t, nil, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		job := deliver(t, e, s, "gone", firing)
		failed := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobFailed)
		require.Equal(t, 1, failed.Attempt)
		require.Contains(t, failed.LastError, `the channel "gone" no longer exists`)
	})
}

// A channel whose server never answers well fails after its attempts, each noted.
func TestDeliverGivesUpAfterMaxAttempts(t *testing.T) {
	setup(t, nil, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		rc := newReceiver(t, http.StatusInternalServerError)
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "down", Type: models.ChannelDiscord, Settings: models.ChannelSettings{URL: rc.URL}}))
		job := deliver(t, e, s, "down", firing)
		failed := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobFailed)
		require.Equal(t, 3, failed.Attempt)
		require.Contains(t, failed.LastError, "500 Internal Server Error")
		ch, err := s.Channels.ChannelByName(ctx, "down")
		require.NoError(t, err)
		require.Nil(t, ch.LastSentAt)
		require.NotNil(t, ch.LastErrorAt)
	})
}
