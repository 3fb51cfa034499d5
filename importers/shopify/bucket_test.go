package shopify

import (
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// TestPageCostAboveBucketShrinksThePage: when one page would cost more
// than the whole bucket holds, no wait can make room; the importer must ask
// for fewer orders instead of waiting in vain and failing.
func TestPageCostAboveBucketShrinksThePage(t *testing.T) {
	now := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	r := newRig(t, now, shopifytest.Options{BucketSize: 400, RestoreRate: 50, SearchLag: -1})
	loc := r.srv.AddLocation("Toronto", true)
	for i := range 12 {
		r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now.Add(-time.Duration(i+1) * time.Hour),
			Lines: []shopifytest.Line{{Title: "Mug", Qty: 1, Price: "10.00"}}})
	}
	imp := r.importer(t, Config{PageSize: 10}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: zone(t, "America/Toronto"), Active: true}})
	recs, _, _ := run(t, imp, nil)
	if got := len(latest(recs)); got != 12 {
		t.Fatalf("got %d sales, want all 12 orders", got)
	}
	if st := r.srv.Stats(); st.Throttled > 2 {
		t.Errorf("got %d throttled answers, want the page shrunk at the first one (%+v)", st.Throttled, st)
	}
}

// The nested sizes that make the fewest requests per order: bigger pages
// against follow-ups for the orders that overflow.
func TestBestNested(t *testing.T) {
	perPage := func(a, s int) int { return max(1, min(250, 998/int(orderCost(false, a, s)))) }
	many := func(n int, sh [2]int) [][2]int {
		out := make([][2]int, n)
		for k := range out {
			out[k] = sh
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		shapes [][2]int
		wantA  int
		wantS  int
	}{
		{"every order one agreement of one sale", many(20, [2]int{1, 1}), 1, 1},
		{"two sales each", many(20, [2]int{1, 2}), 1, 2},
		// 1 in 10 refunded: with 1 agreement, 38 orders a page but a
		// follow-up for each tenth (0.126 requests per order); with 2, 21 a
		// page and none (0.048).
		{"one in ten refunded", append(many(18, [2]int{1, 2}), many(2, [2]int{2, 2})...), 2, 2},
		// One order in 20 with 30 sales: not worth making every page small.
		{"one big order", append(many(19, [2]int{1, 2}), [2]int{1, 30}), 1, 2},
		// One order in 20 with a 4th agreement: 11 orders a page with 4
		// (0.091 requests per order) beat 14 a page and its follow-up (0.121).
		{"one order with one agreement more", append(many(19, [2]int{3, 2}), [2]int{4, 2}), 4, 2},
	} {
		a, s := bestNested(tc.shapes, perPage)
		if a != tc.wantA || s != tc.wantS {
			t.Errorf("%s: got %d agreements of %d sales, want %d of %d", tc.name, a, s, tc.wantA, tc.wantS)
		}
	}
}
