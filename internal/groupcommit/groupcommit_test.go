package groupcommit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// A write that panics answers its batch with an error, and the next caller is not left waiting
// for a leader that is gone.
func TestGroupSurvivesAPanic(t *testing.T) {
	g := &Group[int, error]{Max: 10, Failed: func(err error) error { return err },
		Write: func(batch []*Req[int, error]) {
			if batch[0].Item == 1 {
				panic("boom")
			}
			for _, r := range batch {
				r.Done <- nil
			}
		}}
	do := func(item int) error {
		t.Helper()
		res := make(chan error, 1)
		go func() { res <- g.Do(context.Background(), item) }()
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

// Callers arriving while a write is under way share the next one, within Max; each gets its
// own answer.
func TestGroupSharesWritesWithinMax(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	g := &Group[int, int]{Max: 3, Failed: func(error) int { return -1 },
		Write: func(batch []*Req[int, int]) {
			if batch[0].Item == 0 {
				<-release // the first write holds the lead while the others queue
			}
			mu.Lock()
			sizes = append(sizes, len(batch))
			mu.Unlock()
			for _, r := range batch {
				r.Done <- r.Item * 10
			}
		}}
	first := make(chan int, 1)
	go func() { first <- g.Do(context.Background(), 0) }()
	time.Sleep(50 * time.Millisecond) // the first caller leads
	var wg sync.WaitGroup
	got := make([]int, 7)
	for i := 1; i <= 6; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = g.Do(context.Background(), i) }()
	}
	time.Sleep(50 * time.Millisecond) // they queue behind it
	close(release)
	wg.Wait()
	if <-first != 0 {
		t.Fatal("the first caller got another's answer")
	}
	for i := 1; i <= 6; i++ {
		if got[i] != i*10 {
			t.Fatalf("caller %d got %d", i, got[i])
		}
	}
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 3 || sizes[2] != 3 {
		t.Fatalf("batches of %v, want [1 3 3]", sizes)
	}
}
