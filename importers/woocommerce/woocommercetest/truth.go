package woocommercetest

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Bucket is one local hour's totals.
type Bucket struct {
	Net          string // net sales, 2 decimals
	Transactions int    // sales and returns
	Items        int64  // units sold less units returned
}

// Truth computes, from the double's data alone, what the shop's orders
// give per local hour of day (zone) for the statuses that count: each
// counted order is a sale at its creation time (net = Σ line totals after
// discounts + fees other than tips, without tax or shipping) and each of its refunds a
// return at the refund's time (net = −(refunded lines + amount refunded
// without lines), without tax or shipping). Orders that do not count (or
// trashed ones) give nothing. Hours are keyed by their start, in zone.
func (s *Server) Truth(zone *time.Location, day time.Time, counted []string) map[time.Time]Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, zone)
	end := start.AddDate(0, 0, 1)
	net := map[time.Time]decimal.Decimal{}
	out := map[time.Time]Bucket{}
	add := func(at time.Time, n decimal.Decimal, items int64) {
		at = at.In(zone)
		if at.Before(start) || !at.Before(end) {
			return
		}
		h := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), 0, 0, 0, zone)
		b := out[h]
		b.Transactions++
		b.Items += items
		out[h] = b
		net[h] = net[h].Add(n)
	}
	for _, o := range s.orders {
		if o.trashed || !slices.Contains(counted, o.Status) {
			continue
		}
		var n decimal.Decimal
		var items int64
		for _, l := range o.Lines {
			n = n.Add(lineTotal(l))
			items += int64(l.Qty)
		}
		for _, f := range o.Fees {
			if !f.Tip {
				n = n.Add(dec(f.Total))
			}
		}
		add(o.Created, n, items)
		for _, r := range o.refunds {
			rn := dec(r.Extra)
			var ri int64
			for _, rl := range r.Lines {
				u, _ := unit(o.Lines[rl.Line])
				rn = rn.Add(u.Mul(decimal.NewFromInt(int64(rl.Qty))).Round(2))
				ri += int64(rl.Qty)
			}
			if rn.IsZero() && ri == 0 {
				continue
			}
			add(r.At, rn.Neg(), -ri)
		}
	}
	for h, b := range out {
		b.Net = net[h].StringFixed(2)
		out[h] = b
	}
	return out
}
