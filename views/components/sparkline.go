package components

import (
	"fmt"
	"time"
)

// Sparkline is a small stacked-bar chart of succeeded and failed runs per period, drawn inline
// in a table row; Label says the same in words.
type Sparkline struct {
	Succeeded, Failed []int64
	Label             string
}

// Sparkline geometry, in SVG user units.
const sparkW, sparkH = 120.0, 28.0

// SparkBar is one rectangle of a sparkline.
type SparkBar struct {
	X, Y, W, H float64
	Class      string
}

// Bars returns the sparkline's rectangles: failures stacked on successes, scaled to the
// busiest period; a period with runs gets at least a pixel.
func (s Sparkline) Bars() []SparkBar {
	n := max(len(s.Succeeded), len(s.Failed))
	var top int64
	for i := range n {
		top = max(top, at(s.Succeeded, i)+at(s.Failed, i))
	}
	if top == 0 {
		return nil
	}
	w := sparkW / float64(n)
	var out []SparkBar
	for i := range n {
		base := 0.0
		for _, part := range []struct {
			v     int64
			class string
		}{{at(s.Succeeded, i), "series-succeeded"}, {at(s.Failed, i), "series-failed"}} {
			if part.v == 0 {
				continue
			}
			h := max(sparkH*float64(part.v)/float64(top), 1)
			out = append(out, SparkBar{X: float64(i) * w, Y: sparkH - base - h, W: w * 0.8, H: h, Class: part.class})
			base += h
		}
	}
	return out
}

// SparkViewBox is the sparkline's viewBox.
func (Sparkline) SparkViewBox() string { return fmt.Sprintf("0 0 %.0f %.0f", sparkW, sparkH) }

func at(v []int64, i int) int64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// FormatDuration rounds a duration for reading: "85 µs", "4.2 ms", "420 ms", "3.2 s",
// "4 min 5 s", "2 h 5 min".
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}
