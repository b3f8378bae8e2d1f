// Package modeltest opens real databases for tests: SQLite in a temporary directory, and
// PostgreSQL (a fresh schema per test) when KILN_TEST_POSTGRES_DSN is set. Under CI (CI=true) a
// missing PostgreSQL is a failure, not a skip, so the PostgreSQL half of the suite can't silently
// stop running.
package modeltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/internal/testhooks"
)

// PostgresEnv is the environment variable holding the PostgreSQL URL for tests.
const PostgresEnv = "KILN_TEST_POSTGRES_DSN"

// SQLiteDSN returns the path of a new SQLite database in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "kiln.db")
}

// PostgresDSN returns a URL for a new, empty schema in the test PostgreSQL database, dropped when
// the test ends. Without KILN_TEST_POSTGRES_DSN it skips the test, or fails it under CI.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests (.ci/run starts PostgreSQL and sets it)", PostgresEnv)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable to run them", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("modeltest: open %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	schema := "kiln_test_" + randomHex(t, 6)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("modeltest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("modeltest: drop schema: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("modeltest: drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("modeltest: parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Dialects maps each dialect name to a function giving a fresh database of that dialect.
var Dialects = []struct {
	Name string
	DSN  func(testing.TB) string
}{
	{"sqlite", SQLiteDSN},
	{"postgres", PostgresDSN},
}

// Open opens and migrates a store on dsn, closed when the test ends.
func Open(t testing.TB, dsn string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("modeltest: open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ForEachDialect runs fn as a subtest against a fresh store of every dialect.
func ForEachDialect(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d.Name, func(t *testing.T) {
			fn(t, Open(t, d.DSN(t)))
		})
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("modeltest: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// DB returns the store's GORM handle (its writer), for tests that read or write rows directly.
func DB(s *models.Store) *gorm.DB { return testhooks.DB(s) }

// RecountJobs rebuilds the store's per-queue counters from the jobs table, for tests that wrote
// jobs directly (through DB).
func RecountJobs(t testing.TB, s *models.Store) {
	t.Helper()
	if err := testhooks.RecountJobs(context.Background(), s); err != nil {
		t.Fatalf("modeltest: recount jobs: %v", err)
	}
}

// CountJobsByQueueScan counts jobs by queue and state with a GROUP BY over the jobs table, to
// check the counters against.
func CountJobsByQueueScan(t testing.TB, s *models.Store) map[string]map[models.JobState]int64 {
	t.Helper()
	counts, err := testhooks.CountJobsByQueueScan(context.Background(), s)
	if err != nil {
		t.Fatalf("modeltest: count jobs: %v", err)
	}
	return counts.(map[string]map[models.JobState]int64)
}

// CountJobsByKindScan counts jobs by kind and state with a GROUP BY over the jobs table, to
// check the counters against.
func CountJobsByKindScan(t testing.TB, s *models.Store) map[string]map[models.JobState]int64 {
	t.Helper()
	counts, err := testhooks.CountJobsByKindScan(context.Background(), s)
	if err != nil {
		t.Fatalf("modeltest: count jobs: %v", err)
	}
	return counts.(map[string]map[models.JobState]int64)
}

// SetSearchWindow sets how many job ids one page of a text search looks through (see
// models.DefaultSearchWindow), so that tests can cross windows with a few jobs.
func SetSearchWindow(s *models.Store, n int64) { testhooks.SetSearchWindow(s, n) }

// AppendJobLog stores one log line of a job, as a running job's ctx.Log does (through
// AppendJobLogs, which cuts and cleans the text).
func AppendJobLog(ctx context.Context, s *models.Store, jobID int64, attempt int, at time.Time, msg string) error {
	return s.Jobs.AppendJobLogs(ctx, []models.JobLog{{JobID: jobID, Attempt: attempt, At: at, Message: msg}})
}

// RecentJobs returns up to n jobs, newest first.
func RecentJobs(t testing.TB, s *models.Store, n int) []models.Job {
	t.Helper()
	page, err := s.JobQueries.ListJobs(context.Background(), models.JobFilter{}, 0, 0, n)
	if err != nil {
		t.Fatalf("modeltest: recent jobs: %v", err)
	}
	return page.Jobs
}

// RewriteAudit changes entry id's target in the audit trail and recomputes its hash and every
// later entry's prev_hash and hash, as someone who can write the database and knows how would:
// the chain still verifies, and only a copy kept elsewhere shows it.
func RewriteAudit(t testing.TB, s *models.Store, id int64, target string) {
	t.Helper()
	var rows []models.AuditEntry
	if err := DB(s).Where("id >= ?", id).Order("id").Find(&rows).Error; err != nil || len(rows) == 0 || rows[0].ID != id {
		t.Fatalf("modeltest: read audit entries from %d: %v (%d found)", id, err, len(rows))
	}
	rows[0].Target = target
	for i := range rows {
		if i > 0 {
			rows[i].PrevHash = rows[i-1].Hash
		}
		rows[i].Hash = testhooks.AuditHash(&rows[i])
		if err := DB(s).Save(&rows[i]).Error; err != nil {
			t.Fatalf("modeltest: rewrite audit entry %d: %v", rows[i].ID, err)
		}
	}
}
