package cli

import (
	"runtime/debug"
	"testing"
)

// Without GOGC the collector aims at gcPercent; GOGC still decides when it is set.
func TestDefaultGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	if got := DefaultGC(); got != gcPercent {
		t.Fatalf("DefaultGC() = %d, want %d", got, gcPercent)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("the runtime's GC percent is %d, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime reads GOGC at start
	if got := DefaultGC(); got != 150 {
		t.Fatalf("with GOGC=150, DefaultGC() = %d, want 150 kept", got)
	}
}
