package vend

import (
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tmas/storeagent/importers/record"
)

// shiftSlack widens a shift when looking for the user's sales around it.
const shiftSlack = time.Hour

// shiftHours is the worked time in decimal hours: whole seconds (milliseconds
// dropped), divided by 3600 and rounded half away from zero to 4 places, then
// written with at least 2 (7h30m = 7.50, 7h20m = 7.3333).
func shiftHours(in, out time.Time) record.Money {
	secs := int64(out.Sub(in) / time.Second)
	if secs <= 0 {
		return record.Zero
	}
	h := decimal.NewFromInt(secs).DivRound(decimal.NewFromInt(3600), 4)
	d, _ := decimal.NewFromString(h.String()) // drop trailing zeros
	return record.M(d)
}

// shiftRecord turns one shift into a record, or nil with a note.
func (i *Importer) shiftRecord(s apiShift, cur *cursor) (*record.Record, string) {
	in, err := parseTime(s.TimeIn)
	if err != nil {
		return nil, fmt.Sprintf("shift %s has no readable time_in: skipped", s.ID)
	}
	if cur.Since != nil && (in.Before(*cur.Since) || !in.Before(*cur.Until)) {
		return nil, ""
	}
	var out *time.Time
	if set(s.TimeOut) {
		t, err := parseTime(*s.TimeOut)
		if err != nil {
			return nil, fmt.Sprintf("shift %s has an unreadable time_out %q: skipped", s.ID, *s.TimeOut)
		}
		out = &t
	}
	if set(s.DeletedAt) {
		// A deleted shift: no hours (the upstream API has no void for shifts).
		out = &in
	}
	i.mu.Lock()
	u, known := i.users[s.UserID]
	i.mu.Unlock()
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	who := name
	if who == "" {
		who = s.UserID
	}
	loc, outletID, why := i.shiftLocation(s, u, known, in, out, cur)
	if loc == "" {
		return nil, fmt.Sprintf("shift %s of user %s: no outlet could be found (%s): skipped; set vend.default_location or restrict the user to one outlet in Lightspeed", s.ID, who, why)
	}
	var b record.Binding
	for _, x := range i.bindings {
		if x.LocationID == loc {
			b = x
			break
		}
	}
	zone := i.zone(b, outletID)
	sh := &record.Shift{EmployeeID: s.UserID, EmployeeName: name, ClockIn: in.In(zone), Hours: record.Zero}
	if out != nil {
		o := out.In(zone)
		sh.ClockOut = &o
		sh.Hours = shiftHours(in, *out)
	}
	rec := &record.Record{
		Type:       record.TypeShift,
		Key:        "vend:" + i.cfg.DomainPrefix + ":shift:" + s.ID,
		Source:     record.SourceVend,
		LocationID: loc,
		Shift:      sh,
		RevHint:    s.Version,
	}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Sprintf("shift %s skipped: %v", s.ID, err)
	}
	return rec, ""
}

// shiftLocation places a shift: the user's one bound restricted outlet, else
// the bound outlet of their sales around the shift, else the default
// location. It returns the TMAS location, the outlet (if any) and, when
// nothing fits, why.
func (i *Importer) shiftLocation(s apiShift, u apiUser, known bool, in time.Time, out *time.Time, cur *cursor) (loc, outlet, why string) {
	restricted := append([]string(nil), u.RestrictedOutletIDs...)
	if u.RestrictedOutletID != nil && *u.RestrictedOutletID != "" {
		restricted = append(restricted, *u.RestrictedOutletID)
	}
	bound := map[string]record.Binding{}
	for _, id := range restricted {
		if b, ok := i.binding(id); ok {
			bound[id] = b
		}
	}
	if len(bound) == 1 {
		for id, b := range bound {
			return b.LocationID, id, ""
		}
	}
	end := i.now()
	if out != nil {
		end = *out
	}
	// Only the sales inside the window count, each once.
	from, to := in.Add(-shiftSlack).Unix(), end.Add(shiftSlack).Unix()
	count := cur.salesWithin(s.UserID, from, to)
	for o := range count {
		if _, ok := i.binding(o); !ok {
			delete(count, o)
		}
	}
	if len(count) > 0 {
		ids := make([]string, 0, len(count))
		for id := range count {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(a, b int) bool {
			if count[ids[a]] != count[ids[b]] {
				return count[ids[a]] > count[ids[b]]
			}
			return ids[a] < ids[b]
		})
		b, _ := i.binding(ids[0])
		return b.LocationID, ids[0], ""
	}
	if i.cfg.DefaultLocation != "" {
		return i.cfg.DefaultLocation, "", ""
	}
	switch {
	case !known:
		why = "the user is unknown to Lightspeed's user list and made no sale around that time"
	case len(bound) > 1:
		why = "the user may work at several outlets and made no sale around that time"
	default:
		why = "the user is not restricted to one outlet and made no sale around that time"
	}
	return "", "", why
}
