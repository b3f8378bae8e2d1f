// Package alerts tells people when something goes wrong: rules watch failures, schedules,
// stuck work, backlogs and nodes; an alert opens when a rule's condition holds, repeats no
// faster than the rule's interval and resolves when the condition clears; channels (webhooks,
// chat presets, email) deliver its messages. Delivery is itself a Kiln job (KindDeliver), so a
// message is retried and never lost.
//
// This file is the contract between the two halves: the rules, which decide what to say and
// when, and the channels, which say it.
package alerts

import (
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// KindDeliver is the kind of the job that delivers one message to one channel. It is
// housekeeping (jobs.Housekeeping): the dashboard's lists leave it out by default.
const KindDeliver = "alerts.deliver"

// Status is the state of the alert a message speaks of.
type Status string

// An alert's message says it fires (opened, or repeated while it holds) or that it resolved.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// MaxJobsInMessage bounds the jobs a message lists: alerts of one rule group into one message,
// with a count and the first few jobs linked, not one message a job.
const MaxJobsInMessage = 5

// Message is what a channel sends about an alert: one per opening, repeat and resolution.
type Message struct {
	Rule    string `json:"rule"`     // the rule's name
	AlertID int64  `json:"alert_id"` // the alert it speaks of
	Status  Status `json:"status"`
	// Title is one line, e.g. "nightly-backup: 3 failures in a row"; Summary a few lines of
	// plain text saying what happened and what to look at.
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Count is how many jobs or occurrences the alert covers; Jobs the first MaxJobsInMessage.
	Count int      `json:"count"`
	Jobs  []JobRef `json:"jobs"`
	// URL is the page to open (the alert, the job, the recurring job or the kind), absolute
	// when --public-url is set, else empty.
	URL string    `json:"url,omitempty"`
	At  time.Time `json:"at"` // when the alert opened, repeated or resolved
}

// JobRef is a job a message links to.
type JobRef struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	Queue string `json:"queue"`
	State string `json:"state"`
	Error string `json:"error,omitempty"` // its error's first line
	URL   string `json:"url,omitempty"`
}

// DeliveryArgs are the arguments of a KindDeliver job: the channel, by name, and the message.
type DeliveryArgs struct {
	Channel string  `json:"channel"`
	Message Message `json:"message"`
}

// Deliver enqueues the delivery of m to the channel named channel inside tx, the transaction
// that opened, repeated or resolved the alert: the alert's change and its message are stored
// together or not at all.
func Deliver(e *jobs.Engine, tx *gorm.DB, channel string, m Message) (*models.Job, error) {
	return e.EnqueueTx(tx, KindDeliver, DeliveryArgs{Channel: channel, Message: m})
}
