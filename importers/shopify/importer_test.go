package shopify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// Every field of the records of one order with a sale, an exchange and a
// refund, and of a cancelled order.
func TestRecordsOfOneOrder(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{Scopes: []string{"read_orders", "read_locations", "read_users"}})
	loc := r.srv.AddLocation("Queen St", true)
	sold := time.Date(2026, 11, 20, 14, 5, 0, 0, tor)
	o := r.srv.AddOrder(shopifytest.Order{Name: "#1042", Location: loc, ProcessedAt: sold, Staff: "gid://shopify/StaffMember/9001",
		Lines: []shopifytest.Line{
			{Title: "Mug", SKU: "MUG-1", Barcode: "0123456789012", Qty: 2, Price: "10.00", Discount: "2.00", Tax: "2.34"},
			{Title: "Card", Qty: 1, Price: "25.00", GiftCard: true},
		},
		Shipping: "5.00", ShippingTax: "0.65", Tip: "3.00"})
	ex := r.srv.Exchange(o, shopifytest.Exchange{At: time.Date(2026, 11, 21, 10, 15, 0, 0, tor), Return: []shopifytest.ReturnLine{{Line: 0, Qty: 1}},
		New: []shopifytest.Line{{Title: "Big mug", SKU: "MUG-2", Qty: 1, Price: "14.00", Tax: "1.82"}}})
	rf := r.srv.Refund(o, shopifytest.Refund{At: time.Date(2026, 11, 22, 16, 45, 0, 0, tor), Lines: []shopifytest.ReturnLine{{Line: 3, Qty: 1}}, Shipping: "5.00"})
	c := r.srv.AddOrder(shopifytest.Order{Name: "#1043", Location: loc, ProcessedAt: sold.Add(time.Hour),
		Lines: []shopifytest.Line{{Title: "Pot", SKU: "POT", Qty: 1, Price: "30.00", Tax: "3.90"}}})
	cancelled := time.Date(2026, 11, 20, 17, 30, 0, 0, tor)
	r.srv.Cancel(c, cancelled)
	u := r.srv.AddOrder(shopifytest.Order{Name: "#1044", Location: loc, ProcessedAt: sold.Add(2 * time.Hour), FinancialStatus: "AUTHORIZED",
		Lines: []shopifytest.Line{{Title: "Pan", Qty: 1, Price: "40.00", Tax: "5.20"}}})
	imp := r.importer(t, Config{DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: strings.TrimPrefix(loc, "gid://shopify/Location/"), Zone: tor}})
	recs, _, _ := run(t, imp, nil)
	rev1 := time.Date(2026, 11, 22, 21, 45, 0, 0, time.UTC).UnixMilli()
	rev2 := cancelled.UnixMilli()
	rev3 := sold.Add(2 * time.Hour).UnixMilli()
	m := record.MustMoney
	id := func(gid string) string { return gid[strings.LastIndexByte(gid, '/')+1:] }
	want := []record.Record{
		{Type: "transaction", Key: "shopify:acme:order:" + id(o), Source: "shopify", LocationID: "0421", RevHint: rev1,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: sold, Receipt: "#1042", NetSales: m("18.00"), Tax: m("2.99"),
				Shipping: m("5.00"), Tips: m("3.00"), Discounts: m("2.00"), Currency: "CAD", Items: 2, StaffID: "9001", Paid: true,
				Lines: []record.Line{{SKU: "MUG-1", Barcode: "0123456789012", Title: "Mug", Qty: 2, Net: m("18.00")}}}},
		// The exchange is one visit: one transaction with both sides
		// (net 14.00 − 9.00 ≥ 0, so a sale).
		{Type: "transaction", Key: "shopify:acme:exchange:" + id(ex), Source: "shopify", LocationID: "0421", RevHint: rev1,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: time.Date(2026, 11, 21, 10, 15, 0, 0, tor), Receipt: "#1042",
				NetSales: m("5.00"), Tax: m("0.65"), Discounts: m("-1.00"), Currency: "CAD", Items: 0, Paid: true,
				Lines: []record.Line{{SKU: "MUG-1", Barcode: "0123456789012", Title: "Mug", Qty: -1, Net: m("-9.00")},
					{SKU: "MUG-2", Title: "Big mug", Qty: 1, Net: m("14.00")}}}},
		{Type: "transaction", Key: "shopify:acme:refund:" + id(rf), Source: "shopify", LocationID: "0421", RevHint: rev1,
			Transaction: &record.Transaction{Kind: "return", OccurredAt: time.Date(2026, 11, 22, 16, 45, 0, 0, tor), Receipt: "#1042",
				NetSales: m("-14.00"), Tax: m("-2.47"), Shipping: m("-5.00"), Currency: "CAD", Items: -1, Paid: true,
				Lines: []record.Line{{SKU: "MUG-2", Title: "Big mug", Qty: -1, Net: m("-14.00")}}}},
		{Type: "transaction", Key: "shopify:acme:order:" + id(c), Source: "shopify", LocationID: "0421", RevHint: rev2,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: sold.Add(time.Hour), Receipt: "#1043", NetSales: m("30.00"), Tax: m("3.90"),
				Currency: "CAD", Items: 1, Paid: true, Lines: []record.Line{{SKU: "POT", Title: "Pot", Qty: 1, Net: m("30.00")}}}},
		{Type: "transaction", Key: "shopify:acme:cancel:" + id(c), Source: "shopify", LocationID: "0421", RevHint: rev2,
			Transaction: &record.Transaction{Kind: "return", OccurredAt: cancelled, Receipt: "#1043", NetSales: m("-30.00"), Tax: m("-3.90"),
				Currency: "CAD", Items: -1, Paid: true, Lines: []record.Line{{SKU: "POT", Title: "Pot", Qty: -1, Net: m("-30.00")}}}},
		{Type: "transaction", Key: "shopify:acme:order:" + id(u), Source: "shopify", LocationID: "0421", RevHint: rev3,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: sold.Add(2 * time.Hour), Receipt: "#1044", NetSales: m("40.00"), Tax: m("5.20"),
				Currency: "CAD", Items: 1, Paid: false, Lines: []record.Line{{Title: "Pan", Qty: 1, Net: m("40.00")}}}},
	}
	// The wire form carries the store's offset.
	var line []byte
	for _, rec := range recs {
		if rec.Key == "shopify:acme:order:"+id(o) {
			line, _ = rec.MarshalLine()
		}
	}
	if !strings.Contains(string(line), `"occurred_at":"2026-11-20T14:05:00-05:00"`) {
		t.Errorf("got %s, want occurred_at with the store's offset", line)
	}
	byKey := func(a, b record.Record) bool { return a.Key < b.Key }
	if d := cmp.Diff(want, recs, moneyEq, cmpopts.SortSlices(byKey)); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

// A cancellation Shopify recorded without a refund agreement still reverses
// the sale; one recorded with it is not counted twice.
func TestCancellationWithoutAgreement(t *testing.T) {
	imp := &Importer{shop: "acme", bindings: map[string]binding{"7": {location: "0421", zone: time.UTC}}}
	raw := `{"id":"gid://shopify/Order/1","name":"#1","processedAt":"2026-11-20T10:00:00Z","updatedAt":"2026-11-20T12:00:00Z",
	"cancelledAt":"2026-11-20T12:00:00Z","sourceName":"pos","displayFinancialStatus":"VOIDED","currencyCode":"CAD",
	"retailLocation":{"id":"gid://shopify/Location/7"},
	"agreements":{"edges":[{"node":{"__typename":"OrderAgreement","id":"gid://shopify/SalesAgreement/11","happenedAt":"2026-11-20T10:00:00Z","reason":"ORDER",
	"sales":{"nodes":[{"__typename":"ProductSale","actionType":"ORDER","lineType":"PRODUCT","quantity":3,
	"totalAmount":{"shopMoney":{"amount":"33.90","currencyCode":"CAD"}},"totalTaxAmount":{"shopMoney":{"amount":"3.90"}},
	"totalDiscountAmountBeforeTaxes":{"shopMoney":{"amount":"0.0"}}}]}}}]}}`
	var o gOrder
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range imp.convert(&o, imp.zoneFor, nil).records {
		got[r.Key] = r.Kind + " " + r.NetSales.String() + " " + r.OccurredAt.Format(time.RFC3339) + " paid=" + map[bool]string{true: "yes", false: "no"}[r.Paid]
	}
	want := map[string]string{
		"shopify:acme:order:1":  "sale 30.00 2026-11-20T10:00:00Z paid=no",
		"shopify:acme:cancel:1": "return -30.00 2026-11-20T12:00:00Z paid=yes",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func TestNotesForUnmappedLocations(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	mapped := r.srv.AddLocation("Queen St", true)
	other := r.srv.AddLocation("Warehouse", true)
	for k := range 3 {
		r.srv.AddOrder(shopifytest.Order{Location: other, ProcessedAt: now0.Add(-time.Duration(k+1) * time.Hour), Lines: []shopifytest.Line{{Qty: 1, Price: "1.00"}}})
	}
	imp := r.importer(t, Config{DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: mapped, Zone: tor}})
	recs, notes, _ := run(t, imp, nil)
	want := []string{`3 POS order(s) at Shopify location gid://shopify/Location/63590300002 not imported: that location is not in the locations mapping (map a TMAS location to shopify: "63590300002" if it is one of this agent's stores)`}
	if d := cmp.Diff(want, notes); d != "" || len(recs) != 0 {
		t.Errorf("got %d records, notes (-want +got):\n%s", len(recs), d)
	}
}

func TestSixtyDayVisibility(t *testing.T) {
	const note = "orders older than 60 days are invisible without the read_all_orders scope: this import starts 2026-08-25, but Shopify shows this app only orders created since 2026-09-24, so older ones will be missing; grant read_all_orders to the app (Shopify admin > Settings > Apps and sales channels > Develop apps > Configuration), then set shopify.read_all_orders: true"
	for _, tc := range []struct {
		name      string
		scopes    []string
		configAll bool
		wantNotes []string
		wantNet   string
	}{
		{name: "scope missing", scopes: []string{"read_orders", "read_locations"}, wantNotes: []string{note}, wantNet: "10.00"},
		{name: "scope granted, found by asking", scopes: []string{"read_orders", "read_locations", "read_all_orders"}, wantNet: "20.00"},
		{name: "scope granted, said in config", scopes: []string{"read_orders", "read_locations", "read_all_orders"}, configAll: true, wantNet: "20.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tor := zone(t, "America/Toronto")
			r := newRig(t, now0, shopifytest.Options{Scopes: tc.scopes})
			loc := r.srv.AddLocation("Queen St", true)
			for _, age := range []int{70, 30} {
				r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now0.AddDate(0, 0, -age), Lines: []shopifytest.Line{{Qty: 1, Price: "10.00"}}})
			}
			imp := r.importer(t, Config{ReadAllOrders: tc.configAll}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
			cur, err := imp.BackfillCursor(now0.AddDate(0, 0, -90), now0)
			if err != nil {
				t.Fatal(err)
			}
			recs, notes, _ := run(t, imp, cur)
			if d := cmp.Diff(tc.wantNotes, notes); d != "" {
				t.Errorf("notes (-want +got):\n%s", d)
			}
			if got := netOf(recs); got != tc.wantNet {
				t.Errorf("got net %s, want %s", got, tc.wantNet)
			}
			if tc.wantNotes != nil && !strings.Contains(r.logs.String(), "orders older than 60 days are invisible") {
				t.Errorf("got no warning in the log")
			}
		})
	}
}

// A backfill walks exactly its window: sales made in it, and returns made in
// it for orders sold before, and nothing else; then it stays done.
func TestBackfillWindow(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	loc := r.srv.AddLocation("Queen St", true)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, tor) }
	before := r.srv.AddOrder(shopifytest.Order{Name: "#1", Location: loc, ProcessedAt: day(10, 12), Lines: []shopifytest.Line{{Qty: 2, Price: "10.00"}}})
	r.srv.Refund(before, shopifytest.Refund{At: day(15, 12), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
	in := r.srv.AddOrder(shopifytest.Order{Name: "#2", Location: loc, ProcessedAt: day(16, 9), Lines: []shopifytest.Line{{Qty: 1, Price: "7.00"}}})
	r.srv.Refund(in, shopifytest.Refund{At: day(21, 9), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
	r.srv.AddOrder(shopifytest.Order{Name: "#3", Location: loc, ProcessedAt: day(22, 9), Lines: []shopifytest.Line{{Qty: 1, Price: "3.00"}}})
	imp := r.importer(t, Config{DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
	cur, err := imp.BackfillCursor(day(14, 0), day(20, 0))
	if err != nil {
		t.Fatal(err)
	}
	recs, _, end := run(t, imp, cur)
	got := map[string]string{}
	for _, rec := range recs {
		got[rec.Receipt+" "+rec.Kind] = rec.NetSales.String()
	}
	want := map[string]string{"#1 return": "-10.00", "#2 sale": "7.00"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	p, err := imp.Fetch(context.Background(), end)
	if err != nil || len(p.Records) != 0 || p.More || string(p.Cursor) != string(end) {
		t.Errorf("got %d records, more=%v, err %v after the end, want nothing and the same cursor", len(p.Records), p.More, err)
	}
	if _, err := imp.BackfillCursor(day(20, 0), day(14, 0)); err == nil || err.Error() != "shopify: backfill: the start 2026-11-20T00:00:00-05:00 is not before the end 2026-11-14T00:00:00-05:00" {
		t.Errorf("got %v", err)
	}
}

// Incremental runs: the first reads backfill_days back; each next one starts
// lookback before the previous end, so a refund made two days after the sale
// is caught, and stays lag behind now.
func TestIncrementalWindows(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	loc := r.srv.AddLocation("Queen St", true)
	o := r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now0.Add(-3 * time.Hour), Lines: []shopifytest.Line{{Qty: 1, Price: "8.00"}}})
	imp := r.importer(t, Config{DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
	_, _, cur := run(t, imp, nil)
	var st cursorState
	_ = json.Unmarshal(cur, &st)
	if got, want := st.Since.Format(time.RFC3339)+" "+st.Until.Format(time.RFC3339), "2026-11-16T12:00:00Z 2026-11-23T11:58:00Z"; got != want {
		t.Errorf("got first window %s, want %s", got, want)
	}
	r.clk.Advance(47 * time.Hour)
	r.srv.Refund(o, shopifytest.Refund{At: r.clk.Now(), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
	r.clk.Advance(time.Hour)
	recs, _, cur := run(t, imp, cur)
	_ = json.Unmarshal(cur, &st)
	if got, want := st.Since.Format(time.RFC3339)+" "+st.Until.Format(time.RFC3339), "2026-11-21T11:58:00Z 2026-11-25T11:58:00Z"; got != want {
		t.Errorf("got second window %s, want %s", got, want)
	}
	got := map[string]string{}
	for _, rec := range recs {
		got[rec.Kind] = rec.NetSales.String()
	}
	if d := cmp.Diff(map[string]string{"sale": "8.00", "return": "-8.00"}, got); d != "" {
		t.Errorf("second run (-want +got):\n%s", d)
	}
}

func TestLocationsAndCheck(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	queen := r.srv.AddLocation("Queen St", true)
	old := r.srv.AddLocation("Old Mall", false)
	r.srv.AddLocation("Warehouse", true)
	imp := r.importer(t, Config{}, []record.Binding{
		{LocationID: "0421", SourceID: queen, Zone: tor},
		{LocationID: "0422", SourceID: "63590300002", Zone: tor},
		{LocationID: "0423", SourceID: "gid://shopify/Location/999", Zone: tor},
	})
	_ = old
	locs, err := imp.Locations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Shopify has no zone per location: none is shown as the location's.
	noZone := "Shopify gives no time zone per location (the shop's is America/Toronto): set the store's timezone in the locations mapping"
	wantLocs := []record.Location{
		{ID: "gid://shopify/Location/63590300001", Name: "Queen St", Active: true, Note: "mapped to TMAS location 0421; " + noZone},
		{ID: "gid://shopify/Location/63590300002", Name: "Old Mall", Active: false, Note: "mapped to TMAS location 0422; deactivated in Shopify; " + noZone},
		{ID: "gid://shopify/Location/63590300003", Name: "Warehouse", Active: true, Note: noZone},
	}
	if d := cmp.Diff(wantLocs, locs); d != "" {
		t.Errorf("locations (-want +got):\n%s", d)
	}
	want := []record.Finding{
		{Check: "shopify credentials", OK: true, Detail: "connected to Acme (acme.myshopify.com) with a custom app's admin token"},
		{Check: "shopify api version", OK: true, Detail: "2026-10"},
		{Check: "shopify scope read_orders", OK: true, Detail: "granted"},
		{Check: "shopify scope read_locations", OK: true, Detail: "granted"},
		{Check: "shopify scope read_all_orders", OK: true, Detail: "not granted (advisory): orders older than 60 days cannot be read; longer backfills will warn"},
		{Check: "shopify scope read_users", OK: true, Detail: "not granted (advisory): records carry no staff id; Shopify shows an order's staff member only with read_users (Advanced and Plus plans)",
			Fix: "to import staff ids, add read_users to the app's Admin API scopes and reinstall the app"},
		{Check: "shopify location 0421", OK: true, Detail: `Shopify location 63590300001 "Queen St"`},
		{Check: "shopify location 0422", OK: false, Detail: `Shopify location 63590300002 "Old Mall" is deactivated: it records no new sales`,
			Fix: "reactivate it in Shopify admin > Settings > Locations, or map the store to the location it uses now"},
		{Check: "shopify location 0423", OK: false, Detail: `Shopify has no location 999 (the shop has: 63590300001 "Queen St", 63590300002 "Old Mall", 63590300003 "Warehouse")`,
			Fix: "run `storeagent locations shopify` and put the right id in locations.0423.shopify"},
		{Check: "shopify unmapped locations", OK: true, Warning: true, Detail: `not mapped, so their POS orders never reach headquarters: 63590300003 "Warehouse"`,
			Fix: "map each to its TMAS location (locations.ID.shopify), see storeagent locations shopify"},
	}
	if d := cmp.Diff(want, imp.Check(context.Background())); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	r.srv.Uninstall()
	got := imp.Check(context.Background())
	wantDown := []record.Finding{{Check: "shopify credentials", OK: false, Detail: errRevoked().Error(), Fix: errRevoked().Fix()}}
	if d := cmp.Diff(wantDown, got); d != "" {
		t.Errorf("findings after uninstall (-want +got):\n%s", d)
	}
}

// An exchange that pays money back (the new item is cheaper) is one
// transaction too, a return: net and items are the sums of both sides.
func TestExchangeThatPaysBackIsOneReturn(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	loc := r.srv.AddLocation("Queen St", true)
	sold := time.Date(2026, 11, 20, 14, 5, 0, 0, tor)
	o := r.srv.AddOrder(shopifytest.Order{Name: "#1050", Location: loc, ProcessedAt: sold,
		Lines: []shopifytest.Line{{Title: "Big mug", SKU: "MUG-2", Qty: 2, Price: "14.00", Tax: "3.64"}}})
	at := time.Date(2026, 11, 21, 9, 30, 0, 0, tor)
	ex := r.srv.Exchange(o, shopifytest.Exchange{At: at, Return: []shopifytest.ReturnLine{{Line: 0, Qty: 2}},
		New: []shopifytest.Line{{Title: "Mug", SKU: "MUG-1", Qty: 1, Price: "10.00", Tax: "1.30"}}})
	imp := r.importer(t, Config{DisableBulk: true}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
	recs, _, _ := run(t, imp, nil)
	m := record.MustMoney
	id := func(gid string) string { return gid[strings.LastIndexByte(gid, '/')+1:] }
	rev := at.UnixMilli()
	want := []record.Record{
		{Type: "transaction", Key: "shopify:acme:exchange:" + id(ex), Source: "shopify", LocationID: "0421", RevHint: rev,
			Transaction: &record.Transaction{Kind: "return", OccurredAt: at, Receipt: "#1050", NetSales: m("-18.00"), Tax: m("-2.34"),
				Currency: "CAD", Items: -1, Paid: true,
				Lines: []record.Line{{SKU: "MUG-2", Title: "Big mug", Qty: -2, Net: m("-28.00")}, {SKU: "MUG-1", Title: "Mug", Qty: 1, Net: m("10.00")}}}},
		{Type: "transaction", Key: "shopify:acme:order:" + id(o), Source: "shopify", LocationID: "0421", RevHint: rev,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: sold, Receipt: "#1050", NetSales: m("28.00"), Tax: m("3.64"),
				Currency: "CAD", Items: 2, Paid: true, Lines: []record.Line{{SKU: "MUG-2", Title: "Big mug", Qty: 2, Net: m("28.00")}}}},
	}
	byKey := func(a, b record.Record) bool { return a.Key < b.Key }
	if d := cmp.Diff(want, recs, moneyEq, cmpopts.SortSlices(byKey)); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

// Without read_users the importer does not ask for staffMember: paged
// reads carry no staff id and a bulk export, which Shopify fails whole for
// a denied field, runs instead of falling back to paged reads. With it,
// both carry the staff id.
func TestStaffOnlyWithReadUsers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scopes   []string
		bulk     bool
		planless bool // the shop's plan shows no staff members
		want     string
		wantBulk int // bulk exports started; default 1 for bulk
	}{
		{name: "paged without read_users", scopes: []string{"read_orders", "read_locations"}, want: ""},
		{name: "bulk without read_users", scopes: []string{"read_orders", "read_locations"}, bulk: true, want: ""},
		{name: "paged with read_users", scopes: []string{"read_orders", "read_locations", "read_users"}, want: "9001"},
		{name: "bulk with read_users", scopes: []string{"read_orders", "read_locations", "read_users"}, bulk: true, want: "9001"},
		// read_users on a plan below Advanced: the first export fails
		// ACCESS_DENIED and the window is exported again without staff.
		{name: "bulk with read_users, plan without staff", scopes: []string{"read_orders", "read_locations", "read_users"}, bulk: true,
			planless: true, want: "", wantBulk: 2},
		{name: "paged with read_users, plan without staff", scopes: []string{"read_orders", "read_locations", "read_users"},
			planless: true, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tor := zone(t, "America/Toronto")
			r := newRig(t, now0, shopifytest.Options{Scopes: tc.scopes, StaffPlanless: tc.planless})
			loc := r.srv.AddLocation("Queen St", true)
			r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now0.Add(-3 * time.Hour), Staff: "gid://shopify/StaffMember/9001",
				Lines: []shopifytest.Line{{Title: "Tea", Qty: 1, Price: "5.00"}}})
			imp := r.importer(t, Config{DisableBulk: !tc.bulk, BulkAfter: record.Duration(time.Hour)}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
			recs, notes, _ := run(t, imp, nil)
			var got []string
			for _, rec := range recs {
				got = append(got, rec.Kind+" staff="+rec.StaffID)
			}
			if d := cmp.Diff([]string{"sale staff=" + tc.want}, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
			if len(notes) != 0 {
				t.Errorf("got notes %q, want none", notes)
			}
			want := tc.wantBulk
			if want == 0 && tc.bulk {
				want = 1
			}
			if got := r.srv.Stats().BulkRuns; got != want {
				t.Errorf("got %d bulk exports, want %d", got, want)
			}
		})
	}
}

// A paged backfill (UPDATED_AT order) says after each page how far it has
// read: the last order's updatedAt (here its processedAt: the orders are
// never edited), and at the end the window's end (now less lag).
func TestPagedReadReached(t *testing.T) {
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, shopifytest.Options{})
	loc := r.srv.AddLocation("Queen St", true)
	var processed []time.Time
	for k := range 10 {
		at := time.Date(2026, 11, 16, 8+k, 0, 0, 0, tor)
		processed = append(processed, at)
		r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: at, Lines: []shopifytest.Line{{Qty: 1, Price: "7.00"}}})
	}
	imp := r.importer(t, Config{DisableBulk: true, PageSize: 4}, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}})
	cur, err := imp.BackfillCursor(time.Date(2026, 11, 14, 0, 0, 0, 0, tor), time.Date(2026, 11, 20, 0, 0, 0, 0, tor))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []time.Time
	read := 0
	for {
		p, err := imp.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		read += len(p.Records)
		got = append(got, p.Reached.UTC())
		if cur = p.Cursor; !p.More {
			want = append(want, now0.Add(-2*time.Minute).Truncate(time.Second).UTC())
			break
		}
		want = append(want, processed[read-1].UTC())
	}
	if read != 10 || len(got) < 2 {
		t.Fatalf("got %d records in %d pages, want 10 in several", read, len(got))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reached (-want +got):\n%s", d)
	}
}
