package shopify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// BenchmarkBackfill60Days backfills 60 days of a busy shop (50,000 orders
// at two stores, one in ten refunded the next day) from a Standard-plan
// double (bucket 2000, 100 points/s, 250 ms per request) on a virtual clock:
// the pacing waits cost no real time and are measured exactly.
//
// It reports the share of the rate limit the paged backfill uses
// (points charged ÷ points the bucket made available: the initial 2000 plus
// 100/s of virtual time; the target is ≥ 90 %), the virtual hours the
// backfill takes, and Fetch failures (must be 0). The bulk variant reads the
// same window with a bulk operation. The -half-online variants make half
// of each store's orders online orders (sourceName web), which the
// importer must not pay for; points/POS-order and POS-orders/s say what an
// imported order costs.
//
//	go test -run '^$' -bench Backfill60Days -benchtime 1x ./importers/shopify/
func BenchmarkBackfill60Days(b *testing.B) {
	for _, name := range []string{"paged", "bulk", "paged-half-online", "bulk-half-online"} {
		mode, online, _ := strings.Cut(name, "-")
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				bs := newBenchShop(b, benchOrders, online != "")
				imp, err := New(Config{Shop: "acme", Token: "shpat_bench", BaseURL: bs.srv.URL, DisableBulk: mode == "paged", PageSize: 250},
					bs.bindings, Options{HTTPClient: bs.srv.Client(), Now: bs.clk.Now, Sleep: bs.clk.Sleep, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				cur, err := imp.BackfillCursor(now0.Add(-60*24*time.Hour), now0)
				if err != nil {
					b.Fatal(err)
				}
				start := bs.clk.Now()
				b.StartTimer()
				failures, records := fetchAll(b, imp, cur)
				b.StopTimer()
				st := bs.srv.Stats()
				elapsed := bs.clk.Now().Sub(start).Seconds()
				available := 20*benchRate + benchRate*elapsed
				b.ReportMetric(100*st.PointsCharged/available, "%points-used")
				b.ReportMetric(st.PointsCharged/elapsed, "points/s")
				b.ReportMetric(elapsed/3600, "virtual-h")
				b.ReportMetric(float64(failures), "failures")
				b.ReportMetric(float64(st.Throttled), "throttled")
				b.ReportMetric(float64(records), "records")
				b.ReportMetric(float64(st.Requests), "requests")
				b.ReportMetric(float64(bs.pos)/elapsed, "POS-orders/s")
				b.ReportMetric(st.PointsCharged/float64(bs.pos), "points/POS-order")
				if records != bs.want {
					b.Errorf("got %d records, want %d (%d POS sales and their returns)", records, bs.want, bs.pos)
				}
				b.StartTimer()
			}
		})
	}
}

// benchShop is the benchmark's shop: orders at two stores over 60 days,
// one in ten refunded the next day, half of them online when online.
type benchShop struct {
	clk       *shopifytest.VirtualClock
	srv       *shopifytest.Server
	bindings  []record.Binding
	want, pos int // records expected, POS orders
}

func newBenchShop(b *testing.B, orders int, online bool) *benchShop {
	bs := &benchShop{clk: shopifytest.NewVirtualClock(now0)}
	bs.srv = shopifytest.NewServer(b, shopifytest.Options{Clock: bs.clk, BucketSize: 20 * benchRate, RestoreRate: benchRate,
		Latency: 250 * time.Millisecond, SearchLag: 5 * time.Second, BulkDuration: 4 * time.Minute})
	bs.srv.AddToken("shpat_bench")
	tor := zone(b, "America/Toronto")
	locs := []string{bs.srv.AddLocation("Queen St", true), bs.srv.AddLocation("King St", true)}
	bs.bindings = []record.Binding{{LocationID: "0421", SourceID: locs[0], Zone: tor}, {LocationID: "0422", SourceID: locs[1], Zone: tor}}
	span := 60*24*time.Hour - 2*time.Hour
	for k := range orders {
		at := now0.Add(-60 * 24 * time.Hour).Add(time.Hour + time.Duration(float64(span)*float64(k)/float64(orders)))
		source := "pos"
		if online && k%4 >= 2 { // half the orders of each store are online orders
			source = "web"
		}
		id := bs.srv.AddOrder(shopifytest.Order{Location: locs[k%2], ProcessedAt: at, Source: source,
			Lines: []shopifytest.Line{
				{Title: "Tea", SKU: "TEA", Qty: 1 + k%3, Price: "4.50", Tax: fmt.Sprintf("%.2f", 0.585*float64(1+k%3))},
				{Title: "Cup", SKU: "CUP", Qty: 1, Price: "12.00", Discount: "1.00", Tax: "1.43"},
			}})
		refunded := k%10 == 0 && at.Add(24*time.Hour).Before(now0.Add(-time.Hour))
		if refunded {
			bs.srv.Refund(id, shopifytest.Refund{At: at.Add(24 * time.Hour), Lines: []shopifytest.ReturnLine{{Line: 1, Qty: 1}}})
		}
		if source == "pos" {
			bs.pos++
			bs.want += 1 + b2i(refunded)
		}
	}
	return bs
}

// fetchAll fetches until More is false, counting failures (each retried).
func fetchAll(b *testing.B, imp *Importer, cur []byte) (failures, records int) {
	for {
		p, err := imp.Fetch(context.Background(), cur)
		if err != nil {
			failures++
			if failures > 10 {
				b.Fatalf("Fetch keeps failing: %v", err)
			}
			continue
		}
		records += len(p.Records)
		cur = p.Cursor
		if !p.More {
			return failures, records
		}
	}
}

// benchOrders is 50,000 unless STOREAGENT_BENCH_ORDERS says otherwise.
var benchOrders = func() int {
	if n, err := strconv.Atoi(os.Getenv("STOREAGENT_BENCH_ORDERS")); err == nil && n > 0 {
		return n
	}
	return 50000
}()

// benchRate is the restore rate in points/s: 100 (Standard plan, bucket
// 2000) unless STOREAGENT_BENCH_RATE says otherwise (1000: Plus, bucket
// 20,000).
var benchRate = func() float64 {
	if n, err := strconv.Atoi(os.Getenv("STOREAGENT_BENCH_RATE")); err == nil && n > 0 {
		return float64(n)
	}
	return 100
}()
