package alerts_test

import (
	"encoding/json"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/models"
)

// firing is a grouped message of 3 failures, 2 of them listed.
var firing = alerts.Message{
	Rule: "nightly-backup", AlertID: 7, Status: alerts.StatusFiring, Title: "nightly-backup: 3 failures in a row",
	Summary: "The recurring job nightly-backup failed 3 times in a row.", Count: 3,
	Jobs: []alerts.JobRef{
		{ID: 41, Kind: "http.request", Queue: "default", State: "failed", Error: "503 Service Unavailable", URL: "https://kiln.example.com/dashboard/jobs/41"},
		{ID: 42, Kind: "http.request", Queue: "default", State: "failed", Error: "<b>boom</b> & more", URL: "https://kiln.example.com/dashboard/jobs/42"},
	},
	URL: "https://kiln.example.com/dashboard/recurring/3", At: time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC),
}

// send sends m on a channel of typ posting to a fresh receiver, and returns what it received.
func send(t *testing.T, typ string, set models.ChannelSettings, m alerts.Message) received {
	t.Helper()
	rc := newReceiver(t)
	if set.URL == "" {
		set.URL = rc.URL + "/hook"
	}
	s, err := alerts.NewSender(nil, alerts.Config{})
	require.NoError(t, err)
	require.NoError(t, s.Send(ctx, &models.Channel{Name: "c", Type: typ, Settings: set}, m))
	return rc.next(t)
}

func decode(t *testing.T, r received) map[string]any {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "the body is JSON: %s", r.body)
	return v
}

// A webhook's default body is the message itself, as JSON, field for field.
func TestWebhookBodyIsTheMessage(t *testing.T) {
	r := send(t, models.ChannelWebhook, models.ChannelSettings{}, firing)
	var got alerts.Message
	require.NoError(t, json.Unmarshal(r.body, &got))
	require.Equal(t, firing, got)
	require.Equal(t, "/hook", r.path)
	require.Empty(t, r.header.Get(alerts.HeaderSignature), "unsigned without a signing secret")
	v := decode(t, r)
	for _, field := range []string{"rule", "alert_id", "status", "title", "summary", "count", "jobs", "url", "at"} {
		require.Contains(t, v, field, "the README documents this field")
	}
}

// A webhook's template writes the body; json quotes a value.
func TestWebhookTemplate(t *testing.T) {
	tmpl := `{"alert": {{json .Title}}, "ids": [{{range $i, $j := .Jobs}}{{if $i}},{{end}}{{$j.ID}}{{end}}], "status": "{{.Status}}"}`
	r := send(t, models.ChannelWebhook, models.ChannelSettings{Template: tmpl}, firing)
	require.JSONEq(t, `{"alert": "nightly-backup: 3 failures in a row", "ids": [41, 42], "status": "firing"}`, string(r.body))
}

// Slack's incoming webhooks take text (the notification's fallback) and Block Kit blocks:
// sections of mrkdwn text of at most 3000 characters, links as <url|text>.
func TestSlackBody(t *testing.T) {
	long := firing
	long.Summary = strings.Repeat("x", 5000)
	for _, m := range []alerts.Message{firing, long} {
		v := decode(t, send(t, models.ChannelSlack, models.ChannelSettings{}, m))
		require.Contains(t, v["text"], m.Title)
		blocks := v["blocks"].([]any)
		require.GreaterOrEqual(t, len(blocks), 2)
		for _, b := range blocks {
			block := b.(map[string]any)
			require.Contains(t, []string{"section", "context"}, block["type"])
			if block["type"] == "section" {
				text := block["text"].(map[string]any)
				require.Equal(t, "mrkdwn", text["type"])
				require.LessOrEqual(t, len([]rune(text["text"].(string))), 3000)
			}
		}
	}
	v := decode(t, send(t, models.ChannelSlack, models.ChannelSettings{}, firing))
	var all strings.Builder
	for _, b := range v["blocks"].([]any) {
		if text, ok := b.(map[string]any)["text"].(map[string]any); ok {
			all.WriteString(text["text"].(string) + "\n")
		}
	}
	require.Contains(t, all.String(), "<https://kiln.example.com/dashboard/jobs/41|job 41>")
	require.Contains(t, all.String(), "<https://kiln.example.com/dashboard/recurring/3|nightly-backup: 3 failures in a row>")
	require.Contains(t, all.String(), "&lt;b&gt;boom&lt;/b&gt; &amp; more", "a job's error can't make Slack markup")
}

// Mattermost's incoming webhooks take Markdown text, and attachments with a colour, a title
// and its link.
func TestMattermostBody(t *testing.T) {
	v := decode(t, send(t, models.ChannelMattermost, models.ChannelSettings{}, firing))
	require.Contains(t, v["text"], firing.Title)
	att := v["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, firing.Title, att["fallback"])
	require.Equal(t, firing.Title, att["title"])
	require.Equal(t, firing.URL, att["title_link"])
	require.Regexp(t, `^#[0-9A-F]{6}$`, att["color"])
	require.Contains(t, att["text"], "[job 41](https://kiln.example.com/dashboard/jobs/41)")
	require.Contains(t, att["text"], "… and 1 more")
}

// Discord's webhooks take content (at most 2000 characters) and embeds: a title of at most
// 256, a description of at most 4096, an integer colour and an ISO 8601 timestamp.
func TestDiscordBody(t *testing.T) {
	long := firing
	long.Title, long.Summary = strings.Repeat("t", 3000), strings.Repeat("s", 5000)
	for _, m := range []alerts.Message{firing, long} {
		v := decode(t, send(t, models.ChannelDiscord, models.ChannelSettings{}, m))
		require.LessOrEqual(t, len([]rune(v["content"].(string))), 2000)
		embed := v["embeds"].([]any)[0].(map[string]any)
		require.LessOrEqual(t, len([]rune(embed["title"].(string))), 256)
		require.LessOrEqual(t, len([]rune(embed["description"].(string))), 4096)
		require.IsType(t, float64(0), embed["color"])
		_, err := time.Parse(time.RFC3339, embed["timestamp"].(string))
		require.NoError(t, err)
	}
	v := decode(t, send(t, models.ChannelDiscord, models.ChannelSettings{}, firing))
	embed := v["embeds"].([]any)[0].(map[string]any)
	require.Equal(t, firing.URL, embed["url"])
	require.Equal(t, float64(0xD93F0B), embed["color"])
	resolved := firing
	resolved.Status = alerts.StatusResolved
	embed = decode(t, send(t, models.ChannelDiscord, models.ChannelSettings{}, resolved))["embeds"].([]any)[0].(map[string]any)
	require.Equal(t, float64(0x2DA44E), embed["color"], "resolved is green")
}

// Teams takes a message whose attachment is an Adaptive Card, with an action that opens the
// link.
func TestTeamsBody(t *testing.T) {
	v := decode(t, send(t, models.ChannelTeams, models.ChannelSettings{}, firing))
	require.Equal(t, "message", v["type"])
	att := v["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, "application/vnd.microsoft.card.adaptive", att["contentType"])
	card := att["content"].(map[string]any)
	require.Equal(t, "AdaptiveCard", card["type"])
	require.Equal(t, "http://adaptivecards.io/schemas/adaptive-card.json", card["$schema"])
	require.NotEmpty(t, card["version"])
	first := card["body"].([]any)[0].(map[string]any)
	require.Equal(t, "TextBlock", first["type"])
	require.Equal(t, firing.Title, first["text"])
	action := card["actions"].([]any)[0].(map[string]any)
	require.Equal(t, "Action.OpenUrl", action["type"])
	require.Equal(t, firing.URL, action["url"])
}

// ntfy takes the message as text posted to the topic's URL, with Title, Priority, Tags and
// Click headers; a title beyond ASCII is RFC 2047 encoded.
func TestNtfyRequest(t *testing.T) {
	m := firing
	m.Title = "sauvegarde échouée"
	r := send(t, models.ChannelNtfy, models.ChannelSettings{}, m)
	require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"))
	title, err := new(mime.WordDecoder).DecodeHeader(r.header.Get("Title"))
	require.NoError(t, err)
	require.Equal(t, m.Title, title)
	require.Equal(t, "high", r.header.Get("Priority"))
	require.Equal(t, "rotating_light", r.header.Get("Tags"))
	require.Equal(t, m.URL, r.header.Get("Click"))
	require.Contains(t, string(r.body), m.Summary)
	require.Contains(t, string(r.body), "job 41 (http.request on default): failed: 503 Service Unavailable")

	m.Status = alerts.StatusResolved
	r = send(t, models.ChannelNtfy, models.ChannelSettings{}, m)
	require.Equal(t, "default", r.header.Get("Priority"))
	require.Equal(t, "white_check_mark", r.header.Get("Tags"))
}
