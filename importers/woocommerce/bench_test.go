package woocommerce

import (
	"context"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

// BenchmarkFirstRun: a first run over 7 days of 2,000 web orders, one in
// ten refunded, through the TLS double (no added latency).
func BenchmarkFirstRun(b *testing.B) {
	srv := woocommercetest.NewServer(b, woocommercetest.Options{})
	srv.AddKey(testKey, testSecret, woocommercetest.Read)
	start := woocommercetest.DefaultNow.Add(-6 * 24 * time.Hour)
	for k := range 2000 {
		created := start.Add(time.Duration(k) * 4 * time.Minute)
		id := srv.AddOrder(woocommercetest.Order{Status: "completed", Created: created, Paid: created,
			Lines: []woocommercetest.Line{{Name: "Mug", SKU: "MUG-1", Qty: 2, Price: "12.50", Tax: "3.25"}, {Name: "Tee", Qty: 1, Price: "24.00", Tax: "3.12"}}, Shipping: "9.00"})
		if k%10 == 0 {
			srv.AddRefund(id, woocommercetest.Refund{At: created.Add(time.Hour), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}})
		}
	}
	clk := &clock{now: woocommercetest.DefaultNow}
	cfg := Config{URL: "https://shop.example.com", BaseURL: srv.URL, ConsumerKey: testKey, ConsumerSecret: testSecret, Location: "0421"}
	imp, err := New(cfg, []record.Binding{{LocationID: "0421", Zone: toronto}}, Options{HTTPClient: srv.Client(), Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var cur []byte
		n, pages := 0, 0
		for {
			p, err := imp.Fetch(context.Background(), cur)
			if err != nil {
				b.Fatal(err)
			}
			n, pages, cur = n+len(p.Records), pages+1, p.Cursor
			if !p.More {
				break
			}
		}
		b.ReportMetric(float64(n), "records")
		b.ReportMetric(float64(pages), "pages")
	}
}
