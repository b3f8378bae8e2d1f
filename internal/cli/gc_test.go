package cli

import (
	"runtime/debug"
	"testing"
)

// Without GOGC the collector aims at gcPercent; GOGC still decides when it is set.
func TestDefaultGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	if !DefaultGC() {
		t.Fatal("DefaultGC left the target alone without GOGC")
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("the runtime's GC percent is %d, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime reads GOGC at start
	if DefaultGC() {
		t.Fatal("DefaultGC overrode GOGC=150")
	}
	if got := debug.SetGCPercent(100); got != 150 {
		t.Fatalf("with GOGC=150 the runtime's GC percent is %d, want 150 kept", got)
	}
}
