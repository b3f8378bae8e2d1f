package jobs

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt, jitter int
		want            time.Duration
	}{
		{1, 0, 16 * time.Second},
		{1, 30, 46 * time.Second},
		{2, 10, (16 + 15 + 20) * time.Second},
		{5, 0, (625 + 15) * time.Second},
		{10, 30, (10000 + 15 + 300) * time.Second},
		{0, 0, 16 * time.Second}, // treated as the first attempt
	}
	for _, tt := range tests {
		if got := backoffWith(tt.attempt, tt.jitter); got != tt.want {
			t.Errorf("backoffWith(%d, %d) = %s, want %s", tt.attempt, tt.jitter, got, tt.want)
		}
	}
	for range 1000 {
		if d := DefaultBackoff(3); d < 96*time.Second || d > 186*time.Second {
			t.Fatalf("DefaultBackoff(3) = %s, outside 96s..186s", d)
		}
	}
	if got := ConstantBackoff(time.Second)(7); got != time.Second {
		t.Fatalf("ConstantBackoff = %s", got)
	}
}

func TestParseQueues(t *testing.T) {
	got, err := ParseQueues(" critical=10, default=5,low=2 ")
	if err != nil || FormatQueues(got) != "critical=10,default=5,low=2" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"default", "=5", "a=0", "a=x", "a=1,a=2", "a=100000"} {
		if _, err := ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) accepted", bad)
		}
	}
}
