package models

import "testing"

// With tracing off no job has a trace parent, and the insert's look for them allocates nothing
// and sends no statement (tx is never used: nil here).
func TestSetTraceParentsOffIsFree(t *testing.T) {
	jobs := make([]*Job, 1000)
	for i := range jobs {
		jobs[i] = &Job{ID: int64(i + 1)}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := setTraceParents(nil, jobs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("setTraceParents allocated %.0f times for jobs without trace parents", allocs)
	}
}
