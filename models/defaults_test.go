package models_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The migrations' column DEFAULTs are the Go constants: SQL can't name them, so the values are
// written twice and checked here, on the schema each dialect's migrations made.
func TestMigrationDefaultsAreTheConstants(t *testing.T) {
	want := map[string]string{
		"jobs.queue":                  models.DefaultQueue,
		"jobs.max_attempts":           strconv.Itoa(models.DefaultMaxAttempts),
		"recurring_jobs.queue":        models.DefaultQueue,
		"recurring_jobs.max_attempts": strconv.Itoa(models.DefaultMaxAttempts),
		"recurring_jobs.time_zone":    models.DefaultTimeZone,
		"recurring_jobs.misfire":      models.MisfireRelaxed,
		"recurring_jobs.overlap":      models.OverlapPolicies[0],
	}
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		got := map[string]string{}
		for _, table := range []string{"jobs", "recurring_jobs"} {
			cols, err := modeltest.DB(s).Migrator().ColumnTypes(table)
			require.NoError(t, err)
			for _, c := range cols {
				key := table + "." + c.Name()
				if _, ok := want[key]; !ok {
					continue
				}
				def, ok := c.DefaultValue()
				require.True(t, ok, "%s has a DEFAULT", key)
				// PostgreSQL says 'default'::character varying; SQLite says 'default'.
				def, _, _ = strings.Cut(def, "::")
				got[key] = strings.Trim(def, `'"`)
			}
		}
		require.Equal(t, want, got)
	})
}

// A new recurring entry that leaves its zone, queue, attempts, misfire or overlap policy empty
// gets the defaults, stored and returned, whichever way it is made.
func TestNewRecurringEntryGetsTheDefaults(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		next := time.Now().Add(time.Hour)
		made, err := s.Recurring.CreateRecurring(ctx, &models.RecurringJob{Name: "made", Spec: "@hourly", Kind: "k", Args: "{}"}, next)
		require.NoError(t, err)
		upserted, err := s.Recurring.UpsertRecurring(ctx, &models.RecurringJob{Name: "coded", Spec: "@hourly", Kind: "k", Args: "{}"}, func() time.Time { return next })
		require.NoError(t, err)
		for _, rj := range []*models.RecurringJob{made, upserted} {
			stored, err := s.Recurring.GetRecurring(ctx, rj.Name)
			require.NoError(t, err)
			for _, got := range []*models.RecurringJob{rj, stored} {
				require.Equal(t, [5]string{models.DefaultTimeZone, models.DefaultQueue, strconv.Itoa(models.DefaultMaxAttempts), models.MisfireRelaxed, models.OverlapAllow},
					[5]string{got.TimeZone, got.Queue, strconv.Itoa(got.MaxAttempts), got.Misfire, got.Overlap}, rj.Name)
			}
		}
	})
}
