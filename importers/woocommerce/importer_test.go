package woocommerce

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

// oneOrder is an order of two lines, a discount, shipping, a fee and a tip,
// paid, refunded in part the next day.
func oneOrder(srv *woocommercetest.Server) (order, refund int64) {
	created := at("2026-11-19T15:30:00Z")
	order = srv.AddOrder(woocommercetest.Order{
		Status: "processing", Created: created, Paid: created.Add(2 * time.Second),
		Lines: []woocommercetest.Line{
			{Name: "Mug", SKU: "MUG-1", Qty: 2, Price: "12.00", Discount: "4.00", Tax: "2.60"},
			{Name: "Tee", SKU: "TEE-M", Qty: 1, Price: "25.00", Tax: "3.25"},
		},
		Shipping: "8.00", ShipTax: "1.04",
		Fees: []woocommercetest.Fee{{Name: "Gift wrap", Total: "3.00", Tax: "0.39"}, {Name: "Tip", Total: "5.00"}},
	})
	refund = srv.AddRefund(order, woocommercetest.Refund{At: at("2026-11-20T14:00:00Z"), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}, Reason: "chipped"})
	return order, refund
}

func TestOrderRecordsExact(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{SiteZone: mustZone("Europe/Paris")}, func(c *Config) {
		p := "WEB-"
		c.OrderPrefix, c.TipFees = &p, []string{"tip"}
	})
	o, r := oneOrder(f.srv)
	recs, notes, cur := f.run(t, nil)
	hint := at("2026-11-20T14:00:00Z").UnixMilli()
	want := []record.Record{
		{Type: "transaction", Key: fmt.Sprintf("woocommerce:shop.example.com:order:%d", o), Source: "woocommerce", LocationID: "0421", RevHint: hint,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: at("2026-11-19T10:30:00-05:00"), Receipt: fmt.Sprintf("WEB-%d", o),
				NetSales: record.MustMoney("48.00"), Tax: record.MustMoney("7.28"), Shipping: record.MustMoney("8.00"), Tips: record.MustMoney("5.00"),
				Discounts: record.MustMoney("4.00"), Currency: "CAD", Items: 3, Paid: true,
				Lines: []record.Line{{SKU: "MUG-1", Title: "Mug", Qty: 2, Net: record.MustMoney("20.00")}, {SKU: "TEE-M", Title: "Tee", Qty: 1, Net: record.MustMoney("25.00")}}}},
		{Type: "transaction", Key: fmt.Sprintf("woocommerce:shop.example.com:refund:%d", r), Source: "woocommerce", LocationID: "0421", RevHint: hint,
			Transaction: &record.Transaction{Kind: "return", OccurredAt: at("2026-11-20T09:00:00-05:00"), Receipt: fmt.Sprintf("WEB-%d", o),
				NetSales: record.MustMoney("-10.00"), Tax: record.MustMoney("-1.30"), Shipping: record.Zero, Tips: record.Zero, Discounts: record.Zero,
				Currency: "CAD", Items: -1, Paid: true,
				Lines: []record.Line{{SKU: "MUG-1", Title: "Mug", Qty: -1, Net: record.MustMoney("-10.00")}}}},
	}
	if diff := cmp.Diff(want, recs, cmp.Comparer(func(a, b record.Money) bool { return a.String() == b.String() }), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Format(time.RFC3339) == b.Format(time.RFC3339) })); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if len(notes) != 0 {
		t.Errorf("got notes %q, want none", notes)
	}
	wantReqs := []string{
		"/wc/v3/orders?dates_are_gmt=true&modified_after=2026-11-13T18%3A00%3A00&modified_before=2026-11-20T17%3A59%3A00&order=asc&orderby=date&page=1&per_page=100",
		fmt.Sprintf("/wc/v3/orders/%d/refunds?dates_are_gmt=true&page=1&per_page=100", o),
		"/wc/v3/orders?dates_are_gmt=true&modified_after=2026-11-13T18%3A00%3A00&modified_before=2026-11-20T17%3A59%3A00&order=asc&orderby=date&page=1&per_page=100&status=trash",
	}
	if diff := cmp.Diff(wantReqs, f.srv.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	c := decodeCursor(t, cur)
	if c.Phase != phaseIdle || !c.LastEnd.Equal(at("2026-11-20T17:59:00Z")) {
		t.Errorf("got cursor %+v, want idle with last_end 17:59", c)
	}
}

// An order that leaves the counted statuses is a void of its sale and of
// its refunds, a run later, with a higher revision hint.
func TestStatusChangeVoids(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(srv *woocommercetest.Server, id int64, at time.Time)
	}{
		{"cancelled", func(s *woocommercetest.Server, id int64, at time.Time) { s.SetStatus(id, "cancelled", at) }},
		{"failed", func(s *woocommercetest.Server, id int64, at time.Time) { s.SetStatus(id, "failed", at) }},
		{"trash", func(s *woocommercetest.Server, id int64, at time.Time) { s.Trash(id, at) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, woocommercetest.Options{}, nil)
			o, r := oneOrder(f.srv)
			_, _, cur := f.run(t, nil)
			changed := at("2026-11-22T16:00:00Z") // two days later
			f.clk.Set(changed.Add(time.Hour))
			tc.change(f.srv, o, changed)
			recs, _, _ := f.run(t, cur)
			var got []string
			for _, rec := range recs {
				got = append(got, fmt.Sprintf("%s %s %s %s %d %v", rec.Key, rec.Kind, rec.NetSales, rec.OccurredAt.Format(time.RFC3339), rec.RevHint, rec.Paid))
			}
			want := []string{
				fmt.Sprintf("woocommerce:shop.example.com:order:%d void 0.00 2026-11-19T10:30:00-05:00 %d false", o, changed.UnixMilli()),
				fmt.Sprintf("woocommerce:shop.example.com:refund:%d void 0.00 2026-11-19T10:30:00-05:00 %d false", r, changed.UnixMilli()),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A full refund turns the order to status refunded: by default it is then
// a void (sale and returns cancel out to nothing); with refunded among the
// sale statuses it stays a sale with its returns at their own time.
func TestFullRefund(t *testing.T) {
	for _, tc := range []struct {
		statuses []string
		want     []string
	}{
		{nil, []string{"order void 0.00", "refund void 0.00"}},
		{[]string{"completed", "processing", "refunded"}, []string{"order sale 30.00", "refund return -30.00"}},
	} {
		t.Run(strings.Join(tc.statuses, ","), func(t *testing.T) {
			f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.SaleStatuses = tc.statuses })
			o := f.srv.AddOrder(woocommercetest.Order{Status: "completed", Created: at("2026-11-19T15:00:00Z"), Paid: at("2026-11-19T15:00:00Z"),
				Lines: []woocommercetest.Line{{Name: "Mug", Qty: 3, Price: "10.00", Tax: "3.90"}}})
			f.srv.AddRefund(o, woocommercetest.Refund{At: at("2026-11-20T12:00:00Z"), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 3}}})
			recs, _, _ := f.run(t, nil)
			var got []string
			for _, r := range recs {
				got = append(got, strings.Split(r.Key, ":")[2]+" "+r.Kind+" "+r.NetSales.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Item edits do not bump date_modified: the recheck pass re-reads orders
// created recently even when their modification is older than the window.
func TestItemEditCaughtByRecheck(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	created := woocommercetest.DefaultNow.Add(-60 * time.Hour)
	o := f.srv.AddOrder(woocommercetest.Order{Created: created, Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
	_, _, cur := f.run(t, nil)
	f.clk.Set(woocommercetest.DefaultNow.Add(time.Hour))
	f.srv.EditLines(o, []woocommercetest.Line{{Name: "Mug", Qty: 2, Price: "10.00"}})
	recs, _, _ := f.run(t, cur)
	if len(recs) != 1 || recs[0].NetSales.String() != "20.00" || recs[0].Items != 2 {
		t.Fatalf("got %+v, want the edited sale (20.00, 2 items)", recs)
	}
	reqs := f.srv.Requests()
	if got, want := reqs[len(reqs)-1], "/wc/v3/orders?after=2026-11-17T19%3A00%3A00&dates_are_gmt=true&modified_before=2026-11-18T17%3A59%3A01&order=asc&orderby=date&page=1&per_page=100"; got != want {
		t.Errorf("got last request %s, want %s", got, want)
	}
}

// ids makes n orders, the first ties of them in the same second.
func manyOrders(srv *woocommercetest.Server, n, ties int) []string {
	var keys []string
	base := woocommercetest.DefaultNow.Add(-5 * 24 * time.Hour)
	for k := range n {
		created := base.Add(time.Duration(k) * time.Minute)
		if k < ties {
			created = base
		}
		id := srv.AddOrder(woocommercetest.Order{Created: created, Paid: created, Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
		keys = append(keys, fmt.Sprintf("woocommerce:shop.example.com:order:%d", id))
	}
	slices.Sort(keys)
	return keys
}

// A crash after any page resumes from the committed cursor with a new
// importer: every order is read, and pages advance by creation time even
// through many orders created in the same second.
func TestResumeAfterEveryPage(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.PageSize = 7 })
	want := manyOrders(f.srv, 60, 20)
	var committed []byte
	var pages [][]byte
	for {
		p, err := f.imp.Fetch(context.Background(), committed)
		if err != nil {
			t.Fatal(err)
		}
		committed = p.Cursor
		pages = append(pages, p.Cursor)
		if !p.More {
			break
		}
	}
	for k := 1; k <= len(pages); k++ {
		cur := pages[k-1] // committed after page k
		// A new importer (a restarted agent) from the cursor committed after page k.
		f2, err := New(f.imp.cfg, []record.Binding{{LocationID: "0421", Zone: toronto}}, Options{HTTPClient: f.srv.Client(), Now: f.clk.Now, Sleep: f.clk.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		before, _, _ := (&fixture{srv: f.srv, imp: f.imp, clk: f.clk}).runUntil(t, nil, k)
		after, _, _ := (&fixture{srv: f.srv, imp: f2, clk: f.clk}).run(t, cur)
		got := keysOf(append(before, after...))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("resumed after page %d: (-want +got):\n%s", k, diff)
		}
	}
}

func (f *fixture) runUntil(t *testing.T, cursor []byte, pages int) ([]record.Record, []string, []byte) {
	t.Helper()
	var recs []record.Record
	for range pages {
		p, err := f.imp.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		recs, cursor = append(recs, p.Records...), p.Cursor
	}
	return recs, nil, cursor
}

func keysOf(recs []record.Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		if !seen[r.Key] {
			seen[r.Key] = true
			out = append(out, r.Key)
		}
	}
	slices.Sort(out)
	return out
}

// Orders modified while the window is paged leave the result set; no
// other order may be skipped for it (page numbers alone would skip one per
// order that left).
func TestOrdersChangingDuringPagination(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.PageSize = 5 })
	want := manyOrders(f.srv, 40, 0)
	var cur []byte
	var recs []record.Record
	for n := 0; ; n++ {
		p, err := f.imp.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, p.Records...)
		cur = p.Cursor
		// After each page, the orders just read are modified again (a
		// status change now, past the window's end).
		for _, r := range p.Records {
			var id int64
			fmt.Sscanf(r.Key[strings.LastIndex(r.Key, ":")+1:], "%d", &id)
			f.srv.SetStatus(id, "completed", f.clk.Now())
		}
		if !p.More {
			break
		}
	}
	if diff := cmp.Diff(want, keysOf(recs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBackfill(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	in := f.srv.AddOrder(woocommercetest.Order{Created: at("2026-11-10T15:00:00Z"), Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
	f.srv.AddOrder(woocommercetest.Order{Created: at("2026-11-12T15:00:00Z"), Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
	early := f.srv.AddOrder(woocommercetest.Order{Created: at("2026-11-01T15:00:00Z"), Lines: []woocommercetest.Line{{Name: "Mug", Qty: 2, Price: "10.00"}}})
	r := f.srv.AddRefund(early, woocommercetest.Refund{At: at("2026-11-10T18:00:00Z"), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}})
	cur, err := f.imp.BackfillCursor(at("2026-11-10T05:00:00Z"), at("2026-11-11T05:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	recs, _, end := f.run(t, cur)
	want := []string{fmt.Sprintf("woocommerce:shop.example.com:refund:%d", r), fmt.Sprintf("woocommerce:shop.example.com:order:%d", in)}
	slices.Sort(want)
	if diff := cmp.Diff(want, keysOf(recs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c := decodeCursor(t, end); c.Phase != phaseDone {
		t.Errorf("got phase %s, want done", c.Phase)
	}
	p, err := f.imp.Fetch(context.Background(), end)
	if err != nil || p.More || len(p.Records) != 0 {
		t.Errorf("a finished backfill fetched %+v, %v", p, err)
	}
	if _, err := f.imp.BackfillCursor(at("2026-11-11T05:00:00Z"), at("2026-11-10T05:00:00Z")); err == nil || err.Error() != "woocommerce: backfill: since 2026-11-11T05:00:00Z is not before until 2026-11-10T05:00:00Z" {
		t.Errorf("got %v", err)
	}
}

func TestLocationByMeta(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) {
		c.Location = ""
		c.LocationMetaKey = "_pickup_store"
		c.LocationByMeta = map[string]string{"queen": "0421", "king": "0422"}
	})
	line := []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}
	created := at("2026-11-19T15:00:00Z")
	f.srv.AddOrder(woocommercetest.Order{Created: created, Lines: line, Meta: map[string]string{"_pickup_store": "queen"}})
	f.srv.AddOrder(woocommercetest.Order{Created: created.Add(time.Minute), Lines: line, Meta: map[string]string{"_pickup_store": "king"}})
	f.srv.AddOrder(woocommercetest.Order{Created: created.Add(2 * time.Minute), Lines: line, Meta: map[string]string{"_pickup_store": "mall"}})
	f.srv.AddOrder(woocommercetest.Order{Created: created.Add(3 * time.Minute), Lines: line})
	recs, notes, _ := f.run(t, nil)
	var got []string
	for _, r := range recs {
		got = append(got, r.LocationID)
	}
	if diff := cmp.Diff([]string{"0421", "0422"}, got); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		`1 order(s) not imported: _pickup_store is "mall", which woocommerce.location_by_meta does not map`,
		"1 order(s) not imported: no _pickup_store meta and no woocommerce.location to count them at",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestUnpaidAndPendingOrders(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	created := at("2026-11-19T15:00:00Z")
	line := []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}
	cod := f.srv.AddOrder(woocommercetest.Order{Status: "processing", Created: created, Lines: line}) // cash on delivery: not paid yet
	pending := f.srv.AddOrder(woocommercetest.Order{Status: "pending", Created: created.Add(time.Minute), Lines: line})
	f.srv.AddOrder(woocommercetest.Order{Status: "checkout-draft", Created: created.Add(2 * time.Minute), Lines: line})
	recs, _, _ := f.run(t, nil)
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s %s %v", r.Key, r.Kind, r.Paid))
	}
	want := []string{
		fmt.Sprintf("woocommerce:shop.example.com:order:%d sale false", cod),
		fmt.Sprintf("woocommerce:shop.example.com:order:%d void false", pending),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueryAuthAndStrippedHeader(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{StripAuthorization: true}, nil)
	_, err := f.imp.Fetch(context.Background(), nil)
	want := `woocommerce: the shop does not let the API key read orders: "Sorry, you cannot list resources." (HTTP 401 woocommerce_rest_cannot_view): the key lacks Read permission, or the host strips the Authorization header`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	g := newFixture(t, woocommercetest.Options{StripAuthorization: true}, func(c *Config) { c.Auth = AuthQuery })
	oneOrder(g.srv)
	recs, _, _ := g.run(t, nil)
	if len(recs) != 2 {
		t.Errorf("got %d records with query auth, want 2", len(recs))
	}
	for _, r := range g.srv.Requests() {
		if strings.Contains(r, testSecret) || strings.Contains(r, testKey) {
			t.Errorf("the double logged a credential: %s", r)
		}
	}
}

func TestRESTRoute(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.RESTRoute = true })
	f.srv.SetMode(woocommercetest.ModePermalinksOff)
	oneOrder(f.srv)
	recs, _, _ := f.run(t, nil)
	if len(recs) != 2 {
		t.Errorf("got %d records through ?rest_route=, want 2", len(recs))
	}
}

// One unreadable order is skipped with a note; the others are imported.
func TestUnreadableOrderIsNoted(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	f.srv.FailNext(200, nil, `[{"id":7,"status":"completed","total":"abc"},{"id":8,"number":"8","status":"completed","currency":"CAD","date_created_gmt":"2026-11-19T15:00:00","line_items":[{"name":"Mug","quantity":1,"total":"10.00"}],"total":"10.00"}]`)
	p, err := f.imp.Fetch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].Key != "woocommerce:shop.example.com:order:8" {
		t.Errorf("got %+v", p.Records)
	}
	if diff := cmp.Diff([]string{`order 7 could not be read ("abc" is not a decimal number): not imported`}, p.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// A backfill's pages say how far the window has been read: after each page
// of the orders pass, the creation time every order up to which has been
// read (the keyset cursor's After); at the end of that pass, the window's
// end; the trash pass says nothing.
func TestBackfillReached(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.PageSize = 4 })
	base := woocommercetest.DefaultNow.Add(-5 * 24 * time.Hour)
	for k := range 10 {
		created := base.Add(time.Duration(k) * time.Hour)
		f.srv.AddOrder(woocommercetest.Order{Created: created, Paid: created, Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
	}
	since, until := base.Add(-time.Hour), base.Add(24*time.Hour)
	cur, err := f.imp.BackfillCursor(since, until)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for {
		p, err := f.imp.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Reached)
		if cur = p.Cursor; !p.More {
			break
		}
	}
	// Pages of 4 from the last creation time read less a second: orders
	// 0-3, 3-6, 6-9 (the pass ends), then the trash pass.
	want := []time.Time{base.Add(3*time.Hour - time.Second), base.Add(6*time.Hour - time.Second), until.UTC(), {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reached (-want +got):\n%s", diff)
	}
}

// A cash-on-delivery order is a sale not yet paid; when the shop marks it
// paid two days later, the next run sends it again with paid=true at a
// higher revision (its date_modified), at the time it was placed.
func TestOrderPaidLater(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	created := at("2026-11-19T15:00:00Z")
	cod := f.srv.AddOrder(woocommercetest.Order{Status: "processing", Created: created, Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "10.00"}}})
	line := func(r record.Record) string {
		return fmt.Sprintf("%s %s %s %s %d %v", r.Key, r.Kind, r.NetSales, r.OccurredAt.Format(time.RFC3339), r.RevHint, r.Paid)
	}
	first, _, cur := f.run(t, nil)
	paid := at("2026-11-21T18:00:00Z")
	f.clk.Set(paid.Add(time.Hour))
	f.srv.MarkPaid(cod, paid)
	second, _, _ := f.run(t, cur)
	var got []string
	for _, r := range append(first, second...) {
		got = append(got, line(r))
	}
	want := []string{
		fmt.Sprintf("woocommerce:shop.example.com:order:%d sale 10.00 2026-11-19T10:00:00-05:00 %d false", cod, created.UnixMilli()),
		fmt.Sprintf("woocommerce:shop.example.com:order:%d sale 10.00 2026-11-19T10:00:00-05:00 %d true", cod, paid.UnixMilli()),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
