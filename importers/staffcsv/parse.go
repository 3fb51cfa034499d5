package staffcsv

import (
	"strconv"
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

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func mkCivil(y, m, d int) (civil, bool) {
	if m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return civil{}, false
	}
	return civil{y, time.Month(m), d}, true
}

// parseDatePrefix reads YYYY-MM-DD, or D/M/YYYY (M/D/YYYY when mdy) at the
// start of s, and returns where it stopped.
func parseDatePrefix(s string, mdy bool) (civil, int, bool) {
	if a, i, ok := num(s, 0, 4, 4); ok && i < len(s) && s[i] == '-' {
		b, i, ok := num(s, i+1, 1, 2)
		if !ok || i >= len(s) || s[i] != '-' {
			return civil{}, 0, false
		}
		c, i, ok := num(s, i+1, 1, 2)
		if !ok {
			return civil{}, 0, false
		}
		d, ok := mkCivil(a, b, c)
		return d, i, ok
	}
	a, i, ok := num(s, 0, 1, 2)
	if !ok || i >= len(s) || s[i] != '/' {
		return civil{}, 0, false
	}
	b, i, ok := num(s, i+1, 1, 2)
	if !ok || i >= len(s) || s[i] != '/' {
		return civil{}, 0, false
	}
	y, i, ok := num(s, i+1, 4, 4)
	if !ok {
		return civil{}, 0, false
	}
	if mdy {
		a, b = b, a
	}
	d, ok := mkCivil(y, b, a)
	return d, i, ok
}

// digit2 reads two decimal digits, or returns -1.
func digit2(a, b byte) int {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return -1
	}
	return int(a-'0')*10 + int(b-'0')
}

// parseDate reads a whole date field.
func parseDate(s string, mdy bool) (civil, bool) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' { // YYYY-MM-DD, the usual form
		y1, y2, m, d := digit2(s[0], s[1]), digit2(s[2], s[3]), digit2(s[5], s[6]), digit2(s[8], s[9])
		if y1 >= 0 && y2 >= 0 && m >= 0 && d >= 0 {
			return mkCivil(y1*100+y2, m, d)
		}
		return civil{}, false
	}
	d, i, ok := parseDatePrefix(s, mdy)
	return d, ok && i == len(s)
}

// parseClock reads H:MM, HH:MM, H:MM:SS or HH:MM:SS from i, ignoring a
// fraction of a second.
func parseClock(s string, i int) (clock, int, bool) {
	if len(s) == i+5 && s[i+2] == ':' { // HH:MM, the usual form
		h, m := digit2(s[i], s[i+1]), digit2(s[i+3], s[i+4])
		if h >= 0 && h <= 23 && m >= 0 && m <= 59 {
			return clock{h, m, 0}, i + 5, true
		}
	}
	h, i, ok := num(s, i, 1, 2)
	if !ok || i >= len(s) || s[i] != ':' {
		return clock{}, 0, false
	}
	m, i, ok := num(s, i+1, 2, 2)
	if !ok {
		return clock{}, 0, false
	}
	sec := 0
	if i < len(s) && s[i] == ':' {
		if sec, i, ok = num(s, i+1, 2, 2); !ok {
			return clock{}, 0, false
		}
		if i < len(s) && s[i] == '.' {
			_, j, ok := num(s, i+1, 1, 9)
			if !ok {
				return clock{}, 0, false
			}
			i = j
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return clock{}, 0, false
	}
	return clock{h, m, sec}, i, true
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
// Z or an offset ±HH:MM (RFC 3339), into w (which it leaves as it was, zero,
// for an empty s). It works in place: this runs twice per row.
func parseWhen(s string, mdy bool, w *when) bool {
	if s == "" {
		return true
	}
	if c, j, ok := parseClock(s, 0); ok && j == len(s) {
		w.kind, w.clock = whenClock, c
		return true
	}
	d, i, ok := parseDatePrefix(s, mdy)
	if !ok || i >= len(s) || (s[i] != ' ' && s[i] != 'T' && s[i] != 't') {
		return false
	}
	c, j, ok := parseClock(s, i+1)
	if !ok {
		return false
	}
	if j == len(s) {
		w.kind, w.date, w.clock = whenLocal, d, c
		return true
	}
	off, ok := parseOffset(s[j:])
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
	if len(s) < 5 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	h, i, ok := num(s, 1, 2, 2)
	if !ok {
		return 0, false
	}
	if i < len(s) && s[i] == ':' {
		i++
	}
	m, i, ok := num(s, i, 2, 2)
	if !ok || i != len(s) || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
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

// span is a stretch of time in which a zone keeps one offset, from one of
// its transitions to the next, with the wall times that fall in it and in no
// other span.
type span struct {
	zone     *time.Location
	off      int64 // seconds east of UTC
	wlo, whi int64 // wall times (unix seconds read as UTC) that exist once, with off
}

// resolver is resolve with a cache of the current span of each zone, so that
// the usual row costs a little arithmetic instead of several zone lookups.
type resolver struct {
	spans []span
	// The last date resolved and its unixDays: rows come in runs of a date.
	day     civil
	dayUnix int64
}

func (rs *resolver) resolve(zone *time.Location, d civil, c clock) (time.Time, bool) {
	if d != rs.day || rs.dayUnix == 0 { // 0: unset (or 1970-01-01, recomputed)
		rs.day, rs.dayUnix = d, d.unixDays()
	}
	wall := rs.dayUnix*86400 + int64(c.h*3600+c.m*60+c.s)
	for i := range rs.spans {
		if sp := &rs.spans[i]; sp.zone == zone && wall >= sp.wlo && wall < sp.whi {
			return time.Unix(wall-sp.off, 0).In(zone), true
		}
	}
	t, ok := resolve(zone, d, c)
	if !ok {
		return t, false
	}
	sp := spanOf(zone, t)
	for i := range rs.spans {
		if rs.spans[i].zone == zone {
			rs.spans[i] = sp
			return t, true
		}
	}
	rs.spans = append(rs.spans, sp)
	return t, true
}

// spanOf is the span of zone that holds t. A wall time w read with the span's
// offset is the instant w-off; it belongs to the span alone when that instant
// lies between the transitions lo and hi and when neither neighbour's offset
// (prev before lo, next from hi) also maps it into the neighbour: so w must be
// at least lo+max(off, prev) and below hi+min(off, next). The neighbours are
// assumed longer than the offset changes around them (days against hours).
func spanOf(zone *time.Location, t time.Time) span {
	const unbounded = 1 << 62
	start, end := t.ZoneBounds()
	_, o := t.Zone()
	off := int64(o)
	sp := span{zone: zone, off: off, wlo: -unbounded, whi: unbounded}
	if !start.IsZero() {
		_, prev := start.Add(-time.Second).Zone()
		sp.wlo = start.Unix() + max(off, int64(prev))
	}
	if !end.IsZero() {
		_, next := end.Zone()
		sp.whi = end.Unix() + min(off, int64(next))
	}
	return sp
}

// unixDays is the number of days from 1970-01-01 to d (proleptic Gregorian
// calendar; H. Hinnant's days_from_civil).
func (d civil) unixDays() int64 {
	y, m := int64(d.y), int64(d.m)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func sameWall(t time.Time, d civil, c clock) bool {
	y, m, dd := t.Date()
	h, mi, s := t.Clock()
	return y == d.y && m == d.m && dd == d.d && h == c.h && mi == c.m && s == c.s
}

// next is the calendar day after d.
func (d civil) next() civil {
	if d.d < daysIn(d.m, d.y) {
		return civil{d.y, d.m, d.d + 1}
	}
	if d.m < time.December {
		return civil{d.y, d.m + 1, 1}
	}
	return civil{d.y + 1, time.January, 1}
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
		frac, k, ok := num(s, j, 1, maxHourDigits)
		if !ok || k != len(s) {
			return ratio{}, false
		}
		den := int64(1)
		for range k - j {
			den *= 10
		}
		r = ratio{int64(ip)*den + int64(frac), den}
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
	if v, exp, ok := fastHours(r); ok {
		return decimal.New(v, exp)
	}
	return slowHours(r)
}

// fastHours is hoursDecimal in int64 arithmetic, for the ratios the rows make
// (denominators 3600 or 60·10^s): r = v·10^exp exactly with 2 to 4 places, or
// v hundredths rounded half up when no decimal is exact. ok is false outside
// the range where that is safe.
func fastHours(r ratio) (v int64, exp int32, ok bool) {
	if r.num < 0 || r.num >= 1<<40 || r.den <= 0 || r.den >= 1<<20 {
		return 0, 0, false
	}
	p := int64(100)
	for exp := int32(-2); exp >= -4; exp-- {
		if (r.num*p)%r.den == 0 {
			return r.num * p / r.den, exp, true
		}
		p *= 10
	}
	return (r.num*200 + r.den) / (2 * r.den), -2, true
}

func slowHours(r ratio) decimal.Decimal {
	n, d := decimal.NewFromInt(r.num), decimal.NewFromInt(r.den)
	for places := int32(2); places <= 20; places++ {
		if q := n.DivRound(d, places); q.Mul(d).Equal(n) {
			return q
		}
	}
	return n.DivRound(d, 2)
}

// hoursCache shares the decimals of the hours values in hundredths (at most
// 2401 of them, 0.00 to 24.00) between the records of a file, so that a
// record costs no allocation for its hours. Decimals are immutable.
type hoursCache struct{ d []decimal.Decimal }

func (c *hoursCache) get(r ratio) decimal.Decimal {
	v, exp, ok := fastHours(r)
	if !ok || exp != -2 || v > 2400 {
		return hoursDecimal(r)
	}
	if c.d == nil {
		c.d = make([]decimal.Decimal, 2401)
	}
	if c.d[v].Exponent() != -2 {
		c.d[v] = decimal.New(v, -2)
	}
	return c.d[v]
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
