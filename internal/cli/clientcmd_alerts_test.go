package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// kiln alerts channels ls lists the channels with how their last messages went; kiln alerts
// test CHANNEL sends a test message and says it went, or exits 1 with the service's answer.
func TestAlertsCommands(t *testing.T) {
	s, run := apiServerForCLI(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "invalid_token", http.StatusForbidden)
		}
	}))
	t.Cleanup(hook.Close)
	ctx := context.Background()
	require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: hook.URL + "/ok"}}))
	require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "mail", Type: models.ChannelEmail,
		Settings: models.ChannelSettings{SMTPHost: "localhost", To: []string{"ops@example.com"}}}))

	code, out, errOut := run("alerts", "test", "ops")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Sent a test message on ops: \"Kiln test message for channel ops\".\n", out)

	require.NoError(t, s.Channels.UpdateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: hook.URL + "/broken"}}))
	time.Sleep(2 * time.Millisecond) // the failure's time is after the success's
	code, _, errOut = run("alerts", "test", "ops")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "The test message was not sent: slack answered 403 Forbidden: invalid_token (502)")

	code, _, errOut = run("alerts", "test", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `There is no channel named "nope".`)
	code, _, _ = run("alerts", "test")
	require.Equal(t, 2, code, "a usage error")

	code, out, errOut = run("alerts", "channels", "ls")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `NAME +TYPE +TO +LAST SENT +LAST ERROR`, out)
	require.Regexp(t, `mail +email +ops@example.com +never`, out)
	require.Regexp(t, `ops +slack +`+hook.URL+`/broken +\d{4}-\d\d-\d\d .* slack answered 403 Forbidden`, out)

	code, out, _ = run("alerts", "channels", "ls", "--json")
	require.Equal(t, 0, code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 2)
	require.Equal(t, "mail", list[0]["name"])
}
