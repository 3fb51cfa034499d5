package woocommerce

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

// hourly buckets the records headquarters would keep (the last of each
// key; a void counts as nothing) by local hour of one day.
func hourly(recs []record.Record, zone *time.Location, day time.Time) map[time.Time]woocommercetest.Bucket {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, zone)
	end := start.AddDate(0, 0, 1)
	net := map[time.Time]decimal.Decimal{}
	out := map[time.Time]woocommercetest.Bucket{}
	for _, r := range latest(recs) {
		at := r.OccurredAt.In(zone)
		if r.Kind == record.KindVoid || at.Before(start) || !at.Before(end) {
			continue
		}
		h := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), 0, 0, 0, zone)
		b := out[h]
		b.Transactions++
		b.Items += r.Items
		out[h] = b
		net[h] = net[h].Add(r.NetSales.Decimal())
	}
	for h, b := range out {
		b.Net = net[h].StringFixed(2)
		out[h] = b
	}
	return out
}

// TestDayWithWebOrdersAndRefunds writes a shop's Friday down as data: web
// orders all day long (discounts, shipping, fees, a tip, an unpaid order,
// pending and failed ones, a cancelled one, a trashed one), partial
// refunds the same day and two days later, a refund by amount only, a
// shipping-only refund, a full refund (status refunded), an order
// completed later; the site in Paris, the store in Toronto. The importer
// runs hourly through the day and the two days after; its records must give
// the double's own hourly net sales, transactions and items to the cent,
// for the Friday and the Saturday.
func TestDayWithWebOrdersAndRefunds(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{SiteZone: mustZone("Europe/Paris")}, func(c *Config) {
		c.PageSize = 9
		c.TipFees = []string{"Tip"}
	})
	srv := f.srv
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, toronto)
	rng := rand.New(rand.NewPCG(12, 34))
	type event struct {
		at time.Time
		do func()
	}
	var events []event
	products := []woocommercetest.Line{
		{Name: "Mug", SKU: "MUG-1", Price: "12.50"}, {Name: "Tee", SKU: "TEE-M", Price: "24.00"}, {Name: "Cap", SKU: "CAP", Price: "17.99"},
	}
	statuses := []string{"processing", "processing", "completed", "completed", "completed", "pending", "failed", "on-hold"}
	for k := range 70 {
		created := day.Add(time.Duration(6*60+rng.IntN(17*60)) * time.Minute).Add(time.Duration(rng.IntN(60)) * time.Second)
		var lines []woocommercetest.Line
		for n := range 1 + rng.IntN(3) {
			l := products[(k+n)%len(products)]
			l.Qty = 1 + rng.IntN(3)
			if rng.IntN(4) == 0 {
				l.Discount = "2.00"
			}
			l.Tax = decimal.RequireFromString(l.Price).Mul(decimal.NewFromInt(int64(l.Qty))).Mul(decimal.RequireFromString("0.13")).Round(2).StringFixed(2)
			lines = append(lines, l)
		}
		o := woocommercetest.Order{Status: statuses[k%len(statuses)], Created: created, Lines: lines, Shipping: "9.00", ShipTax: "1.17"}
		if o.Status == "processing" || o.Status == "completed" {
			o.Paid = created.Add(3 * time.Second)
		}
		if k%9 == 0 {
			o.Fees = []woocommercetest.Fee{{Name: "Gift wrap", Total: "4.00", Tax: "0.52"}}
		}
		if k%11 == 0 {
			o.Fees = append(o.Fees, woocommercetest.Fee{Name: "Tip", Total: "3.00", Tip: true})
		}
		events = append(events, event{created, func() {
			id := srv.AddOrder(o)
			switch {
			case k%10 == 3: // partly refunded the same day
				events = append(events, event{created.Add(3 * time.Hour), func() {
					srv.AddRefund(id, woocommercetest.Refund{At: created.Add(3 * time.Hour), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}})
				}})
			case k%10 == 4 && o.Status == "completed": // refunded by amount two days later
				events = append(events, event{created.Add(49 * time.Hour), func() {
					srv.AddRefund(id, woocommercetest.Refund{At: created.Add(49 * time.Hour), Extra: "5.00"})
				}})
			case k%10 == 5: // shipping refunded only: no transaction
				events = append(events, event{created.Add(time.Hour), func() {
					srv.AddRefund(id, woocommercetest.Refund{At: created.Add(time.Hour), Shipping: true})
				}})
			case k%10 == 6 && !o.Paid.IsZero(): // refunded in full the next day
				events = append(events, event{created.Add(26 * time.Hour), func() {
					var rl []woocommercetest.RefundLine
					for n, l := range lines {
						rl = append(rl, woocommercetest.RefundLine{Line: n, Qty: l.Qty})
					}
					srv.AddRefund(id, woocommercetest.Refund{At: created.Add(26 * time.Hour), Lines: rl, Shipping: true, Extra: fmt.Sprint(feesTotal(o))})
				}})
			case k%10 == 7:
				events = append(events, event{created.Add(5 * time.Hour), func() { srv.SetStatus(id, "cancelled", created.Add(5*time.Hour)) }})
			case k%10 == 8:
				events = append(events, event{created.Add(30 * time.Hour), func() { srv.Trash(id, created.Add(30*time.Hour)) }})
			case k%10 == 1 && o.Status == "pending":
				events = append(events, event{created.Add(2 * time.Hour), func() { srv.SetStatus(id, "processing", created.Add(2*time.Hour)) }})
			}
		}})
	}
	// Run hourly at HH:02 from the Friday to the Monday, applying events as
	// their time comes.
	var recs []record.Record
	var cursor []byte
	for now := day.Add(2 * time.Minute); now.Before(day.AddDate(0, 0, 3)); now = now.Add(time.Hour) {
		for {
			var due []event
			var rest []event
			for _, e := range events {
				if e.at.Before(now.Add(-2 * time.Minute)) {
					due = append(due, e)
				} else {
					rest = append(rest, e)
				}
			}
			if len(due) == 0 {
				break
			}
			events = rest
			for _, e := range due {
				srv.SetNow(e.at)
				e.do()
			}
		}
		f.clk.Set(now)
		srv.SetNow(now)
		var got []record.Record
		got, _, cursor = f.run(t, cursor)
		recs = append(recs, got...)
	}
	kinds := map[string]int{}
	for _, r := range latest(recs) {
		kinds[r.Kind]++
	}
	if kinds[record.KindSale] == 0 || kinds[record.KindReturn] == 0 || kinds[record.KindVoid] == 0 {
		t.Fatalf("the scenario does not exercise every kind: %v", kinds)
	}
	t.Logf("records kept per kind: %v", kinds)
	counted := []string{"completed", "processing"}
	for _, d := range []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2)} {
		want := srv.Truth(toronto, d, counted)
		got := hourly(recs, toronto, d)
		if len(want) == 0 && d.Equal(day) {
			t.Fatalf("%s: the scenario has no counted transactions", d.Format(time.DateOnly))
		}
		t.Logf("%s: %d hours with transactions", d.Format(time.DateOnly), len(want))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s hourly (-truth +importer):\n%s", d.Format(time.DateOnly), diff)
		}
	}
}

func feesTotal(o woocommercetest.Order) decimal.Decimal {
	var d decimal.Decimal
	for _, f := range o.Fees {
		d = d.Add(decimal.RequireFromString(f.Total)).Add(decimal.RequireFromString(orZero(f.Tax)))
	}
	return d
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
