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

// minSparkH is the least height of a sparkline's bar with runs, in units of its 28: an hour with
// one run among hundreds must show.
const minSparkH = 4.0

// sparkClasses are the classes of the stacked series, successes first.
var sparkClasses = [2]string{"series-succeeded", "series-failed"}

// Bars returns the sparkline's rectangles: failures stacked on successes, scaled to the
// busiest period; a period with runs is at least minSparkH high.
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
		y := sparkH
		for k, h := range stack([]int64{at(s.Succeeded, i), at(s.Failed, i)}, top, sparkH, minSparkH) {
			if h == 0 {
				continue
			}
			y -= h
			out = append(out, SparkBar{X: float64(i) * w, Y: y, W: w * 0.8, H: h, Class: sparkClasses[k]})
		}
	}
	return out
}

// SparkLine is a horizontal line of a sparkline.
type SparkLine struct {
	X1, X2, Y float64
}

// Baseline is the sparkline's zero line across its whole period, drawn under the bars: without
// it a kind that ran in one hour showed one bar in a blank cell, and the day it belongs to was
// not seen.
func (Sparkline) Baseline() SparkLine { return SparkLine{X1: 0, X2: sparkW, Y: sparkH - 0.5} }

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
