package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// heldFinishes is a store whose first FinishJobs waits until release is closed, and which
// counts the finishes under way at once.
type heldFinishes struct {
	models.JobStore
	release chan struct{}
	second  chan struct{} // closed when a finish starts while another is under way

	mu            sync.Mutex
	calls, inside int
	most          int
}

func (h *heldFinishes) FinishJobs(ctx context.Context, batch []models.JobFinish) (int, []string, error) {
	h.mu.Lock()
	h.calls++
	first := h.calls == 1
	h.inside++
	if h.inside == 2 && h.most < 2 {
		close(h.second)
	}
	h.most = max(h.most, h.inside)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inside--
		h.mu.Unlock()
	}()
	if first {
		<-h.release
	}
	return h.JobStore.FinishJobs(ctx, batch)
}

// runHeld runs n no-op jobs on an engine with workers workers and finish batches of batch,
// whose first finish is held until a second finish starts or wait passes, and reports how many
// finishes ran at once at most. Every job must succeed either way, and Stop must leave no
// writer running (goleak, in TestMain).
func runHeld(t *testing.T, writers, workers, batch, n int, wait time.Duration) int {
	t.Helper()
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	h := &heldFinishes{JobStore: s.Jobs, release: make(chan struct{}), second: make(chan struct{})}
	held := *s
	held.Jobs = h
	e, err := New(&held, Config{
		Queues: []QueueConfig{{Name: DefaultQueue, Workers: workers}}, FinishBatch: batch, FinishWriters: writers,
		FinishDelay: time.Millisecond, PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register("noop", func(context.Context, *models.Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	params := make([]EnqueueParams, n)
	for i := range params {
		params[i] = EnqueueParams{Kind: "noop"}
	}
	if _, err := e.EnqueueMany(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.second:
	case <-time.After(wait):
	}
	close(h.release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts, err := s.JobQueries.CountJobsByState(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[models.JobSucceeded] == int64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs by state after 10s: %v, want %d succeeded", counts, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.most
}

// With two finish writers, a backlog that piles up while one batch is being written is
// written by the second writer at the same time; with one, batches wait their turn.
func TestFinishWritersShareABacklog(t *testing.T) {
	if got := runHeld(t, 2, 100, 10, 100, 10*time.Second); got != 2 {
		t.Errorf("two writers: %d finishes at once at most, want 2 (the backlog waited for the held one)", got)
	}
	// One writer: nothing may start beside the held finish while the backlog grows. The
	// workers finish 100 jobs in well under 200ms, so the backlog is there to be taken.
	if got := runHeld(t, 1, 100, 10, 100, 200*time.Millisecond); got != 1 {
		t.Errorf("one writer: %d finishes at once, want 1", got)
	}
}

// Under a load that never piles up half a batch of outcomes, the second writer stays asleep,
// and batches stay as large as one writer makes them.
func TestFinishWritersSleepUnderALightLoad(t *testing.T) {
	if got := runHeld(t, 2, 10, 1000, 500, 0); got != 1 {
		t.Errorf("ten workers, batches of 1,000: %d finishes at once, want 1", got)
	}
}

// FinishWriters is 0 (the dialect's default) to 8: each writer holds one of the pool's
// connections while it writes.
func TestFinishWritersAreBounded(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	for _, n := range []int{-1, maxFinishWriters + 1} {
		if _, err := New(s, Config{FinishWriters: n}); err == nil {
			t.Errorf("New accepted FinishWriters %d", n)
		}
	}
	for _, n := range []int{0, 1, maxFinishWriters} {
		if _, err := New(s, Config{FinishWriters: n}); err != nil {
			t.Errorf("FinishWriters %d: %v", n, err)
		}
	}
}
