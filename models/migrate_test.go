package models_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Nodes that start at once against one new database all come up: their migrations take turns
// (PostgreSQL: an advisory lock; SQLite: a lock file). Without it, concurrent CREATEs fail on
// PostgreSQL's catalogs, and two SQLite processes may both apply a pending migration.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			const nodes = 5
			var wg sync.WaitGroup
			errs := make([]error, nodes)
			stores := make([]*models.Store, nodes)
			for i := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = models.Open(context.Background(), dsn, nil)
				}()
			}
			wg.Wait()
			for i := range nodes {
				require.NoError(t, errs[i], "node %d", i)
				defer stores[i].Close()
			}
			// The counters were set up once: a job inserted is counted once on every node.
			_, err := stores[0].Jobs.InsertJobs(ctx, []*models.Job{newJob("a")}, time.Now())
			require.NoError(t, err)
			for _, s := range stores {
				counts, err := s.JobQueries.CountJobsByState(ctx)
				require.NoError(t, err)
				require.Equal(t, map[models.JobState]int64{models.JobEnqueued: 1}, counts)
			}
			var rows int64
			require.NoError(t, modeltest.DB(stores[0]).Raw("SELECT count(*) FROM kiln_schema_migrations WHERE version_id > 0").Scan(&rows).Error)
			st, err := stores[0].SchemaStatus(ctx)
			require.NoError(t, err)
			require.EqualValues(t, len(st.Migrations), rows, "each migration applied once")
		})
	}
}

// legacyDB builds, on a fresh database of the dialect, the schema that Kiln made before
// versioned migrations (GORM AutoMigrate), edited by edit, and fills it with rows as that Kiln
// wrote them. It returns the DSN.
func legacyDB(t *testing.T, dialect string, edit func(string) string) string {
	t.Helper()
	var dsn, driver string
	if dialect == "sqlite" {
		dsn, driver = modeltest.SQLiteDSN(t), "sqlite3"
	} else {
		dsn, driver = modeltest.PostgresDSN(t), "pgx"
	}
	ddl, err := os.ReadFile("testdata/legacy_" + dialect + ".sql")
	require.NoError(t, err)
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(edit(string(ddl)))
	require.NoError(t, err)
	b := "false"
	if dialect == "sqlite" {
		b = "0"
	}
	for _, stmt := range []string{
		`INSERT INTO tasks (title, description, due_at, completed, completed_by, created_at, updated_at) VALUES ('Renew the certificate', '', '2026-01-02 10:00:00+00:00', ` + b + `, '', '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:00+00:00')`,
		`INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at) VALUES ('email.send', 'default', 0, '{"to":"a@example.com"}', 'enqueued', 0, 10, '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:00+00:00')`,
		`INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at, started_at, finished_at, server_id, result) VALUES ('report.build', 'low', 5, '{}', 'succeeded', 1, 10, '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:01+00:00', '2026-01-01 09:00:02+00:00', 'node-1', '{"rows":3}')`,
		`INSERT INTO job_events (job_id, from_state, to_state, at, attempt, reason) VALUES (2, '', 'enqueued', '2026-01-01 09:00:00+00:00', 0, 'enqueued'), (2, 'processing', 'succeeded', '2026-01-01 09:00:02+00:00', 1, '')`,
		`INSERT INTO job_logs (job_id, attempt, at, message) VALUES (2, 1, '2026-01-01 09:00:01+00:00', 'built 3 rows')`,
		`INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES ('ada', 'x', 'admin', '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:00+00:00')`,
		`INSERT INTO recurring_jobs (name, spec, time_zone, kind, args, queue, priority, max_attempts, timeout, misfire, paused, overridden) VALUES ('nightly', '0 2 * * *', 'Europe/Berlin', 'report.build', '{}', 'low', 0, 3, 0, 'relaxed', ` + b + `, ` + b + `)`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	return dsn
}

// A database made by the last Kiln before versioned migrations opens: it is stamped at version 1
// and keeps every row; so does one from an older Kiln, which is first brought to version 1's
// schema (missing columns added, obsolete indexes and tables dropped).
func TestLegacyDatabaseIsStampedWithItsRowsIntact(t *testing.T) {
	asIs := func(s string) string { return s }
	older := func(s string) string { // columns added later missing; an index and a table since dropped
		s = strings.Replace(s, ",`rescues` integer NOT NULL DEFAULT 0,`runs` integer NOT NULL DEFAULT 0", "", 1)
		s = strings.Replace(s, "    rescues bigint DEFAULT 0 NOT NULL,\n    runs bigint DEFAULT 0 NOT NULL,\n", "", 1)
		return s + ";\nCREATE INDEX idx_jobs_server_id ON jobs (server_id);\nCREATE TABLE job_counts (state varchar(20) PRIMARY KEY, n bigint);\n"
	}
	for _, d := range modeltest.Dialects {
		for name, edit := range map[string]func(string) string{"last": asIs, "older": older} {
			t.Run(d.Name+"/"+name, func(t *testing.T) {
				dsn := legacyDB(t, d.Name, edit)
				s := modeltest.Open(t, dsn)
				st, err := s.SchemaStatus(ctx)
				require.NoError(t, err)
				require.False(t, st.Legacy)
				require.Equal(t, st.Latest, st.Current, "stamped at version 1, then migrated to the newest")
				for _, m := range st.Migrations {
					require.False(t, m.AppliedAt.IsZero(), "migration %d", m.Version)
				}

				job, err := s.JobQueries.GetJob(ctx, 2)
				require.NoError(t, err)
				require.Equal(t, models.JobSucceeded, job.State)
				require.Equal(t, `{"rows":3}`, job.Result)
				require.Equal(t, "node-1", job.ServerID)
				events, err := s.JobQueries.JobEvents(ctx, 2)
				require.NoError(t, err)
				// Both stored events are kept; the history adds the claim the success implies.
				require.Len(t, events, 3)
				require.NotZero(t, events[0].ID)
				require.Equal(t, [2]models.JobState{models.JobEnqueued, models.JobProcessing}, [2]models.JobState{events[1].From, events[1].To})
				require.Zero(t, events[1].ID)
				require.Equal(t, models.JobSucceeded, events[2].To)
				require.NotZero(t, events[2].ID)
				logs, err := s.JobQueries.JobLogs(ctx, 2)
				require.NoError(t, err)
				require.Equal(t, "built 3 rows", logs[0].Message)
				rj, err := s.Recurring.GetRecurring(ctx, "nightly")
				require.NoError(t, err)
				require.Equal(t, "Europe/Berlin", rj.TimeZone)
				n, err := s.Users.CountUsers(ctx)
				require.NoError(t, err)
				require.Equal(t, int64(1), n)
				counts, err := s.JobQueries.CountJobsByState(ctx)
				require.NoError(t, err)
				require.Equal(t, map[models.JobState]int64{models.JobEnqueued: 1, models.JobSucceeded: 1}, counts, "counters set up from the rows")

				// The waiting job is claimed and finished as any other.
				claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "n", Limit: 1, Lease: time.Minute, Now: time.Now()})
				require.NoError(t, err)
				require.Len(t, claimed, 1)
				require.Equal(t, int64(1), claimed[0].ID)

				db := modeltest.DB(s)
				require.False(t, db.Migrator().HasIndex("jobs", "idx_jobs_server_id"), "obsolete index dropped")
				require.False(t, db.Migrator().HasTable("job_counts"), "obsolete table dropped")
				require.True(t, db.Migrator().HasColumn("jobs", "runs"))

				// Opening it again changes nothing.
				require.NoError(t, s.Close())
				s2 := modeltest.Open(t, dsn)
				st2, err := s2.SchemaStatus(ctx)
				require.NoError(t, err)
				require.Equal(t, st.Current, st2.Current)
			})
		}
	}
}

// Migration 1 makes what AutoMigrate made: a legacy database, stamped at 1 and migrated on, has
// the same tables, columns and indexes as a new one.
func TestMigrationOneIsTheLegacySchema(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			fresh := modeltest.Open(t, d.DSN(t))
			legacy := modeltest.Open(t, legacyDB(t, d.Name, func(s string) string { return s }))
			require.Equal(t, describeSchema(t, modeltest.DB(legacy)), describeSchema(t, modeltest.DB(fresh)))
		})
	}
}

func describeSchema(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	tables, err := db.Migrator().GetTables()
	require.NoError(t, err)
	var out []string
	for _, table := range tables {
		if table == "kiln_schema_migrations" || table == "sqlite_sequence" {
			continue
		}
		cols, err := db.Migrator().ColumnTypes(table)
		require.NoError(t, err)
		for _, c := range cols {
			nullable, _ := c.Nullable()
			def, _ := c.DefaultValue()
			pk, _ := c.PrimaryKey()
			out = append(out, fmt.Sprintf("%s.%s %s null=%v pk=%v default=%q", table, c.Name(), strings.ToLower(c.DatabaseTypeName()), nullable, pk, strings.Trim(def, `"'`)))
		}
		idx, err := db.Migrator().GetIndexes(table)
		require.NoError(t, err)
		for _, i := range idx {
			unique, _ := i.Unique()
			out = append(out, fmt.Sprintf("%s index %s %v unique=%v", table, i.Name(), i.Columns(), unique))
		}
	}
	sort.Strings(out)
	return out
}

// A node refuses a database migrated by a newer Kiln, naming both versions.
func TestNewerSchemaIsRefused(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			s := modeltest.Open(t, dsn)
			st, err := s.SchemaStatus(ctx)
			require.NoError(t, err)
			newer := st.Latest + 5
			require.NoError(t, modeltest.DB(s).Exec("INSERT INTO kiln_schema_migrations (version_id, is_applied) VALUES (?, true)", newer).Error)
			require.NoError(t, s.Close())
			_, err = models.Open(ctx, dsn, nil)
			require.ErrorIs(t, err, models.ErrSchemaTooNew)
			require.Contains(t, err.Error(), fmt.Sprintf("schema version %d and this Kiln knows versions up to %d", newer, st.Latest))
		})
	}
}

// A record of migrations that lost its rows is refused with a message, not guessed at.
func TestDamagedVersionTableIsRefused(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			s := modeltest.Open(t, dsn)
			require.NoError(t, modeltest.DB(s).Exec("DELETE FROM kiln_schema_migrations WHERE version_id = 0").Error)
			require.NoError(t, s.Close())
			_, err := models.Open(ctx, dsn, nil)
			require.ErrorIs(t, err, models.ErrSchemaDamaged)
			require.Contains(t, err.Error(), "lost its first row")
		})
	}
}

// When migrations were applied is read right whatever the database session's time zone
// (goose writes a timestamp without zone, in the session's zone, on PostgreSQL).
func TestMigrationTimesAreInstants(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			if d.Name == "postgres" {
				dsn += "&timezone=Asia/Tokyo"
			}
			s := modeltest.Open(t, dsn)
			st, err := s.SchemaStatus(ctx)
			require.NoError(t, err)
			for _, m := range st.Migrations {
				require.WithinDuration(t, time.Now(), m.AppliedAt, time.Minute, "migration %d", m.Version)
			}
		})
	}
}
