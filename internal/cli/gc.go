package cli

import (
	"os"
	"runtime/debug"
)

// gcPercent is the collector's target when GOGC is not set: Kiln's live heap is tens of MiB and
// its hot paths allocate per request, so at Go's default of 100 the collector ran about 30 times
// a second under 14,000 one-job POSTs a second, 8-16% of their rate. 200 bought 4-7% on the
// burn-down and the API for 4 MiB more peak RSS (kiln bench: 54.0 MiB at GOGC=100, 58.2 at 200).
const gcPercent = 200

// DefaultGC sets the collector's target to gcPercent unless GOGC is set (the runtime has read
// it then), and reports whether it did.
func DefaultGC() bool {
	if os.Getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	return true
}
