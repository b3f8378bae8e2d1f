package components

import (
	"strings"
	"testing"
)

func TestNiceCeilAndCompact(t *testing.T) {
	for in, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 150: 200, 480: 500, 501: 1000, 20_001: 50_000} {
		if got := NiceCeil(in); got != want {
			t.Errorf("NiceCeil(%d) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1k", 1250: "1.2k", 34_567: "34k", 1_500_000: "1.5M"} {
		if got := Compact(in); got != want {
			t.Errorf("Compact(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestChartGeometry(t *testing.T) {
	line := Chart{Series: []ChartSeries{{Name: "ok", Values: []int64{0, 5, 10}}, {Name: "bad", Values: []int64{0, 0, 3}}}}
	if got := line.YMax(); got != 10 {
		t.Fatalf("line YMax = %d", got)
	}
	pts := strings.Fields(line.Segments(line.Series[0])[0])
	if len(pts) != 3 || pts[0] != "48.0,194.0" || pts[2] != "708.0,12.0" {
		t.Fatalf("points %v: first at the bottom-left, last at the top-right", pts)
	}
	gappy := Chart{Durations: true, Series: []ChartSeries{{Values: []int64{-1, 4, 8, -1, 2, -1}}}}
	segs := gappy.Segments(gappy.Series[0])
	if len(segs) != 2 || len(strings.Fields(segs[0])) != 2 || len(strings.Fields(segs[1])) != 2 || strings.Fields(segs[1])[0] != strings.Fields(segs[1])[1] {
		t.Fatalf("a missing value breaks the line, and a lone point is a dot: %q", segs)
	}
	if got := gappy.YTicks()[1].Label; got != "2 µs" {
		t.Fatalf("a durations axis reads as durations, got %q", got)
	}
	if got := gappy.LegendValue(gappy.Series[0]); got != "peak 8 µs" {
		t.Fatalf("a durations legend gives the peak, got %q", got)
	}
	bars := Chart{Bars: true, Series: []ChartSeries{{Name: "ok", Class: "a", Values: []int64{6, 0}}, {Name: "bad", Class: "b", Values: []int64{4, 1}}}, XLabels: []string{"mon", "tue"}}
	if got := bars.YMax(); got != 10 {
		t.Fatalf("stacked YMax = %d, want the stacked total 10", got)
	}
	got := bars.StackedBars()
	if len(got) != 3 {
		t.Fatalf("want 3 bars (zero values are not drawn), got %d", len(got))
	}
	if got[1].Y+got[1].H != got[0].Y {
		t.Fatalf("the second series sits on the first: %+v", got[:2])
	}
	if got[0].Title != "ok, mon: 6" {
		t.Fatalf("title %q", got[0].Title)
	}
	if s := bars.Summary(); !strings.Contains(s, "ok 6, bad 5") {
		t.Fatalf("summary %q", s)
	}
	for _, tc := range []struct {
		max  int64
		want []string
	}{
		{0, []string{"0", "1"}},
		{1, []string{"0", "1"}},
		{3, []string{"0", "1", "2", "3"}},
		{14, []string{"0", "5", "10", "15"}},
		{20, []string{"0", "5", "10", "15", "20"}},
		{1234, []string{"0", "500", "1k", "1.5k"}},
	} {
		var got []string
		for _, tk := range (Chart{Series: []ChartSeries{{Values: []int64{tc.max}}}}).YTicks() {
			got = append(got, tk.Label)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("ticks for %d: got %v, want %v (evenly spaced, whole)", tc.max, got, tc.want)
		}
	}
}

// The realtime chart is 60 bars of 5 seconds: each is drawn wide enough to read on a phone (the
// chart keeps 560 px there, so 7 units are about 5 px), and a period with one finished job
// among hundreds still shows, where a line drew one-pixel spikes.
func TestRealtimeBarsAreReadable(t *testing.T) {
	ok, bad := make([]int64, 60), make([]int64, 60)
	ok[10], ok[59], bad[59] = 1, 200, 1
	c := Chart{Bars: true, Series: []ChartSeries{{Name: "ok", Class: "a", Values: ok}, {Name: "bad", Class: "b", Values: bad}}}
	bars := c.StackedBars()
	if len(bars) != 3 {
		t.Fatalf("want a bar for each period and series with runs, got %d", len(bars))
	}
	slot := (c.Right() - c.Left()) / 60
	for _, b := range bars {
		if b.W < 7 || b.W < 0.7*slot || b.W > slot {
			t.Errorf("bar %q is %.1f units wide in a slot of %.1f", b.Title, b.W, slot)
		}
		if b.H < 3 {
			t.Errorf("bar %q is %.1f units high: too thin to see", b.Title, b.H)
		}
		if b.Y < c.Top()-0.01 || b.Y+b.H > c.Bottom()+0.01 {
			t.Errorf("bar %q (y %.1f, h %.1f) leaves the plot", b.Title, b.Y, b.H)
		}
	}
	if last := bars[len(bars)-1]; last.Class != "b" || last.Y+last.H > bars[len(bars)-2].Y+0.01 {
		t.Fatalf("the failure stacks on the successes of the same period: %+v", bars[1:])
	}
	if x := bars[len(bars)-1].X + bars[len(bars)-1].W; x > c.Right() || c.Right()-x > slot {
		t.Fatalf("the newest period ends at the right edge, got %.1f of %.1f", x, c.Right())
	}
}

// A kind's sparkline draws its 24 hours as a baseline, so that a kind that ran in one hour
// shows that hour's bar on a day, not alone in a blank cell; an hour with one run among
// hundreds is still seen.
func TestSparklineShowsEveryHourWithRuns(t *testing.T) {
	ok, bad := make([]int64, 24), make([]int64, 24)
	ok[3], ok[23], bad[23] = 1, 400, 2
	s := Sparkline{Succeeded: ok, Failed: bad}
	bars := s.Bars()
	if len(bars) != 3 {
		t.Fatalf("want 3 bars, got %+v", bars)
	}
	for _, b := range bars {
		if b.H < 4 {
			t.Errorf("bar %+v is too thin to see in a 28 px cell", b)
		}
		if b.Y < 0 {
			t.Errorf("bar %+v leaves the sparkline", b)
		}
	}
	if bars[0].X <= 0 || bars[0].X >= bars[1].X {
		t.Fatalf("bars in hour order, got %+v", bars)
	}
	base := s.Baseline()
	if base.X1 != 0 || base.X2 != 120 || base.Y < 26 || base.Y > 28 {
		t.Fatalf("the baseline spans the whole day at the bottom: %+v", base)
	}
	if (Sparkline{Succeeded: make([]int64, 24)}).Bars() != nil {
		t.Fatal("a kind that did not run has no bars")
	}
}
