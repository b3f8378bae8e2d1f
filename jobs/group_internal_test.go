package jobs

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A write that panics answers its batch with an error, and the next caller is not left waiting
// for a leader that is gone.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	g := &groupCommit[int, error]{max: 10, failed: func(err error) error { return err },
		write: func(batch []*groupReq[int, error]) {
			if batch[0].item == 1 {
				panic("boom")
			}
			for _, r := range batch {
				r.done <- nil
			}
		}}
	do := func(item int) error {
		t.Helper()
		res := make(chan error, 1)
		go func() { res <- g.do(context.Background(), item) }()
		select {
		case err := <-res:
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("the write of %d never returned", item)
			return nil
		}
	}
	if err := do(1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panicking write answered %v, want its panic as an error", err)
	}
	if err := do(2); err != nil {
		t.Fatalf("the write after a panic: %v", err)
	}
}
