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
	var tl timeline
	for k := range 70 {
		o := randomWebOrder(rng, k, day)
		tl.at(o.Created, func() {
			id := srv.AddOrder(o)
			laterChange(&tl, srv, k, id, o)
		})
	}
	// Run hourly at HH:02 from the Friday to the Monday, applying events as
	// their time comes.
	var recs []record.Record
	var cursor []byte
	for now := day.Add(2 * time.Minute); now.Before(day.AddDate(0, 0, 3)); now = now.Add(time.Hour) {
		tl.apply(srv, now.Add(-2*time.Minute))
		f.clk.Set(now)
		srv.SetNow(now)
		var got []record.Record
		got, _, cursor = f.run(t, cursor)
		recs = append(recs, got...)
	}
	checkEveryKind(t, recs)
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

// event is something that happens at the shop at a time.
type event struct {
	at time.Time
	do func()
}

// timeline holds the scenario's events still to come.
type timeline struct{ events []event }

func (tl *timeline) at(t time.Time, do func()) { tl.events = append(tl.events, event{t, do}) }

// apply runs every event before a time, with the double's clock at the
// event's time, and the events those add, until none is due.
func (tl *timeline) apply(srv *woocommercetest.Server, before time.Time) {
	for {
		var due []event
		var rest []event
		for _, e := range tl.events {
			if e.at.Before(before) {
				due = append(due, e)
			} else {
				rest = append(rest, e)
			}
		}
		if len(due) == 0 {
			return
		}
		tl.events = rest
		for _, e := range due {
			srv.SetNow(e.at)
			e.do()
		}
	}
}

var (
	scenarioProducts = []woocommercetest.Line{
		{Name: "Mug", SKU: "MUG-1", Price: "12.50"}, {Name: "Tee", SKU: "TEE-M", Price: "24.00"}, {Name: "Cap", SKU: "CAP", Price: "17.99"},
	}
	scenarioStatuses = []string{"processing", "processing", "completed", "completed", "completed", "pending", "failed", "on-hold"}
)

// randomWebOrder is the scenario's k-th web order, placed between 06:00 and
// 23:00 of the day: one to three lines, some discounted, shipping, a gift
// wrap fee on every ninth and a tip on every eleventh.
func randomWebOrder(rng *rand.Rand, k int, day time.Time) woocommercetest.Order {
	created := day.Add(time.Duration(6*60+rng.IntN(17*60)) * time.Minute).Add(time.Duration(rng.IntN(60)) * time.Second)
	var lines []woocommercetest.Line
	for n := range 1 + rng.IntN(3) {
		l := scenarioProducts[(k+n)%len(scenarioProducts)]
		l.Qty = 1 + rng.IntN(3)
		if rng.IntN(4) == 0 {
			l.Discount = "2.00"
		}
		l.Tax = decimal.RequireFromString(l.Price).Mul(decimal.NewFromInt(int64(l.Qty))).Mul(decimal.RequireFromString("0.13")).Round(2).StringFixed(2)
		lines = append(lines, l)
	}
	o := woocommercetest.Order{Status: scenarioStatuses[k%len(scenarioStatuses)], Created: created, Lines: lines, Shipping: "9.00", ShipTax: "1.17"}
	if o.Status == "processing" || o.Status == "completed" {
		o.Paid = created.Add(3 * time.Second)
	}
	if k%9 == 0 {
		o.Fees = []woocommercetest.Fee{{Name: "Gift wrap", Total: "4.00", Tax: "0.52"}}
	}
	if k%11 == 0 {
		o.Fees = append(o.Fees, woocommercetest.Fee{Name: "Tip", Total: "3.00", Tip: true})
	}
	return o
}

// laterChange schedules what happens to the k-th order after it is placed:
// refunds, a cancellation, the trash, a pending order paid.
func laterChange(tl *timeline, srv *woocommercetest.Server, k int, id int64, o woocommercetest.Order) {
	created := o.Created
	switch {
	case k%10 == 3: // partly refunded the same day
		tl.at(created.Add(3*time.Hour), func() {
			srv.AddRefund(id, woocommercetest.Refund{At: created.Add(3 * time.Hour), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}})
		})
	case k%10 == 4 && o.Status == "completed": // refunded by amount two days later
		tl.at(created.Add(49*time.Hour), func() {
			srv.AddRefund(id, woocommercetest.Refund{At: created.Add(49 * time.Hour), Extra: "5.00"})
		})
	case k%10 == 5: // shipping refunded only: no transaction
		tl.at(created.Add(time.Hour), func() {
			srv.AddRefund(id, woocommercetest.Refund{At: created.Add(time.Hour), Shipping: true})
		})
	case k%10 == 6 && !o.Paid.IsZero(): // refunded in full the next day
		tl.at(created.Add(26*time.Hour), func() {
			var rl []woocommercetest.RefundLine
			for n, l := range o.Lines {
				rl = append(rl, woocommercetest.RefundLine{Line: n, Qty: l.Qty})
			}
			srv.AddRefund(id, woocommercetest.Refund{At: created.Add(26 * time.Hour), Lines: rl, Shipping: true, Extra: fmt.Sprint(feesTotal(o))})
		})
	case k%10 == 7:
		tl.at(created.Add(5*time.Hour), func() { srv.SetStatus(id, "cancelled", created.Add(5*time.Hour)) })
	case k%10 == 8:
		tl.at(created.Add(30*time.Hour), func() { srv.Trash(id, created.Add(30*time.Hour)) })
	case k%10 == 1 && o.Status == "pending":
		tl.at(created.Add(2*time.Hour), func() { srv.SetStatus(id, "processing", created.Add(2*time.Hour)) })
	}
}

// checkEveryKind fails the test unless the records headquarters keeps
// hold sales, returns and voids.
func checkEveryKind(t *testing.T, recs []record.Record) {
	t.Helper()
	kinds := map[string]int{}
	for _, r := range latest(recs) {
		kinds[r.Kind]++
	}
	if kinds[record.KindSale] == 0 || kinds[record.KindReturn] == 0 || kinds[record.KindVoid] == 0 {
		t.Fatalf("the scenario does not exercise every kind: %v", kinds)
	}
	t.Logf("records kept per kind: %v", kinds)
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
