package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Register registers the delivery of messages (KindDeliver, housekeeping) on e, sending on
// store's channels under cfg, and returns the sender. Each delivery is tried cfg.MaxAttempts
// times with cfg.Backoff between tries, each bounded by cfg.SendTimeout. Call it before
// e.Start.
func Register(e *jobs.Engine, store models.ChannelStore, cfg Config) (*Sender, error) {
	s, err := NewSender(store, cfg)
	if err != nil {
		return nil, err
	}
	// The job's own timeout leaves the send its whole time and the note on the channel a
	// moment after.
	if _, err := jobs.Register(e, KindDeliver, s.deliver, jobs.Housekeeping(), jobs.MaxAttempts(s.cfg.MaxAttempts),
		jobs.WithBackoff(s.cfg.Backoff), jobs.Timeout(s.cfg.SendTimeout+10*time.Second)); err != nil {
		return nil, fmt.Errorf("alerts: register %s: %w", KindDeliver, err)
	}
	return s, nil
}

// deliver sends one message on its channel and notes how it went on the channel.
func (s *Sender) deliver(ctx context.Context, job *jobs.Job[DeliveryArgs]) error {
	name := job.Args.Channel
	ch, err := s.store.ChannelByName(ctx, name)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return jobs.Permanent(fmt.Errorf("the channel %q no longer exists (deleted after this message was queued): the message is dropped", name))
	}
	if err != nil {
		return err
	}
	err = s.Send(ctx, ch, job.Args.Message)
	s.record(ctx, name, err)
	return err
}
