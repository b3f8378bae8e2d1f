package groupcommit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A write that panics answers its batch with an error, and the next caller is not left waiting
// for a writer that is gone.
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
				<-release // the first write holds the writer while the others queue
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
	time.Sleep(50 * time.Millisecond) // the first caller writes
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

// With Writers 2, a second batch is written while the first still is, and every caller behind
// them still gets its own answer once they are done.
func TestGroupWritesSideBySide(t *testing.T) {
	defer goleak.VerifyNone(t)
	inside := make(chan int, 2)
	release := make(chan struct{})
	g := &Group[int, int]{Max: 10, Writers: 2, Failed: func(error) int { return -1 },
		Write: func(batch []*Req[int, int]) {
			if batch[0].Item < 2 {
				inside <- batch[0].Item
				<-release // held until both first writes are under way
			}
			for _, r := range batch {
				r.Done <- r.Item * 10
			}
		}}
	got := make([]int, 8)
	var wg sync.WaitGroup
	call := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = g.Do(context.Background(), i) }()
	}
	call(0)
	<-inside
	call(1)
	select {
	case <-inside: // the second write began while the first was held
	case <-time.After(5 * time.Second):
		t.Fatal("the second batch waited for the first: one writer at a time")
	}
	for i := 2; i < len(got); i++ {
		call(i) // both writers are busy: these queue
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range got {
		if got[i] != i*10 {
			t.Fatalf("caller %d got %d", i, got[i])
		}
	}
}
