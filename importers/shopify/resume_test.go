package shopify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// A crash after any page restarts from the last committed cursor, with a new
// importer, and must end with exactly the records of an uninterrupted run:
// nothing skipped, nothing under a new key.
func TestResumeFromEveryCursor(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, mode := range []string{"paged", "bulk"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{BackfillDays: 270, ReadAllOrders: true, PageSize: 2, DisableBulk: mode == "paged", BulkAfter: record.Duration(24 * time.Hour)}
			setup := func() (*rig, *Importer) {
				s := torontoShop(t)
				r := newRig(t, now, shopifytest.Options{Shop: s.shop})
				r.srv.SetScopes("read_orders", "read_locations", "read_all_orders")
				return r, r.importer(t, cfg, s.build(t, r))
			}
			_, imp := setup()
			var cursors [][]byte
			var all []record.Record
			var cur []byte
			for {
				p, err := imp.Fetch(context.Background(), cur)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, p.Records...)
				cur = p.Cursor
				cursors = append(cursors, cur)
				if !p.More {
					break
				}
			}
			want := latest(all)
			if len(cursors) < 5 {
				t.Fatalf("got %d pages, want several to crash between", len(cursors))
			}
			for k := range cursors {
				t.Run(fmt.Sprintf("after page %d", k+1), func(t *testing.T) {
					r, first := setup()
					var committed []record.Record
					var cur []byte
					for n := 0; n <= k; n++ {
						p, err := first.Fetch(context.Background(), cur)
						if err != nil {
							t.Fatal(err)
						}
						committed, cur = append(committed, p.Records...), p.Cursor
					}
					// The agent restarts: a new importer, the committed cursor.
					second := r.importer(t, cfg, torontoShop(t).bindingsFor(r))
					rest, _, _ := run(t, second, cur)
					got := latest(append(committed, rest...))
					if d := cmp.Diff(keys(want), keys(got)); d != "" {
						t.Fatalf("keys (-want +got):\n%s", d)
					}
					if d := cmp.Diff(want, got, moneyEq); d != "" {
						t.Errorf("records (-want +got):\n%s", d)
					}
				})
			}
		})
	}
}

// bindingsFor rebuilds the bindings of a scenario already fed to r's double
// (locations get the same ids in the same order).
func (sc sShop) bindingsFor(r *rig) []record.Binding {
	var out []record.Binding
	for n, l := range sc.locations {
		if l.tmas != "" {
			z, _ := time.LoadLocation(sc.zone)
			out = append(out, record.Binding{LocationID: l.tmas, SourceID: fmt.Sprint(63590300001 + n), Zone: z, Active: true})
		}
	}
	return out
}

// Orders updated while a window is being paged move to the end of the
// UPDATED_AT sort, past the window's end: this window does not list them
// again, and the next run's overlap catches them. Nothing is skipped.
func TestPaginationWhileOrdersChange(t *testing.T) {
	tor := zone(t, "America/Toronto")
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := newRig(t, start, shopifytest.Options{SearchLag: 5 * time.Second})
	loc := r.srv.AddLocation("Queen St", true)
	var ids []string
	for n := range 9 {
		ids = append(ids, r.srv.AddOrder(shopifytest.Order{Name: fmt.Sprintf("#%d", 3001+n), Location: loc,
			ProcessedAt: time.Date(2026, 11, 22, 9+n, 0, 0, 0, tor),
			Lines:       []shopifytest.Line{{Title: "Tea", Qty: 2, Price: "5.00", Tax: "1.30"}}}))
	}
	imp := r.importer(t, Config{PageSize: 2, DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
	ctx := context.Background()
	p, err := imp.Fetch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	run1 := append([]record.Record{}, p.Records...)
	// While the run pages on: a refund on an order already read, and one on
	// an order not read yet.
	r.clk.Advance(time.Minute)
	r.srv.Refund(ids[0], shopifytest.Refund{At: r.clk.Now(), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
	r.srv.Refund(ids[6], shopifytest.Refund{At: r.clk.Now(), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 2}}})
	r.clk.Advance(time.Minute)
	rest, _, cur := run(t, imp, p.Cursor)
	run1 = append(run1, rest...)
	got1 := keys(latest(run1))
	want1 := []string{
		"shopify:acme:order:5010000000001", "shopify:acme:order:5010000000002", "shopify:acme:order:5010000000003",
		"shopify:acme:order:5010000000004", "shopify:acme:order:5010000000005", "shopify:acme:order:5010000000006",
		"shopify:acme:order:5010000000008", "shopify:acme:order:5010000000009",
	}
	if d := cmp.Diff(want1, got1); d != "" {
		t.Errorf("first run (-want +got): #3007 moved past the window's end, so it is not listed:\n%s", d)
	}
	// The next hourly run re-reads the overlap.
	r.clk.Advance(time.Hour)
	run2, _, _ := run(t, imp, cur)
	got := latest(append(run1, run2...))
	if n := len(got); n != 11 {
		t.Errorf("got %d keys, want 9 sales and 2 returns: %v", n, keys(got))
	}
	totals := map[string]record.Money{}
	for _, rec := range got {
		totals[rec.Kind] = totals[rec.Kind].Add(rec.NetSales)
	}
	if totals["sale"].String() != "90.00" || totals["return"].String() != "-15.00" {
		t.Errorf("got sales %s and returns %s, want 90.00 and -15.00", totals["sale"], totals["return"])
	}
}
