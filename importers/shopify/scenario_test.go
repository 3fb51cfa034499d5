package shopify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// A scenario is written down as plain data. The test feeds it to the double,
// and separately works out, from the same data and nothing else, what
// Shopify's analytics would show per store and local hour; the importer's
// records must add up to exactly that.

type sLine struct {
	qty                   int
	price, discount, tax  string
	giftCard              bool
	title, sku, barcodeID string
}

type sOrder struct {
	name     string
	loc      string // a location key of the shop, "" for none
	source   string // default pos
	at       time.Time
	lines    []sLine
	shipping string
	shipTax  string
	tip      string
	status   string
	test     bool
}

type sEvent struct {
	kind  string // refund, cancel, exchange, edit, delete
	order string
	at    time.Time
	ret   []shopifytest.ReturnLine
	add   []sLine
	ship  string
}

type sLocation struct {
	key, name, tmas string // tmas "" is not mapped
	active          bool
}

type sShop struct {
	shop          shopifytest.Shop
	locations     []sLocation
	orders        []sOrder
	events        []sEvent
	wantNotes     []string
	zone          string
	backfillDays  int
	readAllOrders bool
}

func d(s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	return decimal.RequireFromString(s)
}

// lineNet is what a line adds to net sales: price × qty − discount, less the
// tax when prices include it.
func lineNet(l sLine, taxIncluded bool) decimal.Decimal {
	n := d(l.price).Mul(decimal.NewFromInt(int64(l.qty))).Sub(d(l.discount))
	if taxIncluded {
		n = n.Sub(d(l.tax))
	}
	return n
}

// expected computes the hourly totals from the scenario alone.
func (sc sShop) expected(t *testing.T) map[string]hourTotal {
	z := zone(t, sc.zone)
	type acc struct {
		net         decimal.Decimal
		txns, items int64
	}
	totals := map[string]*acc{}
	add := func(loc string, at time.Time, net decimal.Decimal, items int64) {
		lt := at.In(z)
		h := lt.Add(-time.Duration(lt.Minute())*time.Minute - time.Duration(lt.Second())*time.Second)
		k := loc + " " + h.Format("2006-01-02T15:04Z07:00")
		if totals[k] == nil {
			totals[k] = &acc{}
		}
		totals[k].net = totals[k].net.Add(net)
		totals[k].items += items
		totals[k].txns++
	}
	tmas := map[string]string{}
	for _, l := range sc.locations {
		tmas[l.key] = l.tmas
	}
	deleted := map[string]bool{}
	for _, e := range sc.events {
		if e.kind == "delete" {
			deleted[e.order] = true
		}
	}
	for _, o := range sc.orders {
		loc := tmas[o.loc]
		if o.test || (o.source != "" && o.source != "pos") || loc == "" || deleted[o.name] {
			continue
		}
		sc.expectOrder(o, loc, add)
	}
	out := map[string]hourTotal{}
	for k, a := range totals {
		out[k] = hourTotal{Net: a.net.StringFixed(2), Transactions: a.txns, Items: a.items}
	}
	return out
}

// expectOrder adds one order's transactions, from the scenario alone: the
// sale (with its edits), then each refund, exchange and cancellation.
func (sc sShop) expectOrder(o sOrder, loc string, add func(loc string, at time.Time, net decimal.Decimal, items int64)) {
	lines := append([]sLine{}, o.lines...)
	returned := make([]int, len(lines))
	saleNet, saleItems := decimal.Zero, int64(0)
	for _, l := range lines {
		if !l.giftCard {
			saleNet = saleNet.Add(lineNet(l, sc.shop.TaxesIncluded))
			saleItems += int64(l.qty)
		}
	}
	var later []func()
	for _, e := range sc.events {
		if e.order != o.name {
			continue
		}
		part := func(rls []shopifytest.ReturnLine) (decimal.Decimal, int64) {
			n, q := decimal.Zero, int64(0)
			for _, r := range rls {
				l := lines[r.Line]
				returned[r.Line] += r.Qty
				n = n.Add(lineNet(l, sc.shop.TaxesIncluded).Mul(decimal.NewFromInt(int64(r.Qty))).Div(decimal.NewFromInt(int64(l.qty))))
				q += int64(r.Qty)
			}
			return n, q
		}
		switch e.kind {
		case "edit":
			for _, l := range e.add {
				lines = append(lines, l)
				returned = append(returned, 0)
				saleNet = saleNet.Add(lineNet(l, sc.shop.TaxesIncluded))
				saleItems += int64(l.qty)
			}
		case "refund":
			n, q := part(e.ret)
			at := e.at
			later = append(later, func() { add(loc, at, n.Neg(), -q) })
		case "exchange":
			// One visit, one transaction: the returned units and the
			// new lines together.
			n, q := part(e.ret)
			at := e.at
			nn, nq := decimal.Zero, int64(0)
			for _, l := range e.add {
				lines = append(lines, l)
				returned = append(returned, 0)
				nn = nn.Add(lineNet(l, sc.shop.TaxesIncluded))
				nq += int64(l.qty)
			}
			later = append(later, func() { add(loc, at, nn.Sub(n), nq-q) })
		case "cancel":
			var rls []shopifytest.ReturnLine
			for i, l := range lines {
				if left := l.qty - returned[i]; left > 0 && !l.giftCard {
					rls = append(rls, shopifytest.ReturnLine{Line: i, Qty: left})
				}
			}
			n, q := part(rls)
			at := e.at
			later = append(later, func() { add(loc, at, n.Neg(), -q) })
		}
	}
	add(loc, o.at, saleNet, saleItems)
	for _, f := range later {
		f()
	}
}

func (l sLine) spec(i int) shopifytest.Line {
	title := l.title
	if title == "" {
		title = fmt.Sprintf("Item %d", i)
	}
	return shopifytest.Line{Title: title, SKU: l.sku, Barcode: l.barcodeID, Qty: l.qty, Price: l.price, Discount: l.discount, Tax: l.tax, GiftCard: l.giftCard}
}

// build feeds the scenario to a double and returns the importer's bindings.
func (sc sShop) build(t *testing.T, r *rig) []record.Binding {
	z := zone(t, sc.zone)
	gids := map[string]string{}
	var bindings []record.Binding
	for _, l := range sc.locations {
		gids[l.key] = r.srv.AddLocation(l.name, l.active)
		if l.tmas != "" {
			bindings = append(bindings, record.Binding{LocationID: l.tmas, SourceID: gids[l.key], Zone: z, Active: true})
		}
	}
	orders := map[string]string{}
	for _, o := range sc.orders {
		spec := shopifytest.Order{Name: o.name, Source: o.source, Location: gids[o.loc], ProcessedAt: o.at,
			Shipping: o.shipping, ShippingTax: o.shipTax, Tip: o.tip, FinancialStatus: o.status, Test: o.test,
			Staff: "gid://shopify/StaffMember/777"}
		for i, l := range o.lines {
			spec.Lines = append(spec.Lines, l.spec(i))
		}
		orders[o.name] = r.srv.AddOrder(spec)
	}
	for _, e := range sc.events {
		id := orders[e.order]
		var add []shopifytest.Line
		for i, l := range e.add {
			add = append(add, l.spec(100+i))
		}
		switch e.kind {
		case "refund":
			r.srv.Refund(id, shopifytest.Refund{At: e.at, Lines: e.ret, Shipping: e.ship, StoreCredit: true})
		case "cancel":
			r.srv.Cancel(id, e.at)
		case "exchange":
			r.srv.Exchange(id, shopifytest.Exchange{At: e.at, Return: e.ret, New: add})
		case "edit":
			r.srv.EditOrder(id, shopifytest.Edit{At: e.at, Add: add})
		case "delete":
			r.srv.DeleteOrder(id)
		}
	}
	return bindings
}

func torontoShop(t *testing.T) sShop {
	tor := zone(t, "America/Toronto")
	at := func(y int, m time.Month, day, h, min int) time.Time { return time.Date(y, m, day, h, min, 0, 0, tor) }
	utc := func(m time.Month, day, h, min int) time.Time { return time.Date(2026, m, day, h, min, 0, 0, time.UTC) }
	many := make([]sLine, 12)
	for i := range many {
		many[i] = sLine{qty: 2, price: fmt.Sprintf("%d.00", 5+i), tax: "0.26", sku: fmt.Sprintf("SKU-%02d", i)}
	}
	return sShop{
		zone: "America/Toronto", backfillDays: 270, readAllOrders: true,
		shop: shopifytest.Shop{Name: "acme", IANATimezone: "America/Toronto", Currency: "CAD"},
		locations: []sLocation{
			{key: "queen", name: "Queen St", tmas: "0421", active: true},
			{key: "king", name: "King St", tmas: "0422", active: true},
			{key: "warehouse", name: "Warehouse", active: true},
			{key: "old", name: "Old Mall", active: false},
		},
		orders: []sOrder{
			// 2026-11-01 has 25 hours in Toronto: 01:00-02:00 happens twice.
			{name: "#1001", loc: "queen", at: at(2026, 11, 1, 0, 30), lines: []sLine{{qty: 2, price: "10.00", discount: "2.00", tax: "2.34", title: "Mug", sku: "MUG-1", barcodeID: "0123456789012"}}},
			{name: "#1002", loc: "queen", at: utc(11, 1, 5, 30), lines: []sLine{{qty: 1, price: "25.00", tax: "3.25"}}}, // 01:30 EDT
			{name: "#1003", loc: "queen", at: utc(11, 1, 6, 45), lines: []sLine{{qty: 1, price: "40.00", tax: "5.20"}}}, // 01:45 EST
			{name: "#1004", loc: "king", at: at(2026, 11, 1, 23, 10), lines: []sLine{{qty: 3, price: "4.00", tax: "1.56"}}, shipping: "5.00", shipTax: "0.65", tip: "3.00"},
			{name: "#1005", loc: "king", at: at(2026, 11, 2, 10, 0), lines: []sLine{{qty: 1, price: "50.00", giftCard: true}, {qty: 1, price: "20.00", tax: "2.60"}}},
			{name: "#1006", loc: "queen", at: at(2026, 11, 5, 14, 20), lines: []sLine{{qty: 2, price: "15.00", discount: "3.00", tax: "3.51"}, {qty: 1, price: "8.00", tax: "1.04"}}},
			{name: "#1007", loc: "queen", at: at(2026, 11, 10, 9, 15), lines: []sLine{{qty: 1, price: "60.00", tax: "7.80"}}},
			{name: "#1008", loc: "king", at: at(2026, 11, 12, 17, 30), lines: []sLine{{qty: 2, price: "30.00", tax: "7.80"}}},
			{name: "#1009", loc: "queen", at: at(2026, 11, 15, 11, 0), lines: []sLine{{qty: 1, price: "12.00", tax: "1.56"}}},
			{name: "#1010", loc: "queen", source: "web", at: at(2026, 11, 15, 12, 0), lines: []sLine{{qty: 1, price: "99.00", tax: "12.87"}}},
			{name: "#1011", loc: "queen", test: true, at: at(2026, 11, 15, 12, 5), lines: []sLine{{qty: 1, price: "1.00"}}},
			{name: "#1012", loc: "", at: at(2026, 11, 16, 13, 0), lines: []sLine{{qty: 1, price: "10.00", tax: "1.30"}}},
			{name: "#1013", loc: "warehouse", at: at(2026, 11, 16, 14, 0), lines: []sLine{{qty: 1, price: "10.00", tax: "1.30"}}},
			{name: "#1014", loc: "warehouse", at: at(2026, 11, 16, 15, 0), lines: []sLine{{qty: 1, price: "11.00", tax: "1.43"}}},
			// 2026-03-08 has 23 hours in Toronto: 02:00-03:00 does not exist.
			{name: "#1015", loc: "queen", at: at(2026, 3, 8, 1, 30), lines: []sLine{{qty: 1, price: "9.00", tax: "1.17"}}},
			{name: "#1016", loc: "queen", at: at(2026, 3, 8, 3, 15), lines: []sLine{{qty: 4, price: "2.50", tax: "1.30"}}},
			{name: "#1017", loc: "queen", at: at(2026, 11, 20, 16, 0), lines: []sLine{{qty: 1, price: "70.00", tax: "9.10"}}},
			{name: "#1018", loc: "queen", at: at(2026, 11, 21, 10, 30), status: "AUTHORIZED", lines: []sLine{{qty: 1, price: "33.00", tax: "4.29"}}},
			// More sales and refunds than one page of orders carries.
			{name: "#1019", loc: "king", at: at(2026, 11, 18, 12, 0), lines: many},
		},
		events: []sEvent{
			{kind: "refund", order: "#1006", at: at(2026, 11, 8, 11, 5), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}},
			{kind: "refund", order: "#1006", at: at(2026, 11, 9, 16, 40), ret: []shopifytest.ReturnLine{{Line: 1, Qty: 1}}},
			{kind: "cancel", order: "#1007", at: at(2026, 11, 10, 13, 5)},
			{kind: "exchange", order: "#1008", at: at(2026, 11, 14, 12, 10), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}},
				add: []sLine{{qty: 1, price: "35.00", tax: "4.55"}}},
			{kind: "edit", order: "#1009", at: at(2026, 11, 15, 11, 40), add: []sLine{{qty: 1, price: "6.00", tax: "0.78"}}},
			{kind: "delete", order: "#1017"},
			{kind: "refund", order: "#1019", at: at(2026, 11, 19, 10, 0), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}},
			{kind: "refund", order: "#1019", at: at(2026, 11, 19, 11, 0), ret: []shopifytest.ReturnLine{{Line: 1, Qty: 2}}},
			{kind: "refund", order: "#1019", at: at(2026, 11, 20, 10, 0), ret: []shopifytest.ReturnLine{{Line: 2, Qty: 1}}},
			{kind: "refund", order: "#1019", at: at(2026, 11, 21, 9, 0), ret: []shopifytest.ReturnLine{{Line: 3, Qty: 2}, {Line: 4, Qty: 2}}},
			{kind: "refund", order: "#1004", at: at(2026, 11, 3, 10, 0), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}, ship: "5.00"},
		},
		wantNotes: []string{
			"order #1012 has no retail location: not imported; a POS order without one is usually a draft order marked as paid at the till (Shopify records no store for it)",
		},
	}
}

func parisShop(t *testing.T) sShop {
	par := zone(t, "Europe/Paris")
	at := func(m time.Month, day, h, min int) time.Time { return time.Date(2026, m, day, h, min, 0, 0, par) }
	return sShop{
		zone: "Europe/Paris", backfillDays: 30,
		shop: shopifytest.Shop{Name: "maison", IANATimezone: "Europe/Paris", Currency: "EUR", TaxesIncluded: true},
		locations: []sLocation{
			{key: "rivoli", name: "Rivoli", tmas: "7501", active: true},
		},
		orders: []sOrder{
			{name: "#2001", loc: "rivoli", at: at(11, 20, 10, 5), lines: []sLine{{qty: 1, price: "24.00", tax: "4.00"}}},
			{name: "#2002", loc: "rivoli", at: at(11, 20, 10, 40), lines: []sLine{{qty: 2, price: "12.00", discount: "2.40", tax: "3.60"}}},
			{name: "#2003", loc: "rivoli", at: at(11, 21, 18, 0), lines: []sLine{{qty: 1, price: "120.00", tax: "20.00"}}, shipping: "6.00", shipTax: "1.00"},
		},
		events: []sEvent{
			{kind: "refund", order: "#2002", at: at(11, 22, 9, 30), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}},
			{kind: "exchange", order: "#2003", at: at(11, 22, 15, 0), ret: []shopifytest.ReturnLine{{Line: 0, Qty: 1}},
				add: []sLine{{qty: 2, price: "60.00", tax: "20.00"}}},
		},
	}
}

func TestScenarioHourlyTotals(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, sc := range []func(*testing.T) sShop{torontoShop, parisShop} {
		for _, mode := range []string{"paged", "bulk"} {
			s := sc(t)
			t.Run(s.shop.Name+"/"+mode, func(t *testing.T) {
				r := newRig(t, now, shopifytest.Options{Shop: s.shop})
				if s.readAllOrders {
					r.srv.SetScopes("read_orders", "read_locations", "read_all_orders")
				}
				bindings := s.build(t, r)
				imp := r.importer(t, Config{BackfillDays: s.backfillDays, ReadAllOrders: s.readAllOrders, PageSize: 3,
					DisableBulk: mode == "paged", BulkAfter: record.Duration(24 * time.Hour)}, bindings)
				recs, notes, _ := run(t, imp, nil)
				wantBulk := 0
				if mode == "bulk" {
					wantBulk = 1
				}
				if st := r.srv.Stats(); st.BulkRuns != wantBulk {
					t.Errorf("got %d bulk operations, want %d", st.BulkRuns, wantBulk)
				}
				t.Logf("%d records, %d hours, %+v", len(recs), len(hourTotals(latest(recs))), r.srv.Stats())
				for _, rec := range recs {
					if err := rec.Validate(); err != nil {
						t.Errorf("invalid record: %v", err)
					}
				}
				got := hourTotals(latest(recs))
				if diff := cmp.Diff(s.expected(t), got); diff != "" {
					t.Errorf("hourly totals (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(s.wantNotes, notesBut(notes, "not in the locations mapping")); diff != "" {
					t.Errorf("notes (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// notesBut is notes without those containing skip.
func notesBut(notes []string, skip string) []string {
	var out []string
	for _, n := range notes {
		if !strings.Contains(n, skip) {
			out = append(out, n)
		}
	}
	return out
}

// The DST days, checked hour by hour against values worked out by hand.
func TestScenarioDSTHours(t *testing.T) {
	s := torontoShop(t)
	r := newRig(t, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), shopifytest.Options{Shop: s.shop})
	r.srv.SetScopes("read_orders", "read_locations", "read_all_orders")
	imp := r.importer(t, Config{BackfillDays: 270, ReadAllOrders: true, DisableBulk: true}, s.build(t, r))
	recs, _, _ := run(t, imp, nil)
	got := hourTotals(latest(recs))
	want := map[string]hourTotal{
		"0421 2026-11-01T00:00-04:00": {Net: "18.00", Transactions: 1, Items: 2},
		"0421 2026-11-01T01:00-04:00": {Net: "25.00", Transactions: 1, Items: 1},
		"0421 2026-11-01T01:00-05:00": {Net: "40.00", Transactions: 1, Items: 1},
		"0422 2026-11-01T23:00-05:00": {Net: "12.00", Transactions: 1, Items: 3},
		"0421 2026-03-08T01:00-05:00": {Net: "9.00", Transactions: 1, Items: 1},
		"0421 2026-03-08T03:00-04:00": {Net: "10.00", Transactions: 1, Items: 4},
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: got %+v, want %+v", k, g, w)
		}
	}
	for k := range got {
		if strings.Contains(k, "2026-03-08T02:") {
			t.Errorf("got an hour that does not exist in Toronto: %s", k)
		}
	}
}
