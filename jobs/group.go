package jobs

import (
	"context"
	"time"

	"github.com/kilnhq/kiln/internal/groupcommit"
	"github.com/kilnhq/kiln/models"
)

// maxGroup bounds the jobs of one group commit of enqueues.
const maxGroup = 256

type insertRes struct {
	dups []int
	err  error
}

// newGroupInserter group-commits concurrent single-job enqueues. On PostgreSQL two batches are
// written at once: a batch's transaction is nine round trips, and the other batch's run
// meanwhile; the audit trail's append, last in each, waits for the other's (its lock), and
// jobs with unique keys are written in the order of their keys (insertKeyed), so two batches
// holding the same keys wait on each other in one order, never in a cycle.
// One POST of one job from 32 clients, kiln bench --api --api-clients 32 on PostgreSQL: 6,800-
// 6,900 jobs/s with one writer, 7,250-8,120 with two, 5,720 with four (their audit appends
// queue on the lock).
func newGroupInserter(store *models.Store) *groupcommit.Group[[]*models.Job, insertRes] {
	writers := 1
	if store.Dialect() == models.DialectPostgres {
		writers = 2
	}
	return &groupcommit.Group[[]*models.Job, insertRes]{
		Max: maxGroup, Size: func(jobs []*models.Job) int { return len(jobs) }, Writers: writers,
		Failed: func(err error) insertRes { return insertRes{err: err} },
		Write:  func(batch []*groupcommit.Req[[]*models.Job, insertRes]) { writeInserts(store, batch) },
	}
}

// writeInserts stores a batch of enqueues in one transaction, or, when that fails, each on its
// own so that one request's error is only its own.
func writeInserts(store *models.Store, batch []*groupcommit.Req[[]*models.Job, insertRes]) {
	// Another caller's cancellation must not undo this one's write: the transaction is short.
	ctx := context.WithoutCancel(batch[0].Ctx)
	if len(batch) == 1 {
		dups, err := store.Jobs.InsertJobs(ctx, batch[0].Item, time.Now())
		batch[0].Done <- insertRes{dups, err}
		return
	}
	var all []*models.Job
	ctxs := make([]context.Context, len(batch))
	for i, r := range batch {
		all = append(all, r.Item...)
		ctxs[i] = r.Ctx
	}
	// Each caller's audit entry (an enqueue someone made) is written in the shared transaction.
	dups, err := store.Jobs.InsertJobs(models.WithPendingAuditsOf(ctx, ctxs...), all, time.Now())
	if err != nil {
		for _, r := range batch {
			dups, err := store.Jobs.InsertJobs(context.WithoutCancel(r.Ctx), r.Item, time.Now())
			r.Done <- insertRes{dups, err}
		}
		return
	}
	isDup := make(map[int]bool, len(dups))
	for _, i := range dups {
		isDup[i] = true
	}
	off := 0
	for _, r := range batch {
		var mine []int
		for i := range r.Item {
			r.Item[i] = all[off+i] // a duplicate's entry is now the job that holds the key
			if isDup[off+i] {
				mine = append(mine, i)
			}
		}
		off += len(r.Item)
		r.Done <- insertRes{dups: mine}
	}
}

// maxLogGroup bounds the log lines of one group commit.
const maxLogGroup = 512

// newLogWriter group-commits the log lines running jobs write at the same time: with many
// workers logging, one transaction carries many lines instead of one each.
func newLogWriter(store *models.Store) *groupcommit.Group[models.JobLog, error] {
	return &groupcommit.Group[models.JobLog, error]{
		Max: maxLogGroup, Failed: func(err error) error { return err },
		Write: func(batch []*groupcommit.Req[models.JobLog, error]) {
			lines := make([]models.JobLog, len(batch))
			for i, r := range batch {
				lines[i] = r.Item
			}
			err := store.Jobs.AppendJobLogs(context.WithoutCancel(batch[0].Ctx), lines)
			for _, r := range batch {
				if err != nil && len(batch) > 1 { // one line's error is only its own
					r.Done <- store.Jobs.AppendJobLogs(context.WithoutCancel(r.Ctx), []models.JobLog{r.Item})
					continue
				}
				r.Done <- err
			}
		},
	}
}
