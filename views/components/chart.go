package components

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChartSeries is one named set of values, drawn with a CSS class (its colour).
type ChartSeries struct {
	Name   string
	Class  string
	Values []int64
}

// Chart is a small line or stacked-bar chart drawn as SVG on the server.
type Chart struct {
	ID      string // unique on the page, for the accessible title
	Title   string
	Bars    bool // stacked bars; otherwise lines
	Series  []ChartSeries
	XLabels []string // one per point; "" for no label
	// Durations says the values are microseconds: the axis reads as durations, and the legend
	// gives each series' highest value instead of its total.
	Durations bool
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH                       = 720.0, 220.0
	padLeft, padRight, padTop, padBottom = 48.0, 12.0, 12.0, 26.0
)

// NiceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1), so axes read well.
func NiceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	mag := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*mag >= v {
			return m * mag
		}
	}
	return 10 * mag
}

// Compact writes a count briefly: 950, 1.2k, 34k, 1.5M.
func Compact(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1000), ".0") + "k"
	case n < 1_000_000:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + "M"
	}
}

func (c Chart) points() int {
	n := 0
	for _, s := range c.Series {
		n = max(n, len(s.Values))
	}
	return n
}

// Tick is a labelled position on an axis.
type Tick struct {
	Pos   float64
	Label string
}

// total is the height point i needs: the stacked sum for bars, the largest value for lines.
func (c Chart) total(i int) int64 {
	var t int64
	for _, s := range c.Series {
		if i < len(s.Values) {
			if c.Bars {
				t += s.Values[i]
			} else {
				t = max(t, s.Values[i])
			}
		}
	}
	return t
}

func (c Chart) highest() int64 {
	var top int64
	for i := range c.points() {
		top = max(top, c.total(i))
	}
	return top
}

// yStep is the distance between gridlines: a nice number that splits the highest point into
// at most four steps.
func (c Chart) yStep() int64 { return NiceCeil((c.highest() + 3) / 4) }

// YMax is the top of the y axis: the smallest whole number of steps that holds every point.
func (c Chart) YMax() int64 {
	step := c.yStep()
	return max(step, (c.highest()+step-1)/step*step)
}

// YTicks are the gridlines, evenly spaced from 0 to YMax.
func (c Chart) YTicks() []Tick {
	step, top := c.yStep(), c.YMax()
	var ticks []Tick
	for v := int64(0); v <= top; v += step {
		ticks = append(ticks, Tick{Pos: c.y(v, top), Label: c.Format(v)})
	}
	return ticks
}

// XTicks are the labelled points.
func (c Chart) XTicks() []Tick {
	var ticks []Tick
	for i, l := range c.XLabels {
		if l != "" {
			ticks = append(ticks, Tick{Pos: c.x(i), Label: l})
		}
	}
	return ticks
}

func (c Chart) x(i int) float64 {
	n := c.points()
	w := chartW - padLeft - padRight
	if c.Bars {
		return padLeft + w*(float64(i)+0.5)/float64(max(n, 1))
	}
	if n <= 1 {
		return padLeft
	}
	return padLeft + w*float64(i)/float64(n-1)
}

func (c Chart) y(v, top int64) float64 {
	h := chartH - padTop - padBottom
	return padTop + h*(1-float64(v)/float64(top))
}

// Segments are the "points" attributes of a line series broken where a value is missing (below
// 0, as in a period with nothing to measure); a lone point is drawn as a dot.
func (c Chart) Segments(s ChartSeries) []string {
	top := c.YMax()
	var (
		out []string
		b   strings.Builder
		n   int
	)
	flush := func() {
		if n == 1 { // a zero-length line, which round caps draw as a dot
			b.WriteString(" " + strings.Fields(b.String())[0])
		}
		if n > 0 {
			out = append(out, b.String())
		}
		b.Reset()
		n = 0
	}
	for i, v := range s.Values {
		if v < 0 {
			flush()
			continue
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", c.x(i), c.y(v, top))
		n++
	}
	flush()
	return out
}

// Bar is one rectangle of a stacked bar chart.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// minBarH is the least height of a bar with a value, in SVG units (over 2 px on a phone): a
// period with one job among hundreds must still show.
const minBarH = 3.0

// StackedBars returns the rectangles of a bar chart, series stacked in order.
func (c Chart) StackedBars() []Bar {
	top := c.YMax()
	n := c.points()
	w := (chartW - padLeft - padRight) / float64(max(n, 1)) * 0.7
	values := make([]int64, len(c.Series))
	var bars []Bar
	for i := range n {
		for k, s := range c.Series {
			values[k] = at(s.Values, i)
		}
		y := c.Bottom()
		for k, h := range stack(values, top, c.Bottom()-padTop, minBarH) {
			if h == 0 {
				continue
			}
			s := c.Series[k]
			label := s.Name
			if i < len(c.XLabels) && c.XLabels[i] != "" {
				label += ", " + c.XLabels[i]
			}
			y -= h
			bars = append(bars, Bar{X: c.x(i) - w/2, Y: y, W: w, H: h, Class: s.Class, Title: fmt.Sprintf("%s: %d", label, values[k])})
		}
	}
	return bars
}

// stack returns the heights of values stacked in a bar whose top, a total of top, is room units
// high: in proportion, but each value above zero at least least high, the difference taken from
// the taller parts so that the bar still fits.
func stack(values []int64, top int64, room, least float64) []float64 {
	hs := make([]float64, len(values))
	var sum, spare float64
	for i, v := range values {
		if v <= 0 {
			continue
		}
		hs[i] = max(room*float64(v)/float64(max(top, 1)), least)
		sum += hs[i]
		spare += hs[i] - least
	}
	if over := sum - room; over > 0 && spare > 0 {
		for i, h := range hs {
			if h > 0 {
				hs[i] -= min(over, spare) * (h - least) / spare
			}
		}
	}
	return hs
}

// Format writes a value as the chart's axis does: a count, or a duration.
func (c Chart) Format(v int64) string {
	if c.Durations {
		if v == 0 {
			return "0"
		}
		return FormatDuration(time.Duration(v) * time.Microsecond)
	}
	return Compact(v)
}

// LegendValue is what the legend says of a series: its total, or its highest duration.
func (c Chart) LegendValue(s ChartSeries) string {
	if c.Durations {
		return "peak " + c.Format(slices.Max(append([]int64{0}, s.Values...)))
	}
	return Compact(s.Total())
}

// Total sums a series.
func (s ChartSeries) Total() int64 {
	var t int64
	for _, v := range s.Values {
		t += v
	}
	return t
}

// Summary describes the chart in words, for screen readers.
func (c Chart) Summary() string {
	parts := make([]string, len(c.Series))
	for i, s := range c.Series {
		if c.Durations {
			parts[i] = s.Name + " " + c.LegendValue(s)
		} else {
			parts[i] = fmt.Sprintf("%s %d", s.Name, s.Total())
		}
	}
	return c.Title + ": " + strings.Join(parts, ", ") + "."
}

// Dimensions of the chart, for the template.
func (c Chart) ViewBox() string { return fmt.Sprintf("0 0 %.0f %.0f", chartW, chartH) }
func (c Chart) Left() float64   { return padLeft }
func (c Chart) Right() float64  { return chartW - padRight }
func (c Chart) Top() float64    { return padTop }
func (c Chart) Bottom() float64 { return chartH - padBottom }
func (c Chart) LabelY() float64 { return chartH - 8 }
