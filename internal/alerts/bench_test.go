package alerts_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// BenchmarkEvaluate is one evaluation of 20 rules (the four failure and schedule watches on
// every kind) over a history of 100,000 failed jobs, 1,000 of them new since the last
// evaluation: what an evaluation holds the database for while a flood goes on.
func BenchmarkEvaluate(b *testing.B) {
	for _, d := range modeltest.Dialects {
		b.Run(d.Name, func(b *testing.B) {
			s := modeltest.Open(b, d.DSN(b))
			e := jobstest.New(b, s, jobstest.Fast())
			ctx := context.Background()
			watches := []string{models.WatchFailed, models.WatchFailedInARow, models.WatchFailuresWithin, models.WatchMissedSchedule, models.WatchBacklog}
			for i := range 20 {
				r := models.AlertRule{Name: fmt.Sprintf("rule %d", i), Watch: watches[i%len(watches)], Scope: models.ScopeKind,
					Threshold: 3, Within: time.Minute, LongerThan: time.Minute, Channels: []string{"ops"}, RepeatEvery: time.Hour, Enabled: true}
				if r.Watch == models.WatchMissedSchedule {
					r.Scope, r.Grace = models.ScopeRecurring, time.Minute
				}
				if _, err := s.Rules.CreateRule(ctx, &r, t0); err != nil {
					b.Fatal(err)
				}
			}
			f := &fixture{s: s, e: e, at: t0}
			f.v = alerts.New(e, s.Rules, alerts.Config{Now: f.now})
			insert := func(at time.Time, n int) {
				rows := make([]*models.Job, n)
				for i := range rows {
					end := at.Add(time.Duration(i) * time.Microsecond)
					rows[i] = &models.Job{Kind: fmt.Sprintf("kind%d", i%10), Queue: "default", Args: "{}", State: models.JobFailed,
						MaxAttempts: 1, RunAt: end, CreatedAt: end, FinishedAt: &end}
				}
				if err := modeltest.DB(s).CreateInBatches(rows, 500).Error; err != nil {
					b.Fatal(err)
				}
			}
			for i := range 100 {
				insert(t0.Add(time.Duration(i)*time.Second), 1000)
			}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				at := t0.Add(time.Duration(100+15*i) * time.Second)
				insert(at, 1000)
				f.at = at.Add(15 * time.Second)
				b.StartTimer()
				if _, err := f.v.Evaluate(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
