package woocommerce

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readFixture reads a payload, bare (the REST API's shape) or wrapped in
// {"data": …} (the WordPress.com tunnel the woocommerce-ios fixtures use).
func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Data) > 0 {
		b = env.Data
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func fixtureConv() conv {
	cfg := Config{URL: "https://example.com", Location: "0421"}
	cfg.SetDefaults()
	return newConv(cfg)
}

// summary is one record as a line, for exact comparison.
func summary(c conv, o apiOrder, refunds []apiRefund) ([]string, []string) {
	recs, notes, err := c.orderRecords(o, refunds, "0421", toronto)
	if err != nil {
		return []string{"error: " + err.Error()}, notes
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s %s %s %s net=%s tax=%s ship=%s disc=%s items=%d paid=%v %s",
			r.Key, r.Kind, r.OccurredAt.Format("2006-01-02T15:04:05-07:00"), r.Receipt, r.NetSales, r.Tax, r.Shipping, r.Discounts, r.Items, r.Paid, r.Currency))
	}
	return out, notes
}

func TestFixtureDocsOrdersAndRefunds(t *testing.T) {
	var orders []apiOrder
	readFixture(t, "wc-docs-v3-list-orders.json", &orders)
	var refunds []apiRefund
	readFixture(t, "wc-docs-v3-list-refunds.json", &refunds)
	c := fixtureConv()
	got, notes := summary(c, orders[0], nil)
	got2, notes2 := summary(c, orders[1], refunds)
	got = append(got, got2...)
	want := []string{
		"woocommerce:example.com:order:727 sale 2017-03-22T15:28:02-04:00 #727 net=18.00 tax=1.35 ship=10.00 disc=0.00 items=3 paid=true USD",
		"woocommerce:example.com:order:723 sale 2017-03-21T15:16:00-04:00 #723 net=29.00 tax=0.00 ship=10.00 disc=0.00 items=2 paid=false USD",
		// A refund by amount only: its whole amount is net sales returned, no items.
		"woocommerce:example.com:refund:726 return 2017-03-21T16:07:11-04:00 #723 net=-10.00 tax=0.00 ship=0.00 disc=0.00 items=0 paid=true USD",
		"woocommerce:example.com:refund:724 return 2017-03-21T15:55:37-04:00 #723 net=-9.00 tax=0.00 ship=0.00 disc=0.00 items=-1 paid=true USD",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(notes)+len(notes2) != 0 {
		t.Errorf("got notes %q %q", notes, notes2)
	}
}

func TestFixtureIOSOrders(t *testing.T) {
	var orders []apiOrder
	readFixture(t, "wcios-orders-load-all.json", &orders)
	var refunds560 []apiRefund
	readFixture(t, "wcios-order-560-all-refunds.json", &refunds560)
	c := fixtureConv()
	var got, notes []string
	for _, o := range orders {
		var rs []apiRefund
		if o.ID == 560 {
			rs = refunds560
		}
		g, n := summary(c, o, rs)
		got, notes = append(got, g...), append(notes, n...)
	}
	want := []string{
		// Hand-edited upstream: a 1.5 quantity (2 whole units) and a fee the total does not hold.
		"woocommerce:example.com:order:963 sale 2018-04-03T19:05:12-04:00 #963 net=155.50 tax=1.20 ship=0.00 disc=30.00 items=4 paid=true USD",
		"woocommerce:example.com:order:961 sale 2018-04-03T16:54:21-04:00 #961 net=20.00 tax=0.00 ship=0.00 disc=0.00 items=1 paid=true USD",
		"woocommerce:example.com:order:960 sale 2018-04-03T16:52:38-04:00 #960 net=20.00 tax=0.00 ship=0.00 disc=0.00 items=1 paid=true USD",
		"woocommerce:example.com:order:560 sale 2019-10-01T15:31:17-04:00 #560 net=908.10 tax=0.00 ship=290.40 disc=0.00 items=33 paid=true USD",
		"woocommerce:example.com:refund:1172 return 2020-01-23T14:29:55-05:00 #560 net=-63.00 tax=0.00 ship=0.00 disc=0.00 items=-2 paid=true USD",
		"woocommerce:example.com:refund:1025 return 2020-01-08T18:29:44-05:00 #560 net=-117.00 tax=0.00 ship=0.00 disc=0.00 items=-4 paid=true USD",
		"woocommerce:example.com:refund:590 return 2019-10-09T12:18:23-04:00 #560 net=-18.00 tax=0.00 ship=0.00 disc=0.00 items=-1 paid=true USD",
		"woocommerce:example.com:refund:562 return 2019-10-01T15:33:46-04:00 #560 net=-27.00 tax=0.00 ship=0.00 disc=0.00 items=-1 paid=true USD",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantNotes := []string{"order #963: its lines and fees (155.50) do not add up to total − tax − shipping (30.00): the lines are used"}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	// The refunds list of the same order, earlier: the same two refunds.
	var early []apiRefund
	readFixture(t, "wcios-refunds-all.json", &early)
	if len(early) != 2 || c.refundAmounts(early[0]).net.StringFixed(2) != "-18.00" || c.refundAmounts(early[1]).net.StringFixed(2) != "-27.00" {
		t.Errorf("refunds-all: got %d refunds", len(early))
	}
}

// The hand-made refund list has a refund line of positive quantity and
// total: it counts as a return all the same.
func TestFixturePositiveRefundLine(t *testing.T) {
	var rs []apiRefund
	readFixture(t, "wcios-order-refunds-list.json", &rs)
	c := fixtureConv()
	var got []string
	for _, r := range rs {
		a := c.refundAmounts(r)
		got = append(got, fmt.Sprintf("%d net=%s items=%d lines=%d", r.ID, a.net.StringFixed(2), a.items, len(a.lines)))
	}
	if diff := cmp.Diff([]string{"726 net=-10.00 items=-1 lines=1", "724 net=-9.00 items=-1 lines=1"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The broken order (a draft, every date null) makes nothing and no crash;
// counted with null dates, it makes a note.
func TestFixtureBrokenOrder(t *testing.T) {
	var orders []apiOrder
	readFixture(t, "wcios-broken-orders.json", &orders)
	c := fixtureConv()
	got, notes := summary(c, orders[0], nil)
	if len(got) != 0 || len(notes) != 0 {
		t.Errorf("draft: got %q %q, want nothing", got, notes)
	}
	orders[0].Status = "processing"
	got, notes = summary(c, orders[0], nil)
	if len(got) != 0 || len(notes) != 1 || notes[0] != "order #85 (id 85, status processing) has no creation date: not imported" {
		t.Errorf("processing with null dates: got %q %q", got, notes)
	}
}
