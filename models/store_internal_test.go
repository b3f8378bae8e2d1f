package models

import (
	"context"
	"path/filepath"
	"testing"
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
