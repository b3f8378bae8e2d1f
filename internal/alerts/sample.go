package alerts

import (
	"net/url"
	"strconv"
	"time"
)

// SampleMessage is the message "Send test" sends on the channel named channel at now: a
// firing message that says it is a test, linking to the channel's page under PublicURL.
func (c Config) SampleMessage(channel string, now time.Time) Message {
	return Message{
		Rule:    "test",
		Status:  StatusFiring,
		Title:   "Kiln test message for channel " + channel,
		Summary: "This is a test sent with \"Send test\" or kiln alerts test. Nothing failed: when a rule fires, its messages come this way.",
		URL:     c.Link("/dashboard/alerts/channels/" + url.PathEscape(channel)),
		At:      now.UTC(),
	}
}

// templateSamples are the messages a webhook's template must render when it is saved: a
// firing message with jobs, and a resolved one without, so that a template that only works
// for one of them is refused then, not when an alert fires.
func (c Config) templateSamples(now time.Time) []Message {
	firing := Message{Rule: "nightly-backup", AlertID: 1, Status: StatusFiring, Title: "nightly-backup: 3 failures in a row",
		Summary: "The recurring job nightly-backup failed 3 times in a row.", Count: 3, URL: c.Link("/dashboard/alerts"), At: now.UTC()}
	for i := range 3 {
		id := int64(101 + i)
		firing.Jobs = append(firing.Jobs, JobRef{ID: id, Kind: "http.request", Queue: "default", State: "failed",
			Error: "503 Service Unavailable", URL: c.Link("/dashboard/jobs/" + strconv.FormatInt(id, 10))})
	}
	resolved := Message{Rule: "nightly-backup", AlertID: 1, Status: StatusResolved, Title: "nightly-backup: resolved",
		Summary: "The recurring job nightly-backup succeeded again.", URL: c.Link("/dashboard/alerts"), At: now.UTC(), Jobs: []JobRef{}}
	return []Message{firing, resolved}
}
