package jobs

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed cron expression: the values each field allows, as bit sets. It knows
// nothing of time zones: it matches wall-clock times, which Schedule maps to instants.
type cronSpec struct {
	second, minute, hour, dom, month, dow uint64
	// domStar and dowStar: the day field starts with * or ?, so it doesn't widen the other (see
	// dayMatches).
	domStar, dowStar bool
	// interval: the hour field has * or a step, so the schedule keeps its interval through a
	// repeated hour when clocks go back, rather than running a repeated time once.
	interval bool
	seconds  bool // written with 6 fields
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	secondField = cronField{name: "second", min: 0, max: 59}
	minuteField = cronField{name: "minute", min: 0, max: 59}
	hourField   = cronField{name: "hour", min: 0, max: 23}
	domField    = cronField{name: "day-of-month", min: 1, max: 31}
	monthField  = cronField{name: "month", min: 1, max: 12, names: map[string]int{
		"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}}
	dowField = cronField{name: "day-of-week", min: 0, max: 7, names: map[string]int{
		"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}}
)

// cronMacros are the descriptors and the expressions they stand for.
var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var monthNames = []string{"", "January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// parseCron reads a cron expression of 5 fields (minute hour day-of-month month day-of-week) or
// 6 (seconds first), or a descriptor. Its errors say which field is wrong and why.
func parseCron(spec string) (*cronSpec, error) {
	if m, ok := cronMacros[strings.ToLower(spec)]; ok {
		spec = m
	} else if strings.HasPrefix(spec, "@") {
		return nil, fmt.Errorf("unknown descriptor %s: use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>", spec)
	}
	f := strings.Fields(spec)
	c := &cronSpec{second: 1} // 5 fields: at second 0
	switch len(f) {
	case 5:
	case 6:
		c.seconds = true
		s, err := parseCronField(f[0], secondField)
		if err != nil {
			return nil, err
		}
		c.second, f = s, f[1:]
	default:
		return nil, fmt.Errorf("a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), not %d", len(f))
	}
	var err error
	for _, p := range []struct {
		dst   *uint64
		text  string
		field cronField
	}{{&c.minute, f[0], minuteField}, {&c.hour, f[1], hourField}, {&c.dom, f[2], domField}, {&c.month, f[3], monthField}, {&c.dow, f[4], dowField}} {
		if *p.dst, err = parseCronField(p.text, p.field); err != nil {
			return nil, err
		}
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday too
		c.dow = c.dow&^(1<<7) | 1
	}
	c.domStar = f[2][0] == '*' || f[2][0] == '?'
	c.dowStar = f[4][0] == '*' || f[4][0] == '?'
	c.interval = strings.ContainsAny(f[1], "*?/")
	if err := c.checkFires(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseCronField reads one field: a list of *, ?, values, ranges (a-b) and steps (*/n, a/n, a-b/n).
func parseCronField(text string, f cronField) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(text, ",") {
		if part == "" {
			return 0, fmt.Errorf("%s field %q: an empty item in the list", f.name, text)
		}
		base, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s field %q: the step after / must be a whole number of at least 1", f.name, text)
			}
			step = n
		}
		top := f.max
		if f.name == "day-of-week" {
			top = 6 // *, */n and a/n go up to Saturday: Sunday once, as 0
		}
		lo, hi := f.min, top
		if base != "*" && base != "?" {
			loText, hiText, isRange := strings.Cut(base, "-")
			var err error
			if lo, err = f.value(loText, text); err != nil {
				return 0, err
			}
			hi = lo
			switch {
			case isRange:
				if hi, err = f.value(hiText, text); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("%s field %q: the range %s runs backwards; write it as two ranges", f.name, text, base)
				}
			case hasStep:
				hi = top // a/n: from a to the end, every n
				if lo > hi {
					return 0, fmt.Errorf("%s field %q: a step must start at %d-%d (7 is Sunday: write 0/%d)", f.name, text, f.min, hi, step)
				}
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func (f cronField) value(s, text string) (int, error) {
	if v, ok := f.names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if f.names != nil {
			return 0, fmt.Errorf("%s field %q: %q is neither a number from %d to %d nor a name such as %s", f.name, text, s, f.min, f.max, f.example())
		}
		return 0, fmt.Errorf("%s field %q: %q is not a number from %d to %d", f.name, text, s, f.min, f.max)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%s field %q: %d is outside %d-%d", f.name, text, v, f.min, f.max)
	}
	return v, nil
}

func (f cronField) example() string {
	if f.name == "month" {
		return "JAN"
	}
	return "MON"
}

// maxDaysIn is the most days month m can have (29 for February, counting leap years).
var maxDaysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkFires refuses an expression that can never fire, such as "0 0 30 2 *": the only way a
// day can fail to come is a day of the month that no chosen month has (day-of-week alone, or
// either day field when both are restricted, always comes round).
func (c *cronSpec) checkFires() error {
	for _, f := range []struct {
		name string
		set  uint64
	}{{"second", c.second}, {"minute", c.minute}, {"hour", c.hour}, {"day-of-month", c.dom}, {"month", c.month}, {"day-of-week", c.dow}} {
		if f.set == 0 {
			return fmt.Errorf("never runs: the %s field matches nothing", f.name)
		}
	}
	if !c.dowStar && !c.domStar {
		return nil // either day is enough, and every weekday comes
	}
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 && c.dom&(1<<(maxDaysIn[m]+1)-1) != 0 {
			return nil
		}
	}
	var months []string
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 {
			months = append(months, monthNames[m])
		}
	}
	return fmt.Errorf("never runs: %s has no day %s", joinWords(months, "or"), listBits(c.dom, 1, 31, "or"))
}

// dayMatches follows Vixie cron (crontab(5)): when both day fields are restricted (neither
// starts with * or ?), a day matching either runs; otherwise a day must match both, so
// "0 0 */2 * 1" runs on odd days that are Mondays.
func (c *cronSpec) dayMatches(y, m, d int) bool {
	dom := c.dom&(1<<d) != 0
	dow := c.dow&(1<<weekday(y, m, d)) != 0
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

// nextWall returns the first wall-clock time at or after w (seconds since 1970-01-01 00:00 of
// the wall clock) that matches, and false if none does within maxYears.
func (c *cronSpec) nextWall(w int64) (int64, bool) {
	t := time.Unix(w, 0).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	m := int(mo)
	limit := y + maxYears
	for y <= limit {
		if c.month&(1<<m) == 0 {
			if m = nextBit(c.month, m+1); m < 0 {
				y, m = y+1, nextBit(c.month, 1)
			}
			d, h, mi, s = 1, 0, 0, 0
			continue
		}
		if d > daysIn(y, m) {
			m, d, h, mi, s = m+1, 1, 0, 0, 0
			if m > 12 {
				y, m = y+1, 1
			}
			continue
		}
		if !c.dayMatches(y, m, d) {
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		if c.hour&(1<<h) == 0 {
			if h = nextBit(c.hour, h+1); h < 0 {
				d, h = d+1, 0
			}
			mi, s = 0, 0
			continue
		}
		if c.minute&(1<<mi) == 0 {
			if mi = nextBit(c.minute, mi+1); mi < 0 {
				h, mi = h+1, 0
				if h > 23 {
					d, h = d+1, 0
				}
			}
			s = 0
			continue
		}
		if c.second&(1<<s) == 0 {
			if s = nextBit(c.second, s+1); s < 0 {
				mi, s = mi+1, 0
				if mi > 59 {
					h, mi = h+1, 0
					if h > 23 {
						d, h = d+1, 0
					}
				}
			}
			continue
		}
		return time.Date(y, time.Month(m), d, h, mi, s, 0, time.UTC).Unix(), true
	}
	return 0, false
}

// maxYears bounds the search of nextWall. checkFires guarantees a match within the Gregorian
// calendar's 400-year cycle; the rarest day a spec can ask for (29 February, or one that must
// also be a given weekday, like "0 0 */28 2 MON") comes round within a few decades.
const maxYears = 400

// nextBit returns the lowest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> from << from
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}

func daysIn(y, m int) int {
	if m == 2 {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return maxDaysIn[m]
}

// weekday returns the day of the week of a date, 0 for Sunday (Sakamoto's method, with floored
// division so that years before 1 come out right too).
func weekday(y, m, d int) int {
	t := [...]int{0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4}
	if m < 3 {
		y--
	}
	return floorMod(y+floorDiv(y, 4)-floorDiv(y, 100)+floorDiv(y, 400)+t[m-1]+d, 7)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

// listBits writes the values of set between lo and hi as a short list joined with conj:
// "30", "30 or 31", "1-7 and 15".
func listBits(set uint64, lo, hi int, conj string) string {
	if vals := values(set, lo, hi); len(vals) >= 5 && isProgression(vals) {
		return fmt.Sprintf("%d, %d, %d, … %d", vals[0], vals[1], vals[2], vals[len(vals)-1])
	}
	var parts []string
	for _, r := range runs(set, lo, hi) {
		switch {
		case r[0] == r[1]:
			parts = append(parts, strconv.Itoa(r[0]))
		case r[1] == r[0]+1:
			parts = append(parts, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		default:
			parts = append(parts, strconv.Itoa(r[0])+"-"+strconv.Itoa(r[1]))
		}
	}
	return joinWords(parts, conj)
}

// joinWords joins words as English does: "a", "a or b", "a, b or c".
func joinWords(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// isProgression reports whether vals step by the same gap, at least 2.
func isProgression(vals []int) bool {
	n := vals[1] - vals[0]
	for i := 2; i < len(vals); i++ {
		if vals[i]-vals[i-1] != n {
			return false
		}
	}
	return n >= 2
}
