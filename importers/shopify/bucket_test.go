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
