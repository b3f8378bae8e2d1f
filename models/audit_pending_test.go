package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// pending is an entry about to be made by ada, for the context of a change.
func pending(target string) *models.PendingAudit {
	return &models.PendingAudit{Entry: models.AuditEntry{Actor: "ada", ActorKind: models.AuditActorUser,
		Action: "jobs.retry POST /api/v1/jobs/:id/requeue", Target: target}}
}

func trail(t *testing.T, s *models.Store) []models.AuditEntry {
	t.Helper()
	page, err := s.Audit.ListAudit(ctx, models.AuditFilter{}, 0, 0, 100)
	require.NoError(t, err)
	return page.Entries
}

// An entry in a change's context is written in the change's transaction, with what the store
// knows of it (the job's state before and after, its kind); when it can't be written, the
// change is undone with it; a change refused writes nothing; a deferred entry is left to its
// caller.
func TestAuditEntryIsWrittenWithItsChange(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		j := newJob("emails")
		insert(t, s, j)
		_, _, err := s.Jobs.CancelJob(ctx, j.ID, "test")
		require.NoError(t, err)

		// Refused by the change: nothing written, the entry is the caller's to append.
		p := pending("job x")
		_, _, err = s.Jobs.TriggerJob(models.WithPendingAudit(ctx, p), j.ID, "by ada")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		require.False(t, p.Written())
		require.Empty(t, trail(t, s))

		// An entry that can't be kept (no actor) undoes the change it came with.
		bad := pending("job x")
		bad.Entry.Actor = ""
		_, _, err = s.Jobs.RequeueJob(models.WithPendingAudit(ctx, bad), j.ID, "by nobody")
		require.Error(t, err)
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobCancelled, got.State, "one transaction: the change went with its entry")
		require.Empty(t, trail(t, s))

		// Deferred: the change is made, the entry waits for its caller.
		later := pending("")
		later.Defer()
		other := newJob("emails")
		insert(t, s, other)
		_, _, err = s.Jobs.CancelJob(models.WithPendingAudit(ctx, later), other.ID, "bulk")
		require.NoError(t, err)
		require.False(t, later.Written())
		require.Empty(t, trail(t, s))

		p = pending("job x")
		_, _, err = s.Jobs.RequeueJob(models.WithPendingAudit(ctx, p), j.ID, "by ada")
		require.NoError(t, err)
		require.True(t, p.Written())
		entries := trail(t, s)
		require.Len(t, entries, 1)
		e := entries[0]
		require.Equal(t, models.AuditOK, e.Outcome)
		require.Equal(t, fmt.Sprintf("job %d", j.ID), e.Target, "the store names the job as its id")
		require.Equal(t, "emails", e.Kind)
		require.JSONEq(t, `{"state":{"before":"cancelled","after":"enqueued"}}`, e.Details)

		// Written once: a second change in the same context leaves it be.
		_, _, err = s.Jobs.CancelJob(models.WithPendingAudit(ctx, p), j.ID, "again")
		require.NoError(t, err)
		require.Len(t, trail(t, s), 1)
		requireVerifies(t, s, 1)
	})
}

// The entries of enqueues that share a transaction (a group commit) are each written in it,
// naming their own job.
func TestAuditEntriesOfEnqueuesSharingATransaction(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		var ctxs []context.Context
		var all []*models.Job
		for _, kind := range []string{"emails", "reports", "emails"} {
			j := newJob(kind)
			p := pending("")
			c := models.WithPendingAudit(ctx, p)
			models.AuditEnqueue(c, []*models.Job{j})
			ctxs, all = append(ctxs, c), append(all, j)
		}
		_, err := s.Jobs.InsertJobs(models.WithPendingAuditsOf(ctx, ctxs...), all, time.Now())
		require.NoError(t, err)
		for _, c := range ctxs {
			require.True(t, models.PendingAuditOf(c).Written())
		}
		entries := trail(t, s)
		require.Len(t, entries, 3)
		for i, e := range entries { // newest first
			j := all[len(all)-1-i]
			require.Equal(t, fmt.Sprintf("job %d", j.ID), e.Target)
			require.Equal(t, j.Kind, e.Kind)
		}
		requireVerifies(t, s, 3)
	})
}

// A job stored claimed for a free worker (the shortest path of an enqueue) has its entry
// written in the same transaction, on both drivers.
func TestAuditEntryOfAClaimedEnqueue(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		j := newJob("emails")
		p := pending("")
		c := models.WithPendingAudit(ctx, p)
		models.AuditEnqueue(c, []*models.Job{j})
		claimed, err := s.Jobs.InsertAndClaimJob(c, j, time.Now(), models.ClaimParams{Queue: "default", ServerID: "n1", Limit: 1, Lease: time.Minute, Idle: true})
		require.NoError(t, err)
		require.True(t, claimed)
		require.True(t, p.Written())
		entries := trail(t, s)
		require.Len(t, entries, 1)
		require.Equal(t, fmt.Sprintf("job %d", j.ID), entries[0].Target)
		requireVerifies(t, s, 1)
	})
}
