package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models/modeltest"
)

// Two minutes of soak (what CI runs): 100 jobs/s with retries, failures and cancels, the
// dashboard polled, retention at a minute. After the warm-up memory and goroutines stay flat
// and the database stops growing.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak takes two minutes; it runs without -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "soak.db")
	store := modeltest.Open(t, path)
	var out bytes.Buffer
	r, err := Soak(context.Background(), store, SoakConfig{Duration: 2 * time.Minute, Rate: 100, Every: 10 * time.Second, Retention: time.Minute, Path: path,
		JudgeHeap: raceEnabled}, &out)
	require.NoError(t, err)
	t.Log("\n" + out.String() + r.String())
	require.True(t, r.Pass, "soak failed: %v", r.Problems)
	require.GreaterOrEqual(t, len(r.Samples), 12)
	last := r.Samples[len(r.Samples)-1]
	require.Positive(t, last.Finished)
	require.Less(t, last.Jobs, int64(r.Enqueued), "retention deleted jobs")
}

// The verdict fails a soak whose memory, goroutines or database keep growing.
func TestSoakJudge(t *testing.T) {
	flat := func(i int) soakSample {
		return soakSample{At: time.Duration(i) * 10 * time.Second, RSSMiB: 40, Goroutines: 30, DBMiB: 3, Jobs: 6000}
	}
	judge := func(grow func(i int, s *soakSample)) SoakReport {
		r := SoakReport{Rate: 100, Retention: time.Minute}
		for i := range 13 {
			s := flat(i)
			grow(i, &s)
			r.Samples = append(r.Samples, s)
		}
		r.judge(90 * time.Second)
		return r
	}
	require.True(t, judge(func(int, *soakSample) {}).Pass)
	for what, grow := range map[string]func(i int, s *soakSample){
		"memory":     func(i int, s *soakSample) { s.RSSMiB += float64(i) * 5 },
		"goroutines": func(i int, s *soakSample) { s.Goroutines += i * 30 },
		"database":   func(i int, s *soakSample) { s.DBMiB += float64(i) },
		"jobs kept":  func(i int, s *soakSample) { s.Jobs += int64(i) * 1000 },
	} {
		r := judge(grow)
		require.False(t, r.Pass, what)
		require.Contains(t, strings.ToLower(strings.Join(r.Problems, " ")), strings.Fields(what)[0], what)
	}
	// Judged by the heap, the heap's growth fails and RSS's does not.
	for memory, grow := range map[string]func(i int, s *soakSample){
		"heap": func(i int, s *soakSample) { s.HeapMiB += float64(i) * 5 },
		"rss":  func(i int, s *soakSample) { s.RSSMiB += float64(i) * 5 },
	} {
		r := SoakReport{Rate: 100, Retention: time.Minute, Memory: "heap"}
		for i := range 13 {
			s := flat(i)
			s.HeapMiB = 20
			grow(i, &s)
			r.Samples = append(r.Samples, s)
		}
		r.judge(90 * time.Second)
		require.Equal(t, memory == "rss", r.Pass, "%s grows, the heap is judged: %v", memory, r.Problems)
	}
	short := SoakReport{Samples: []soakSample{flat(10), flat(11)}}
	short.judge(90 * time.Second)
	require.False(t, short.Pass, "too few samples to judge")
}
