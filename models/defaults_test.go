package models_test

import (
	"strconv"
	"strings"
	"testing"

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
