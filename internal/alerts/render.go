package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"text/template"

	"github.com/kilnhq/kiln/internal/textcut"
	"github.com/kilnhq/kiln/models"
)

// request is what a channel of a webhook type posts: its body, content type and any headers
// the service reads (ntfy's Title, Priority, Tags and Click).
type request struct {
	body        []byte
	contentType string
	header      http.Header
}

// Colours of a firing and a resolved message, for the services that show one.
const (
	colorFiring   = 0xD93F0B
	colorResolved = 0x2DA44E
)

func color(m Message) int {
	if m.Status == StatusResolved {
		return colorResolved
	}
	return colorFiring
}

// cut shortens s to at most n bytes (so also n characters), marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return textcut.Truncate(s, n-len("…")) + "…"
}

// render builds the request a webhook-type channel sends for m.
func render(ch *models.Channel, m Message) (request, error) {
	switch ch.Type {
	case models.ChannelWebhook:
		return renderWebhook(ch.Settings.Template, m)
	case models.ChannelSlack:
		return jsonRequest(slackBody(m))
	case models.ChannelMattermost:
		return jsonRequest(mattermostBody(m))
	case models.ChannelDiscord:
		return jsonRequest(discordBody(m))
	case models.ChannelTeams:
		return jsonRequest(teamsBody(m))
	case models.ChannelNtfy:
		return ntfyRequest(m), nil
	}
	return request{}, fmt.Errorf("a %s channel is not sent over HTTP", ch.Type)
}

func jsonRequest(v any) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return request{}, fmt.Errorf("encode the body: %w", err)
	}
	return request{body: b, contentType: "application/json"}, nil
}

// templateFuncs are the functions a webhook's template may call besides text/template's own:
// json writes a value as JSON (a string quoted and escaped), so that a template can build a
// JSON body from any message.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// parseTemplate parses a webhook's body template.
func parseTemplate(text string) (*template.Template, error) {
	return template.New("body").Funcs(templateFuncs).Option("missingkey=error").Parse(text)
}

// renderWebhook is the message as JSON, or as the channel's template writes it.
func renderWebhook(text string, m Message) (request, error) {
	if text == "" {
		return jsonRequest(m)
	}
	t, err := parseTemplate(text)
	if err != nil {
		return request{}, fmt.Errorf("the body template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		return request{}, fmt.Errorf("the body template: %w", err)
	}
	if !json.Valid(b.Bytes()) {
		return request{}, fmt.Errorf("the body template wrote %s, which is not JSON (write strings with {{json .Title}})", cut(b.String(), 200))
	}
	return request{body: b.Bytes(), contentType: "application/json"}, nil
}

// plainText is m as a few lines of text: the summary, the jobs with their errors, the link.
// Email's text part, ntfy's body and the chat presets' fallback text use it.
func plainText(m Message) string {
	var b strings.Builder
	if m.Summary != "" {
		b.WriteString(m.Summary)
		b.WriteString("\n")
	}
	for _, j := range m.Jobs {
		fmt.Fprintf(&b, "\n- job %d (%s on %s): %s", j.ID, j.Kind, j.Queue, j.State)
		if j.Error != "" {
			b.WriteString(": " + j.Error)
		}
		if j.URL != "" {
			b.WriteString("\n  " + j.URL)
		}
	}
	if more := m.Count - len(m.Jobs); len(m.Jobs) > 0 && more > 0 {
		fmt.Fprintf(&b, "\n… and %d more", more)
	}
	if m.URL != "" {
		b.WriteString("\n\n" + m.URL)
	}
	return strings.TrimSpace(b.String())
}

// markdownJobs lists the jobs in the Markdown the chat services read: [text](url) for
// Mattermost and Discord, <url|text> for Slack's mrkdwn; esc escapes the text of a job's error
// (nil: as is).
func markdownJobs(m Message, link func(text, url string) string, esc func(string) string) string {
	if esc == nil {
		esc = func(s string) string { return s }
	}
	var lines []string
	for _, j := range m.Jobs {
		name := fmt.Sprintf("job %d", j.ID)
		if j.URL != "" {
			name = link(name, j.URL)
		}
		line := fmt.Sprintf("• %s (%s on %s): %s", name, j.Kind, j.Queue, j.State)
		if j.Error != "" {
			line += ": " + esc(cut(j.Error, 200))
		}
		lines = append(lines, line)
	}
	if more := m.Count - len(m.Jobs); len(m.Jobs) > 0 && more > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more", more))
	}
	return strings.Join(lines, "\n")
}

// emoji marks a firing and a resolved message in chat.
func emoji(m Message) string {
	if m.Status == StatusResolved {
		return "✅"
	}
	return "🔥"
}

// slackBody is an incoming webhook's message with Block Kit blocks, and text as the fallback
// notifications show (https://api.slack.com/messaging/webhooks). A section's text is at most
// 3000 characters.
func slackBody(m Message) map[string]any {
	link := func(text, url string) string { return "<" + url + "|" + text + ">" }
	title := emoji(m) + " *" + slackEscape(m.Title) + "*"
	if m.URL != "" {
		title = emoji(m) + " *" + link(slackEscape(m.Title), m.URL) + "*"
	}
	blocks := []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": cut(title+"\n"+slackEscape(m.Summary), 3000)}},
	}
	if jobs := markdownJobs(m, link, slackEscape); jobs != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": cut(jobs, 3000)}})
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]any{
		{"type": "mrkdwn", "text": slackEscape(fmt.Sprintf("Kiln · rule %s · %s", m.Rule, m.Status))}}})
	return map[string]any{"text": cut(emoji(m)+" "+slackEscape(m.Title), 3000), "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn reads as markup: a job's error
// can't then make a link or mention (https://api.slack.com/reference/surfaces/formatting#escaping).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// mattermostBody is an incoming webhook's message: Markdown text and an attachment coloured by
// the status (https://developers.mattermost.com/integrate/webhooks/incoming/).
func mattermostBody(m Message) map[string]any {
	link := func(text, url string) string { return "[" + text + "](" + url + ")" }
	text := m.Summary
	if jobs := markdownJobs(m, link, nil); jobs != "" {
		text += "\n\n" + jobs
	}
	att := map[string]any{"fallback": m.Title, "color": fmt.Sprintf("#%06X", color(m)), "title": m.Title, "text": text,
		"footer": "Kiln · rule " + m.Rule}
	if m.URL != "" {
		att["title_link"] = m.URL
	}
	return map[string]any{"text": emoji(m) + " " + m.Title, "attachments": []map[string]any{att}}
}

// discordBody is a webhook's message with one embed (https://discord.com/developers/docs/
// resources/webhook#execute-webhook): content at most 2000 characters, an embed's title 256
// and its description 4096.
func discordBody(m Message) map[string]any {
	link := func(text, url string) string { return "[" + text + "](" + url + ")" }
	desc := m.Summary
	if jobs := markdownJobs(m, link, nil); jobs != "" {
		desc += "\n\n" + jobs
	}
	embed := map[string]any{"title": cut(m.Title, 256), "description": cut(desc, 4096), "color": color(m),
		"footer": map[string]any{"text": cut("Kiln · rule "+m.Rule, 2048)}}
	if !m.At.IsZero() {
		embed["timestamp"] = m.At.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	if m.URL != "" {
		embed["url"] = m.URL
	}
	return map[string]any{"content": cut(emoji(m)+" "+m.Title, 2000), "embeds": []map[string]any{embed}}
}

// teamsBody is a message with an Adaptive Card, as Teams' incoming webhooks and Workflows
// ("When a Teams webhook request is received") take it
// (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
func teamsBody(m Message) map[string]any {
	style := "attention"
	if m.Status == StatusResolved {
		style = "good"
	}
	body := []map[string]any{
		{"type": "TextBlock", "text": m.Title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": style},
		{"type": "TextBlock", "text": m.Summary, "wrap": true},
	}
	if jobs := markdownJobs(m, func(text, url string) string { return "[" + text + "](" + url + ")" }, nil); jobs != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": strings.ReplaceAll(jobs, "\n", "\n\n"), "wrap": true})
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
	if m.URL != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "Open in Kiln", "url": m.URL}}
	}
	return map[string]any{"type": "message", "attachments": []map[string]any{
		{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

// ntfyRequest posts the text to the topic's URL, with the title, priority, tags and link in
// headers (https://docs.ntfy.sh/publish/). A header that isn't ASCII is RFC 2047 encoded,
// which ntfy decodes. ntfy keeps a message of up to 4096 bytes as text.
func ntfyRequest(m Message) request {
	h := http.Header{}
	h.Set("Title", mime.QEncoding.Encode("utf-8", m.Title))
	if m.Status == StatusResolved {
		h.Set("Priority", "default")
		h.Set("Tags", "white_check_mark")
	} else {
		h.Set("Priority", "high")
		h.Set("Tags", "rotating_light")
	}
	if m.URL != "" {
		h.Set("Click", m.URL)
	}
	text := plainText(m)
	if text == "" {
		text = m.Title
	}
	return request{body: []byte(cut(text, 4096)), contentType: "text/plain; charset=utf-8", header: h}
}
