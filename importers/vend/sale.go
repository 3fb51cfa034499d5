package vend

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tmas/storeagent/importers/record"
)

// How a sale's status counts. Lightspeed's `status` is authoritative when
// present; the newer `state` (parked, pending, voided, closed) is read when
// `status` is absent or unknown.
//
//	CLOSED              counted, paid
//	ONACCOUNT           counted at sale_date, not paid (the customer owes it)
//	ONACCOUNT_CLOSED    counted, paid
//	LAYBY               not counted until it is closed
//	LAYBY_CLOSED        counted at sale_date, paid
//	AWAITING_DISPATCH   not counted until DISPATCHED_CLOSED
//	AWAITING_PICKUP     not counted until PICKED_UP_CLOSED
//	DISPATCHED_CLOSED   counted, paid
//	PICKED_UP_CLOSED    counted, paid
//	SERVICE             not counted until SERVICE_CLOSED
//	SERVICE_CLOSED      counted, paid
//	SAVED, OPEN         parked: never counted
//	VOIDED              a `void` of the sale's key (cancels what was counted)
//	deleted_at set      a `void` as well
//
// Lightspeed does not reopen a closed sale (it is voided or returned instead),
// so a sale that shows a non-counted status emits nothing: if a counted sale
// ever came back as SAVED, it would keep counting until voided.
type verdict int

const (
	skipSale verdict = iota
	countSale
	voidSale
)

func classify(s apiSale) (v verdict, paid bool, unknown string) {
	if set(s.DeletedAt) {
		return voidSale, false, ""
	}
	switch strings.ToUpper(strings.TrimSpace(s.Status)) {
	case "CLOSED", "ONACCOUNT_CLOSED", "LAYBY_CLOSED", "DISPATCHED_CLOSED", "PICKED_UP_CLOSED", "SERVICE_CLOSED":
		return countSale, true, ""
	case "ONACCOUNT":
		return countSale, false, ""
	case "VOIDED":
		return voidSale, false, ""
	case "SAVED", "OPEN", "LAYBY", "AWAITING_DISPATCH", "AWAITING_PICKUP", "SERVICE":
		return skipSale, false, ""
	}
	switch strings.ToLower(strings.TrimSpace(s.State)) {
	case "closed":
		return countSale, true, ""
	case "voided":
		return voidSale, false, ""
	case "parked", "pending":
		return skipSale, false, ""
	}
	return skipSale, false, fmt.Sprintf("status %q, state %q", s.Status, s.State)
}

// amounts are a sale's exact sums.
type amounts struct {
	net, discounts decimal.Decimal
	items          int64
	lines          []record.Line
	negative       bool // some line returns goods
	note           string
}

// saleAmounts adds up the lines exactly from their 10-decimal amounts and
// rounds once, at the end.
//
// Lightspeed's line `price` is the unit price excluding tax after the line's
// discount, and `discount` the unit discount; total_price (2 places) is the
// sum of price × quantity. Payloads where price is before the discount are
// recognised by comparing both readings with total_price.
func saleAmounts(s apiSale, productOf func(id string) product) amounts {
	var a amounts
	after, before := decimal.Zero, decimal.Zero
	type lineSums struct{ after, before decimal.Decimal }
	sums := make([]lineSums, 0, len(s.LineItems))
	kept := make([]apiLine, 0, len(s.LineItems))
	for _, l := range s.LineItems {
		if strings.EqualFold(l.Status, "VOIDED") || strings.EqualFold(l.Status, "DELETED") {
			continue
		}
		q := l.Quantity.Decimal()
		pa := l.Price.Decimal().Mul(q)
		pb := l.Price.Decimal().Sub(l.Discount.Decimal()).Mul(q)
		after, before = after.Add(pa), before.Add(pb)
		a.discounts = a.discounts.Add(l.Discount.Decimal().Mul(q))
		if q.IsNegative() || l.IsReturn {
			a.negative = true
		}
		sums = append(sums, lineSums{pa, pb})
		kept = append(kept, l)
	}
	useBefore := false
	a.net = after
	if s.TotalPrice != nil {
		total := s.TotalPrice.Decimal()
		switch {
		case after.Round(2).Equal(total):
		case before.Round(2).Equal(total):
			useBefore, a.net = true, before
		default:
			a.note = fmt.Sprintf("its lines add up to %s but total_price is %s; the lines are used", after.Round(2).StringFixed(2), total.StringFixed(2))
		}
	}
	for k, l := range kept {
		q := l.Quantity.Decimal()
		net := sums[k].after
		if useBefore {
			net = sums[k].before
		}
		qty := q.Round(0).IntPart()
		a.items += qty
		line := record.Line{SKU: l.SKU, Qty: qty, Net: record.M(net.Round(2))}
		if line.SKU == "" && productOf != nil {
			p := productOf(l.ProductID)
			line.SKU, line.Title = p.sku, p.name
		}
		a.lines = append(a.lines, line)
	}
	a.net = a.net.Round(2)
	a.discounts = a.discounts.Round(2)
	return a
}

// saleRecord turns one feed entry into a record, or nil with a reason.
func (i *Importer) saleRecord(s apiSale, cur *cursor, skipped *skips) (*record.Record, string, error) {
	when, err := parseTime(s.SaleDate)
	if err != nil {
		if when, err = parseTime(s.CreatedAt); err != nil {
			return nil, fmt.Sprintf("sale %s has no readable sale_date: skipped", s.ID), nil
		}
	}
	v, paid, unknown := classify(s)
	if unknown != "" {
		return nil, fmt.Sprintf("sale %s has a status this agent does not know (%s): not counted", s.ID, unknown), nil
	}
	if v == countSale && s.UserID != "" && s.OutletID != "" {
		cur.remember(s.UserID, s.OutletID, when)
	}
	if v == skipSale {
		return nil, "", nil
	}
	if cur.Since != nil && (when.Before(*cur.Since) || !when.Before(*cur.Until)) {
		return nil, "", nil
	}
	b, ok := i.binding(s.OutletID)
	if !ok {
		skipped.add(s.OutletID, i)
		return nil, "", nil
	}
	if !b.Active {
		skipped.inactive(b.LocationID)
		return nil, "", nil
	}
	currency := i.cfg.Currency
	if o, ok := i.outlet(s.OutletID); ok && o.Currency != "" {
		currency = strings.ToUpper(o.Currency)
	}
	if currency == "" {
		return nil, "", fmt.Errorf("vend: Lightspeed does not say the currency of outlet %s: set vend.currency (e.g. NZD)", s.OutletID)
	}
	receipt := s.ReceiptNumber
	if receipt == "" {
		receipt = s.InvoiceNumber
	}
	t := &record.Transaction{
		OccurredAt: when.In(i.zone(b, s.OutletID)),
		Receipt:    receipt,
		Currency:   currency,
		StaffID:    s.UserID,
		RegisterID: s.RegisterID,
	}
	var note string
	switch v {
	case voidSale:
		t.Kind = record.KindVoid
	default:
		a := saleAmounts(s, i.productOf)
		t.Kind = record.KindSale
		if set(s.ReturnFor) || s.IsReturn || a.negative || a.net.IsNegative() {
			t.Kind = record.KindReturn
		}
		t.NetSales = record.M(a.net)
		t.Discounts = record.M(a.discounts)
		t.Tax = s.TotalTax.Round2()
		t.Items = a.items
		t.Lines = a.lines
		t.Paid = paid || t.Kind == record.KindReturn
		if a.note != "" {
			note = fmt.Sprintf("sale %s (receipt %s): %s", s.ID, receipt, a.note)
		}
	}
	rec := &record.Record{
		Type:        record.TypeTransaction,
		Key:         "vend:" + i.cfg.DomainPrefix + ":sale:" + s.ID,
		Source:      record.SourceVend,
		LocationID:  b.LocationID,
		Transaction: t,
		RevHint:     s.Version,
	}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Sprintf("sale %s skipped: %v", s.ID, err), nil
	}
	return rec, note, nil
}

// skips gathers the records left out of a page, for one note per outlet.
type skips struct {
	unbound  map[string]int    // outlet id -> sales
	names    map[string]string // outlet id -> name
	disabled map[string]int    // TMAS location -> sales
}

func newSkips() *skips {
	return &skips{unbound: map[string]int{}, names: map[string]string{}, disabled: map[string]int{}}
}

func (s *skips) add(outletID string, i *Importer) {
	s.unbound[outletID]++
	if o, ok := i.outlet(outletID); ok {
		s.names[outletID] = o.Name
	}
}

func (s *skips) inactive(location string) { s.disabled[location]++ }

func (s *skips) notes() []string {
	var out []string
	for id, n := range s.unbound {
		name := s.names[id]
		if name == "" {
			name = "unknown outlet"
		}
		out = append(out, fmt.Sprintf("%d %s at outlet %q (%s) skipped: the outlet is not bound to a TMAS location", n, plural(n, "sale"), name, id))
	}
	for loc, n := range s.disabled {
		out = append(out, fmt.Sprintf("%d %s of location %s skipped: the location is not active", n, plural(n, "sale"), loc))
	}
	sort.Strings(out)
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// remember notes that a user made a sale at an outlet at t. A sale seen
// again in the feed (an edit, a return made on it) has the same time and is
// kept once. Sales older than spanKeep before the user's newest are
// forgotten, and at most maxSeen are kept per user.
func (c *cursor) remember(user, outlet string, t time.Time) {
	if c.Sales == nil {
		c.Sales = map[string]map[string]times{}
	}
	byOutlet := c.Sales[user]
	if byOutlet == nil {
		byOutlet = map[string]times{}
		c.Sales[user] = byOutlet
	}
	byOutlet[outlet] = byOutlet[outlet].insert(t.Unix())
	newest, total := int64(0), 0
	for _, ts := range byOutlet {
		newest = max(newest, ts[len(ts)-1])
	}
	cut := newest - int64(spanKeep/time.Second)
	for o, ts := range byOutlet {
		ts = ts.from(cut)
		if len(ts) == 0 {
			delete(byOutlet, o)
			continue
		}
		byOutlet[o] = ts
		total += len(ts)
	}
	for total > maxSeen { // drop the oldest sale of all outlets
		oldest, at := "", int64(math.MaxInt64)
		for o, ts := range byOutlet {
			if ts[0] < at {
				oldest, at = o, ts[0]
			}
		}
		byOutlet[oldest] = byOutlet[oldest][1:]
		if len(byOutlet[oldest]) == 0 {
			delete(byOutlet, oldest)
		}
		total--
	}
	// The older span summary ages out the same way.
	if spans, ok := c.Seen[user]; ok {
		kept := spans[:0]
		for _, sp := range spans {
			if sp.T >= cut {
				kept = append(kept, sp)
			}
		}
		if len(kept) == 0 {
			delete(c.Seen, user)
		} else {
			c.Seen[user] = kept
		}
	}
}

// salesWithin counts, per outlet, a user's sales in [from, to] (unix
// seconds).
func (c *cursor) salesWithin(user string, from, to int64) map[string]int {
	out := map[string]int{}
	for o, ts := range c.Sales[user] {
		if n := ts.within(from, to); n > 0 {
			out[o] = n
		}
	}
	for _, sp := range c.Seen[user] { // older cursors: whole spans inside the window
		if sp.F >= from && sp.T <= to {
			out[sp.O] += sp.N
		}
	}
	return out
}

// times are distinct unix seconds in ascending order. In JSON the first is
// written whole and each next as its distance from the one before, which
// keeps a busy cashier's three weeks of sales small in the cursor.
type times []int64

func (ts times) insert(u int64) times {
	k, found := slices.BinarySearch(ts, u)
	if found {
		return ts
	}
	return slices.Insert(ts, k, u)
}

// from drops the times before cut.
func (ts times) from(cut int64) times {
	k, _ := slices.BinarySearch(ts, cut)
	return ts[k:]
}

// within counts the times in [from, to].
func (ts times) within(from, to int64) int {
	lo, _ := slices.BinarySearch(ts, from)
	hi, found := slices.BinarySearch(ts, to)
	if found {
		hi++
	}
	return max(hi-lo, 0)
}

func (ts times) MarshalJSON() ([]byte, error) {
	d := make([]int64, len(ts))
	for k, u := range ts {
		if k == 0 {
			d[k] = u
		} else {
			d[k] = u - ts[k-1]
		}
	}
	return json.Marshal(d)
}

func (ts *times) UnmarshalJSON(b []byte) error {
	var d []int64
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	out := make(times, len(d))
	for k, v := range d {
		if k > 0 {
			v += out[k-1]
			if v <= out[k-1] {
				return fmt.Errorf("sale times are not ascending")
			}
		}
		out[k] = v
	}
	*ts = out
	return nil
}

const (
	spanKeep = 21 * 24 * time.Hour
	maxSeen  = 5000 // sales remembered per user (a busy till's three weeks)
)
