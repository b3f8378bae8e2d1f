package models_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// appendAudit appends n entries by actor, at the times given (or now), and returns them.
func appendAudit(t *testing.T, s *models.Store, n int, actor string, at time.Time) []models.AuditEntry {
	t.Helper()
	var out []models.AuditEntry
	for i := range n {
		e := models.AuditEntry{At: at, Actor: actor, ActorKind: models.AuditActorUser, IP: "192.0.2.7", UserAgent: "curl/8",
			Action: "POST /dashboard/jobs/:id/retry", Target: fmt.Sprintf("job %d", i+1), Outcome: "303",
			Details: models.AuditDetails(map[string]any{"paused": models.AuditChange{Before: false, After: true}})}
		require.NoError(t, s.Audit.AppendAudit(ctx, &e))
		out = append(out, e)
	}
	return out
}

// requireVerifies checks the chain is whole and holds n entries.
func requireVerifies(t *testing.T, s *models.Store, n int64) models.AuditVerification {
	t.Helper()
	v, err := s.Audit.VerifyAudit(ctx)
	require.NoError(t, err)
	require.Zero(t, v.BadID, v.Problem)
	require.Equal(t, n, v.Checked)
	return v
}

// Appended entries chain: ids from 1 without gaps, each prev_hash the hash before, and the
// whole verifies.
func TestAuditAppendChainsAndVerifies(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		requireVerifies(t, s, 0)
		got := appendAudit(t, s, 5, "ada", time.Time{})
		for i, e := range got {
			require.Equal(t, int64(i+1), e.ID)
			require.Len(t, e.Hash, 64)
			if i == 0 {
				require.Empty(t, e.PrevHash)
			} else {
				require.Equal(t, got[i-1].Hash, e.PrevHash)
			}
		}
		requireVerifies(t, s, 5)

		// Several in one call chain in order; one refused refuses them all.
		batch := []*models.AuditEntry{
			{Actor: "bob", ActorKind: models.AuditActorUser, Action: "logout", Outcome: "303"},
			{Actor: "cy", ActorKind: models.AuditActorUser, Action: "logout", Outcome: "303"},
		}
		require.NoError(t, s.Audit.AppendAudit(ctx, batch...))
		require.Equal(t, []int64{6, 7}, []int64{batch[0].ID, batch[1].ID})
		require.Equal(t, got[4].Hash, batch[0].PrevHash)
		require.Equal(t, batch[0].Hash, batch[1].PrevHash)
		bad := []*models.AuditEntry{{Actor: "dee", ActorKind: models.AuditActorUser, Action: "logout", Outcome: "303"}, {Actor: "eve"}}
		require.Error(t, s.Audit.AppendAudit(ctx, bad...))
		requireVerifies(t, s, 7)
		got = append(got, *batch[0], *batch[1])

		page, err := s.Audit.ListAudit(ctx, models.AuditFilter{}, 0, 0, 10)
		require.NoError(t, err)
		require.Len(t, page.Entries, 7)
		require.Equal(t, got[6].Hash, page.Entries[0].Hash, "read back, the newest entry is as written")
		require.JSONEq(t, `{"paused":{"before":false,"after":true}}`, page.Entries[2].Details)
	})
}

// Changing a row's field, deleting a middle row, or changing a row and recomputing its hash:
// verify names the entry.
func TestAuditVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, s *models.Store)
		bad    int64
		says   string
	}{
		{"details changed", func(t *testing.T, s *models.Store) {
			require.NoError(t, modeltest.DB(s).Exec(`UPDATE audit_entries SET details = '{"paused":false}' WHERE id = 3`).Error)
		}, 3, "entry 3 was changed"},
		{"actor changed", func(t *testing.T, s *models.Store) {
			require.NoError(t, modeltest.DB(s).Exec(`UPDATE audit_entries SET actor = 'bob' WHERE id = 5`).Error)
		}, 5, "entry 5 was changed"},
		{"middle row deleted", func(t *testing.T, s *models.Store) {
			require.NoError(t, modeltest.DB(s).Exec(`DELETE FROM audit_entries WHERE id = 4`).Error)
		}, 4, "entry 4 was removed"},
		{"first rows deleted", func(t *testing.T, s *models.Store) {
			require.NoError(t, modeltest.DB(s).Exec(`DELETE FROM audit_entries WHERE id <= 2`).Error)
		}, 1, "entries 1 to 2 were removed"},
		{"row changed and rehashed", func(t *testing.T, s *models.Store) {
			// Someone who knows the hash recomputes it: the next entry's link breaks.
			var e models.AuditEntry
			require.NoError(t, modeltest.DB(s).Where("id = 2").Take(&e).Error)
			e.Target = "job 99"
			e.Hash = models.AuditHashForTest(&e)
			require.NoError(t, modeltest.DB(s).Save(&e).Error)
		}, 2, "entry 2 was changed and its hash recomputed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
				appendAudit(t, s, 6, "ada", time.Time{})
				requireVerifies(t, s, 6)
				tc.tamper(t, s)
				v, err := s.Audit.VerifyAudit(ctx)
				require.NoError(t, err)
				require.Equal(t, tc.bad, v.BadID, v.Problem)
				require.Contains(t, v.Problem, tc.says)
			})
		})
	}
}

// Retention deletes old entries in batches, leaving a checkpoint the rest verifies from; new
// entries chain on, even once every entry was deleted; a tampered first entry after the
// checkpoint is still caught.
func TestAuditPruneKeepsTheChainVerifiable(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		old := time.Now().Add(-400 * 24 * time.Hour)
		appendAudit(t, s, 7, "ada", old)
		appendAudit(t, s, 3, "bob", time.Time{})
		n, err := s.Audit.PruneAudit(ctx, time.Now().Add(-365*24*time.Hour), 3) // three batches and one
		require.NoError(t, err)
		require.Equal(t, int64(7), n)
		v := requireVerifies(t, s, 3)
		require.NotNil(t, v.From)
		require.Equal(t, int64(7), v.From.LastID)
		var checkpoints int64
		require.NoError(t, modeltest.DB(s).Model(&models.AuditCheckpoint{}).Count(&checkpoints).Error)
		require.Equal(t, int64(1), checkpoints, "only the newest checkpoint is kept")

		n, err = s.Audit.PruneAudit(ctx, time.Now().Add(time.Minute), 100) // everything
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		requireVerifies(t, s, 0)
		next := appendAudit(t, s, 2, "cy", time.Time{})
		require.Equal(t, int64(11), next[0].ID, "ids go on from the checkpoint")
		requireVerifies(t, s, 2)

		require.NoError(t, modeltest.DB(s).Exec(`UPDATE audit_entries SET prev_hash = '' WHERE id = 11`).Error)
		v, err = s.Audit.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(11), v.BadID, v.Problem)
	})
}

// Two nodes appending at once on PostgreSQL never chain onto the same entry: every entry
// verifies and the ids have no gaps or duplicates.
func TestAuditConcurrentAppendersDoNotFork(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	nodes := []*models.Store{modeltest.Open(t, dsn), modeltest.Open(t, dsn)}
	const perWorker, workers = 25, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*len(nodes)*perWorker)
	for i, s := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range perWorker {
					e := models.AuditEntry{Actor: fmt.Sprintf("node%d-w%d", i, w), ActorKind: models.AuditActorUser,
						Action: "POST /dashboard/queues/:name/pause", Target: fmt.Sprintf("queue q%d", k), Outcome: models.AuditOK}
					if err := s.Audit.AppendAudit(ctx, &e); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	total := int64(perWorker * workers * len(nodes))
	requireVerifies(t, nodes[0], total)
	var distinctPrev int64
	require.NoError(t, modeltest.DB(nodes[0]).Raw(`SELECT count(DISTINCT prev_hash) FROM audit_entries`).Scan(&distinctPrev).Error)
	require.Equal(t, total, distinctPrev, "no two entries chain onto the same one")
}

// The filters choose by actor, action prefix, target and time; pages go older and back newer.
func TestAuditListFiltersAndPages(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		for _, f := range []models.AuditFilter{{Actor: "a\x00b"}, {Action: "\xff"}, {Target: "job \xfe"}} {
			_, err := s.Audit.ListAudit(t.Context(), f, 0, 0, 10)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v: refused, not a database error", f)
		}
		old := time.Now().Add(-48 * time.Hour)
		appendAudit(t, s, 3, "ada", old)
		appendAudit(t, s, 4, "token ci", time.Time{})
		login := models.AuditEntry{Actor: "eve", ActorKind: models.AuditActorUser, Action: "login", Outcome: models.AuditRefused}
		require.NoError(t, s.Audit.AppendAudit(ctx, &login))

		ids := func(f models.AuditFilter, before, after int64, limit int) ([]int64, models.AuditPage) {
			page, err := s.Audit.ListAudit(ctx, f, before, after, limit)
			require.NoError(t, err)
			var out []int64
			for _, e := range page.Entries {
				out = append(out, e.ID)
			}
			return out, page
		}
		got, _ := ids(models.AuditFilter{Actor: "token ci"}, 0, 0, 10)
		require.Equal(t, []int64{7, 6, 5, 4}, got)
		got, _ = ids(models.AuditFilter{Action: "login"}, 0, 0, 10)
		require.Equal(t, []int64{8}, got)
		got, _ = ids(models.AuditFilter{Action: "POST /dashboard/jobs/"}, 0, 0, 10)
		require.Len(t, got, 7)
		got, _ = ids(models.AuditFilter{Action: "%"}, 0, 0, 10)
		require.Empty(t, got, "a % in the filter is a character, not a wildcard")
		got, _ = ids(models.AuditFilter{Target: "job 2"}, 0, 0, 10)
		require.Equal(t, []int64{5, 2}, got)
		got, _ = ids(models.AuditFilter{Until: time.Now().Add(-time.Hour)}, 0, 0, 10)
		require.Equal(t, []int64{3, 2, 1}, got)
		got, _ = ids(models.AuditFilter{Since: time.Now().Add(-time.Hour)}, 0, 0, 10)
		require.Equal(t, []int64{8, 7, 6, 5, 4}, got)

		got, page := ids(models.AuditFilter{}, 0, 0, 3)
		require.Equal(t, []int64{8, 7, 6}, got)
		require.False(t, page.HasNewer)
		require.True(t, page.HasOlder)
		got, page = ids(models.AuditFilter{}, 6, 0, 3)
		require.Equal(t, []int64{5, 4, 3}, got)
		require.True(t, page.HasNewer)
		require.True(t, page.HasOlder)
		got, page = ids(models.AuditFilter{}, 3, 0, 3)
		require.Equal(t, []int64{2, 1}, got)
		require.False(t, page.HasOlder)
		got, page = ids(models.AuditFilter{}, 0, 5, 2)
		require.Equal(t, []int64{7, 6}, got, "newer than 5, the page next to it")
		require.True(t, page.HasNewer)
		require.True(t, page.HasOlder)

		_, err := s.Audit.ListAudit(ctx, models.AuditFilter{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, 0, 0, 10)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		_, err = s.Audit.ListAudit(ctx, models.AuditFilter{}, 0, 0, models.MaxAuditPage+1)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
	})
}

// Details stay short whatever is passed: long values are cut, and fields past the bound are
// counted, not kept; the result is always JSON.
func TestAuditDetailsAreCapped(t *testing.T) {
	require.Empty(t, models.AuditDetails(nil))
	fields := map[string]any{"args": strings.Repeat("x", 5000)}
	for i := range 40 {
		fields[fmt.Sprintf("f%02d", i)] = strings.Repeat("y", 150)
	}
	got := models.AuditDetails(fields)
	require.LessOrEqual(t, len(got), 2000)
	var back map[string]any
	require.NoError(t, json.Unmarshal([]byte(got), &back))
	require.NotContains(t, back, "args", "the longest field goes first")
	require.Positive(t, back["_more"])
	short := models.AuditDetails(map[string]any{"name": "db-password"})
	require.JSONEq(t, `{"name":"db-password"}`, short)

	long := models.AuditEntry{Actor: "ada", ActorKind: models.AuditActorUser, Action: "x", Outcome: "ok", Details: strings.Repeat("z", 3000)}
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	require.Error(t, s.Audit.AppendAudit(ctx, &long), "details past the bound are refused, not cut mid-JSON")
}
