package staffcsv

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// civil is a calendar date without a zone.
type civil struct {
	y int
	m time.Month
	d int
}

// clock is a wall-clock time without a date.
type clock struct{ h, m, s int }

func (c clock) before(o clock) bool {
	if c.h != o.h {
		return c.h < o.h
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.s < o.s
}

// Years outside this range are refused: they are typing mistakes, and year 1
// would make a zero time, which the upstream API reads as missing.
const minYear, maxYear = 1970, 2999

// num reads between lo and hi decimal digits of s from i.
func num(s string, i, lo, hi int) (v, j int, ok bool) {
	j = i
	for j < len(s) && j-i < hi && s[j] >= '0' && s[j] <= '9' {
		v = v*10 + int(s[j]-'0')
		j++
	}
	return v, j, j-i >= lo
}

// dateLayouts are the date forms, ISO first (the usual one), for DMY and MDY.
// "1" and "2" take one or two digits, "2006" four.
var dateLayouts = [2][2]string{{"2006-1-2", "2/1/2006"}, {"2006-1-2", "1/2/2006"}}

// parseDate reads a whole date field: YYYY-MM-DD, or D/M/YYYY (M/D/YYYY when
// mdy), one or two digits for day and month. time.Parse checks the day
// against the month.
func parseDate(s string, mdy bool) (civil, bool) {
	for _, layout := range dateLayouts[btoi(mdy)] {
		if t, err := time.Parse(layout, s); err == nil {
			y, m, d := t.Date()
			return civil{y, m, d}, true
		}
	}
	return civil{}, false
}

// clockLayouts are the forms of a time of day. "15" takes one or two digits;
// time.Parse also takes a fraction after the seconds (ignored).
var clockLayouts = [...]string{"15:04", "15:04:05"}

// parseClock reads H:MM, HH:MM, H:MM:SS or HH:MM:SS, ignoring a fraction of
// a second (a '.' and 1 to 9 digits).
func parseClock(s string) (clock, bool) {
	if i := strings.IndexByte(s, '.'); (i >= 0 && len(s)-i-1 > 9) || strings.IndexByte(s, ',') >= 0 {
		return clock{}, false // time.Parse would also take more digits, or a comma
	}
	for _, layout := range clockLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			h, m, sec := t.Clock()
			return clock{h, m, sec}, true
		}
	}
	return clock{}, false
}

// whenKind says how much of a moment a clock_in or clock_out field gives.
type whenKind int

const (
	whenNone    whenKind = iota // empty
	whenClock                   // a time of day: the date comes from elsewhere
	whenLocal                   // a date and a time in the location's zone
	whenInstant                 // a date, a time and an offset
)

type when struct {
	kind  whenKind
	date  civil
	clock clock
	t     time.Time // whenInstant only
}

// parseWhen reads HH:MM[:SS], YYYY-MM-DD HH:MM[:SS] (or the date in the
// configured slash order, or a T instead of the space), optionally followed by
// Z or an offset ±HH:MM or ±HHMM (RFC 3339), into w (which it leaves as it
// was, zero, for an empty s).
func parseWhen(s string, mdy bool, w *when) bool {
	if s == "" {
		return true
	}
	if c, ok := parseClock(s); ok {
		w.kind, w.clock = whenClock, c
		return true
	}
	i := strings.IndexAny(s, " Tt")
	if i < 0 {
		return false
	}
	d, ok := parseDate(s[:i], mdy)
	if !ok {
		return false
	}
	rest := s[i+1:]
	j := strings.IndexAny(rest, "Zz+-")
	if j < 0 {
		j = len(rest)
	}
	c, ok := parseClock(rest[:j])
	if !ok {
		return false
	}
	if j == len(rest) {
		w.kind, w.date, w.clock = whenLocal, d, c
		return true
	}
	off, ok := parseOffset(rest[j:])
	if !ok {
		return false
	}
	w.kind, w.date, w.clock = whenInstant, d, c
	w.t = time.Date(d.y, d.m, d.d, c.h, c.m, c.s, 0, time.UTC).Add(-time.Duration(off) * time.Second)
	return true
}

// parseOffset reads Z, ±HH:MM or ±HHMM into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	if s == "Z" || s == "z" {
		return 0, true
	}
	for _, layout := range [...]string{"-07:00", "-0700"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		// time.Parse takes hours up to 24 and minutes up to 60.
		if s[1:3] > "23" || s[len(s)-2:] > "59" {
			return 0, false
		}
		_, off := t.Zone()
		return off, true
	}
	return 0, false
}

// resolve turns a wall-clock time into an instant in zone. A time that occurs
// twice (when the clocks go back) is its first occurrence; a time that does
// not occur (when they go forward) is reported with ok false.
func resolve(zone *time.Location, d civil, c clock) (time.Time, bool) {
	t := time.Date(d.y, d.m, d.d, c.h, c.m, c.s, 0, zone)
	if !sameWall(t, d, c) {
		return time.Time{}, false
	}
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t, true
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Second).Zone()
	if prev > off {
		// The clocks went back at start: the same wall time may also have
		// happened before it, with the earlier offset.
		if e := t.Add(-time.Duration(prev-off) * time.Second); e.Before(start) && sameWall(e, d, c) {
			return e, true
		}
	}
	return t, true
}

func sameWall(t time.Time, d civil, c clock) bool {
	y, m, dd := t.Date()
	h, mi, s := t.Clock()
	return y == d.y && m == d.m && dd == d.d && h == c.h && mi == c.m && s == c.s
}

// next is the calendar day after d.
func (d civil) next() civil {
	y, m, dd := time.Date(d.y, d.m, d.d+1, 0, 0, 0, 0, time.UTC).Date()
	return civil{y, m, dd}
}

// ratio is an exact non-integer quantity num/den (den > 0).
type ratio struct{ num, den int64 }

// maxHourDigits bounds the digits after the decimal mark of an hours value
// (Excel writes at most 15 significant digits), so that the arithmetic of
// pass 1 stays within int64.
const maxHourDigits = 15

// parseHours reads 7.5, 7,5, .5, 7:30, 7h30 or 7h, possibly negative, as a
// ratio of hours. An integer part above 1000 is read as 1000 hours (refused
// as too long anyway), which keeps the arithmetic within int64.
func parseHours(s string) (ratio, bool) {
	neg := false
	if s != "" && s[0] == '-' {
		neg, s = true, s[1:]
	}
	ip, i, _ := num(s, 0, 0, 18)
	if ip > 1000 {
		ip = 1000
	}
	var r ratio
	switch {
	case i == len(s) && i > 0:
		r = ratio{int64(ip), 1}
	case i < len(s) && (s[i] == '.' || s[i] == ','):
		j := i + 1
		if j == len(s) || len(s)-j > maxHourDigits {
			return ratio{}, false
		}
		if _, k, ok := num(s, j, 1, maxHourDigits); !ok || k != len(s) {
			return ratio{}, false
		}
		// The digits are checked: decimal reads the value exactly.
		d, err := decimal.NewFromString(strconv.Itoa(ip) + "." + s[j:])
		if err != nil {
			return ratio{}, false
		}
		r = ratio{d.CoefficientInt64(), decimal.New(1, -d.Exponent()).IntPart()}
	case i > 0 && i < len(s) && (s[i] == ':' || s[i] == 'h' || s[i] == 'H'):
		if s[i] != ':' && i+1 == len(s) {
			r = ratio{int64(ip), 1} // 7h
			break
		}
		m, k, ok := num(s, i+1, 2, 2)
		if !ok || k != len(s) || m > 59 {
			return ratio{}, false
		}
		r = ratio{int64(ip)*60 + int64(m), 60}
	default:
		return ratio{}, false
	}
	if neg {
		r.num = -r.num
	}
	return r, true
}

// maxBreak is the largest break kept as a number: anything longer is longer
// than any shift the contract accepts.
const maxBreak = 24 * 60

// parseBreak reads whole minutes ("30", also "30.0" or "30,00" as spreadsheets
// write them), possibly negative; more than maxBreak reads as maxBreak+1.
func parseBreak(s string) (int64, bool) {
	neg := false
	if s != "" && s[0] == '-' {
		neg, s = true, s[1:]
	}
	v, i, ok := num(s, 0, 1, 18)
	if !ok {
		return 0, false
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		for j < len(s) && s[j] == '0' {
			j++
		}
		if j == i+1 || j != len(s) {
			return 0, false
		}
	} else if i != len(s) {
		return 0, false
	}
	if i > 5 || v > maxBreak {
		v = maxBreak + 1
	}
	if neg {
		v = -v
	}
	return int64(v), true
}

// hoursDecimal writes num/den hours as a decimal with two places, or more
// when they make it exact (7.125); a quantity no decimal writes exactly (7 h
// 20 min = 7.333…) is rounded half up to two places.
func hoursDecimal(r ratio) decimal.Decimal {
	n, d := decimal.NewFromInt(r.num), decimal.NewFromInt(r.den)
	for places := int32(2); places <= 20; places++ {
		if q := n.DivRound(d, places); q.Mul(d).Equal(n) {
			return q
		}
	}
	return n.DivRound(d, 2)
}

// formatDuration writes seconds as H:MM, or H:MM:SS when they are not whole
// minutes.
func formatDuration(sec int64) string {
	s := strconv.FormatInt(sec/3600, 10) + ":" + two(int((sec/60)%60))
	if sec%60 != 0 {
		s += ":" + two(int(sec%60))
	}
	return s
}

func two(v int) string {
	return string([]byte{byte('0' + v/10%10), byte('0' + v%10)})
}

// formatWall writes YYYY-MM-DDTHH:MM, the form keys and messages use.
func formatWall(d civil, c clock) string {
	return string(appendWall(make([]byte, 0, 16), d, c, true))
}

func appendWall(b []byte, d civil, c clock, withTime bool) []byte {
	b = append(b, byte('0'+d.y/1000%10), byte('0'+d.y/100%10), byte('0'+d.y/10%10), byte('0'+d.y%10), '-',
		byte('0'+int(d.m)/10), byte('0'+int(d.m)%10), '-', byte('0'+d.d/10), byte('0'+d.d%10))
	if withTime {
		b = append(b, 'T', byte('0'+c.h/10), byte('0'+c.h%10), ':', byte('0'+c.m/10), byte('0'+c.m%10))
	}
	return b
}

func (d civil) String() string { return string(appendWall(nil, d, clock{}, false)) }
