package staffcsv

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tmas/storeagent/importers/record"
)

// shift is a row once checked: everything its record needs but the name.
type shift struct {
	loc     string
	zone    *time.Location
	emp     string
	in      time.Time
	inDate  civil // the local date and time of clock_in, for the key
	inClock clock
	out     time.Time
	open    bool  // no clock_out: still clocked in
	dayOnly bool  // hours and a date, no clock times
	hours   ratio // worked hours minus the break
}

// field returns the trimmed text of column c in f, or "" when the header has
// no such column.
func (p *parser) field(f []string, c column) string {
	i := p.cols[c]
	if i < 0 || i >= len(f) {
		return ""
	}
	v := f[i]
	if p.track && c != colName && !isASCII(v) {
		p.sensitive = true
	}
	if p.enc == encUTF8 && len(v) > 0 && v[0] > ' ' && v[0] < utf8.RuneSelf && v[len(v)-1] > ' ' && v[len(v)-1] < utf8.RuneSelf {
		return v // nothing TrimSpace would trim: the usual case
	}
	return strings.TrimSpace(p.enc.decode(v))
}

func (p *parser) bad(c column, reason string) {
	p.problems.add(p.line, c.String(), reason)
}

const timeForms = "HH:MM, HH:MM:SS, YYYY-MM-DD HH:MM or RFC 3339"

// parseRow checks one row (whose fields fit the header) and reports its
// problems; ok says it had none.
func (p *parser) parseRow(f []string) (s shift, ok bool) {
	before := p.problems.n

	// Where.
	s.loc = p.field(f, colLocation)
	bound := p.opts.BoundLocation
	switch {
	case s.loc == "" && bound != "":
		s.loc = bound
	case s.loc == "":
		p.bad(colLocation, "missing")
	case bound != "" && s.loc != bound:
		p.bad(colLocation, fmt.Sprintf("%q is not the location of this FTP user (%s)", s.loc, bound))
	}
	if p.problems.n == before {
		if kept, z := p.zone(s.loc); z != nil {
			s.loc, s.zone = kept, z
		} else {
			p.bad(colLocation, p.unknownLocation(s.loc))
		}
	}

	// Who.
	if s.emp = p.field(f, colEmployee); s.emp == "" {
		p.bad(colEmployee, "missing")
	}

	// When, and how long: parse every field first, so that a row lists all
	// its problems at once.
	timesOK := s.zone != nil
	dateS := p.field(f, colDate)
	var date civil
	if dateS != "" {
		d, ok := parseDate(dateS, p.mdy)
		switch {
		case !ok:
			p.bad(colDate, fmt.Sprintf("%q is not a date (use %s)", dateS, p.dateForms()))
			timesOK = false
		case d.y < minYear || d.y > maxYear:
			p.bad(colDate, fmt.Sprintf("%q is out of range (years %d to %d)", dateS, minYear, maxYear))
			timesOK = false
		default:
			date = d
		}
	}
	inS, outS := p.field(f, colIn), p.field(f, colOut)
	var in, out when
	inOK := p.parseWhen(colIn, inS, &in)
	outOK := p.parseWhen(colOut, outS, &out)
	timesOK = timesOK && inOK && outOK

	hoursS := p.field(f, colHours)
	var hours ratio
	if hoursS != "" {
		r, ok := parseHours(hoursS)
		switch {
		case !ok:
			p.bad(colHours, fmt.Sprintf("%q is not a number of hours (use 7.5, 7,5 or 7:30)", hoursS))
			timesOK = false
		case r.num < 0:
			p.bad(colHours, fmt.Sprintf("%q is negative", hoursS))
			timesOK = false
		case r.num > 24*r.den:
			p.bad(colHours, fmt.Sprintf("%q is more than 24 hours", hoursS))
			timesOK = false
		default:
			hours = r
		}
	}
	var brk int64
	if breakS := p.field(f, colBreak); breakS != "" {
		b, ok := parseBreak(breakS)
		switch {
		case !ok:
			p.bad(colBreak, fmt.Sprintf("%q is not a whole number of minutes", breakS))
			timesOK = false
		case b < 0:
			p.bad(colBreak, fmt.Sprintf("%q is negative", breakS))
			timesOK = false
		default:
			brk = b
		}
	}
	if timesOK {
		p.combine(&s, date, dateS != "", &in, inS, &out, hours, hoursS != "", brk)
	}
	return s, p.problems.n == before
}

// parseWhen parses a clock_in or clock_out field into w and reports its
// problems.
func (p *parser) parseWhen(c column, v string, w *when) bool {
	if !parseWhen(v, p.mdy, w) {
		p.bad(c, fmt.Sprintf("%q is not a time (use %s)", v, timeForms))
		return false
	}
	if w.kind == whenLocal || w.kind == whenInstant {
		if w.date.y < minYear || w.date.y > maxYear {
			p.bad(c, fmt.Sprintf("%q is out of range (years %d to %d)", v, minYear, maxYear))
			return false
		}
	}
	return true
}

// combine works out the span of a row whose fields each parsed.
func (p *parser) combine(s *shift, date civil, hasDate bool, in *when, inS string, out *when, hours ratio, hasHours bool, brk int64) {
	if in.kind == whenNone {
		switch {
		case out.kind != whenNone:
			p.bad(colIn, "missing (clock_out is given)")
		case !hasHours:
			p.bad(colIn, "missing (give clock_in, or hours and a date)")
		case !hasDate:
			p.bad(colDate, "missing (a row with hours but no clock_in needs a date)")
		case brk*hours.den > 60*hours.num:
			p.bad(colBreak, fmt.Sprintf("a %d-minute break is longer than the %s hours worked", brk, formatDuration(hours.num*3600/hours.den)))
		default:
			// Hours and a date: the shift is placed at the local midnight
			// starting that date (or the first instant of the day when
			// midnight is skipped), and lasts the hours given.
			s.dayOnly = true
			s.inDate = date
			s.in = time.Date(date.y, date.m, date.d, 0, 0, 0, 0, s.zone)
			// hours in whole seconds, rounded half up (int64-safe: num%den < 10^15)
			frac := (hours.num % hours.den) * 3600
			sec := hours.num/hours.den*3600 + frac/hours.den
			if 2*(frac%hours.den) >= hours.den {
				sec++
			}
			s.out = s.in.Add(time.Duration(sec) * time.Second)
			s.hours = ratio{60*hours.num - brk*hours.den, 60 * hours.den}
			if s.in.After(p.future) {
				p.bad(colDate, fmt.Sprintf("%s is more than 1 day in the future", date))
			}
		}
		return
	}

	switch in.kind {
	case whenClock:
		if !hasDate {
			p.bad(colDate, fmt.Sprintf("missing (clock_in %q has no date)", inS))
			return
		}
		s.inDate, s.inClock = date, in.clock
	case whenLocal:
		s.inDate, s.inClock = in.date, in.clock
	case whenInstant:
		s.in = in.t.In(s.zone)
		s.inDate, s.inClock = wallOf(s.in)
	}
	if in.kind != whenInstant {
		t, ok := p.resolver.resolve(s.zone, s.inDate, s.inClock)
		if !ok {
			p.bad(colIn, skipped(s.inDate, s.inClock, s.zone))
			return
		}
		s.in = t
	}
	if s.in.After(p.future) {
		p.bad(colIn, fmt.Sprintf("%s is more than 1 day in the future", formatWall(s.inDate, s.inClock)))
	}

	if out.kind == whenNone {
		s.open = true
		s.hours = ratio{0, 1}
		return
	}
	switch out.kind {
	case whenClock:
		// A clock_out earlier than clock_in ends the next day.
		d := s.inDate
		if out.clock.before(s.inClock) {
			d = d.next()
		}
		t, ok := p.resolver.resolve(s.zone, d, out.clock)
		if !ok {
			p.bad(colOut, skipped(d, out.clock, s.zone))
			return
		}
		s.out = t
	case whenLocal:
		t, ok := p.resolver.resolve(s.zone, out.date, out.clock)
		if !ok {
			p.bad(colOut, skipped(out.date, out.clock, s.zone))
			return
		}
		s.out = t
	case whenInstant:
		s.out = out.t.In(s.zone)
	}
	if s.out.Before(s.in) {
		od, oc := wallOf(s.out)
		p.bad(colOut, fmt.Sprintf("%s is before clock_in %s", formatWall(od, oc), formatWall(s.inDate, s.inClock)))
		return
	}
	worked := int64(s.out.Sub(s.in) / time.Second)
	switch {
	case worked > 24*3600:
		p.bad(colOut, fmt.Sprintf("the shift lasts %s, more than 24 hours", formatDuration(worked)))
	case brk*60 > worked:
		p.bad(colBreak, fmt.Sprintf("a %d-minute break is longer than the %s shift", brk, formatDuration(worked)))
	default:
		s.hours = ratio{worked - brk*60, 3600}
	}
}

func wallOf(t time.Time) (civil, clock) {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return civil{y, m, d}, clock{h, mi, s}
}

func skipped(d civil, c clock, zone *time.Location) string {
	return fmt.Sprintf("%s:%s does not exist on %s in %s (the clocks skip that hour)", two(c.h), two(c.m), d, zone)
}

// zone is the time zone of a location the agent serves, or nil, with a
// copy of loc to keep: the field is part of a 64 KiB read that must not stay
// in memory for it.
func (p *parser) zone(loc string) (string, *time.Location) {
	if loc == p.lastLoc && p.lastZone != nil {
		return p.lastLoc, p.lastZone
	}
	z, ok := p.opts.Locations[loc]
	if !ok {
		return "", nil
	}
	if z == nil {
		z = p.defaultZone
	}
	p.lastLoc, p.lastZone = strings.Clone(loc), z
	return p.lastLoc, z
}

func (p *parser) unknownLocation(loc string) string {
	served := make([]string, 0, len(p.opts.Locations))
	for id := range p.opts.Locations {
		served = append(served, id)
	}
	slices.Sort(served)
	if len(served) == 0 {
		return fmt.Sprintf("unknown location %q (this agent serves no location: check its configuration)", loc)
	}
	msg := fmt.Sprintf("unknown location %q (this agent serves %s", loc, strings.Join(served, ", "))
	for _, id := range served {
		if t := strings.TrimLeft(id, "0"); t != id && t == strings.TrimLeft(loc, "0") {
			msg += "; did a spreadsheet drop the leading zeros of " + id + "?"
			break
		}
	}
	return msg + ")"
}

func (p *parser) dateForms() string {
	if p.mdy {
		return "YYYY-MM-DD or MM/DD/YYYY"
	}
	return "YYYY-MM-DD or DD/MM/YYYY"
}

// shiftOut is a record's shift and the clock_out it points to.
type shiftOut struct {
	sh  record.Shift
	out time.Time
}

// record builds the record of a checked row.
func (p *parser) record(f []string, s *shift) record.Record {
	p.keyBuf = append(p.keyBuf[:0], "csv:"...)
	p.keyBuf = append(p.keyBuf, s.loc...)
	p.keyBuf = append(p.keyBuf, ':')
	p.keyBuf = append(p.keyBuf, s.emp...)
	p.keyBuf = append(p.keyBuf, ':')
	p.keyBuf = appendWall(p.keyBuf, s.inDate, s.inClock, !s.dayOnly)
	// The shifts and their clock_out come from a slab of 64, one allocation
	// for many rows: a record kept keeps its 63 neighbours (10 KiB) too.
	if len(p.slab) == 0 {
		p.slab = make([]shiftOut, 64)
	}
	a := &p.slab[0]
	p.slab = p.slab[1:]
	a.sh = record.Shift{
		EmployeeID:   s.emp,
		EmployeeName: p.field(f, colName),
		ClockIn:      s.in,
		Hours:        record.M(p.hoursCache.get(s.hours)),
	}
	a.out = s.out
	if !s.open {
		a.sh.ClockOut = &a.out
	}
	return record.Record{
		Type:       record.TypeShift,
		Key:        string(p.keyBuf),
		Source:     record.SourceCSV,
		LocationID: s.loc,
		ObservedAt: p.opts.ObservedAt,
		Shift:      &a.sh,
	}
}
