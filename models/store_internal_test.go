package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm/logger"
)

// SQLite's reader connections refuse writes: everything that writes must go through the one
// writer connection, or the serialisation it exists for is lost.
func TestSQLiteReadersAreQueryOnly(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rdb == s.db {
		t.Fatal("SQLite should have a separate reader pool")
	}
	if err := s.rdb.Exec("INSERT INTO settings (name, value) VALUES ('x', 'y')").Error; err == nil {
		t.Fatal("a reader connection accepted a write")
	}
	if err := s.db.Exec("INSERT INTO settings (name, value) VALUES ('x', 'y')").Error; err != nil {
		t.Fatalf("the writer refused a write: %v", err)
	}
	var n int64
	if err := s.rdb.Model(&Setting{}).Where("name = ?", "x").Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("readers see committed writes: n=%d err=%v", n, err)
	}
	w, _ := s.db.DB()
	if got := w.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("writer pool has %d connections, want 1", got)
	}
}

// GORM's trace of a statement that went well and fast costs nothing (its text is never built);
// errors and slow statements are still logged.
func TestQuietTrace(t *testing.T) {
	var buf bytes.Buffer
	lost := errors.New("connection lost")
	l := newGormLogger(slog.New(slog.NewTextHandler(&buf, nil)), func(err error) bool { return errors.Is(err, lost) })
	built := 0
	fc := func() (string, int64) { built++; return "SELECT 1", 1 }
	l.Trace(context.Background(), time.Now(), fc, nil)
	l.Trace(context.Background(), time.Now(), fc, logger.ErrRecordNotFound)
	if built != 0 || buf.Len() != 0 {
		t.Fatalf("a fast, successful statement was traced: built %d, logged %q", built, buf.String())
	}
	l.Trace(context.Background(), time.Now(), fc, errors.New("boom"))
	l.Trace(context.Background(), time.Now().Add(-time.Second), fc, nil)
	if built != 2 || !strings.Contains(buf.String(), "boom") || strings.Count(buf.String(), "SQL executed") != 2 {
		t.Fatalf("errors and slow statements must be logged: built %d, logged %q", built, buf.String())
	}
	l.Trace(context.Background(), time.Now(), fc, fmt.Errorf("query: %w", lost))
	if built != 2 || strings.Contains(buf.String(), "connection lost") {
		t.Fatalf("a statement that failed with its connection is left to the caller's log: built %d, logged %q", built, buf.String())
	}
	// db.Debug() traces everything.
	buf.Reset()
	l.LogMode(logger.Info).Trace(context.Background(), time.Now(), fc, nil)
	if built != 3 || buf.Len() == 0 {
		t.Fatalf("at level Info every statement is traced: built %d, logged %q", built, buf.String())
	}
}

// A failed statement is logged without its parameters: they may be job arguments or secrets.
func TestLoggedStatementsCarryNoParameters(t *testing.T) {
	var buf bytes.Buffer
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.db.Exec("SELECT nosuchcolumn FROM jobs WHERE args = ?", "SECRET-VALUE").Error
	if !strings.Contains(buf.String(), "nosuchcolumn") || strings.Contains(buf.String(), "SECRET-VALUE") {
		t.Fatalf("the failed statement must be logged without its parameters: %q", buf.String())
	}
}

// Migration 9 fills the tag index from the tags jobs already carry.
func TestJobTagsBackfill(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tags.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.provider(sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, tags := range []string{",billing,eu,", "", ",solo,"} {
		if err := s.db.Exec(`INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at, tags)
			VALUES ('k', 'default', 0, '{}', 'enqueued', 0, 1, ?, ?, ?)`, now, now, tags).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []JobTag
	if err := s.db.Order("tag, job_id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	want := []JobTag{{Tag: "billing", JobID: 1}, {Tag: "eu", JobID: 1}, {Tag: "solo", JobID: 3}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("job_tags after the backfill = %v, want %v", rows, want)
	}
}
