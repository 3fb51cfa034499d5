package forward

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/record"
)

// BenchmarkDrain measures how fast a backlog drains to the reference
// receiver over loopback: STOREAGENT_DRAIN_RECORDS records (default 1M)
// queued first, then delivered in 10,000-line gzip batches.
//
//	go test -run '^$' -bench Drain -benchtime 1x ./agent/forward
func BenchmarkDrain(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("STOREAGENT_DRAIN_RECORDS")); err == nil && v > 0 {
		n = v
	}
	for b.Loop() {
		b.StopTimer()
		sp, _, err := spool.Open(spool.Options{Path: filepath.Join(b.TempDir(), "buffer.db")})
		if err != nil {
			b.Fatal(err)
		}
		at := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
		for i := 0; i < n; i += 10000 {
			rs := make([]record.Record, 0, 10000)
			for j := i; j < min(i+10000, n); j++ {
				rs = append(rs, record.Record{Type: record.TypeTransaction, Key: fmt.Sprintf("shopify:acme:order:%d", j), Source: "shopify", LocationID: "0421",
					Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: at.Add(time.Duration(j) * time.Second), Receipt: fmt.Sprintf("#%d", j),
						NetSales: record.MustMoney("12.34"), Tax: record.MustMoney("1.60"), Currency: "CAD", Items: 2, Paid: true}})
			}
			if _, err := sp.Commit(spool.Change{Records: rs}); err != nil {
				b.Fatal(err)
			}
		}
		hq, err := receiver.New(receiver.Config{Tokens: []string{"t"}})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(hq.Handler())
		f, err := New(Config{URL: srv.URL, Token: record.NewSecret("t"), AgentID: "bench", MaxAge: time.Millisecond}, sp, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { f.Run(ctx); close(done) }()
		for sp.Stats().Queued > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		if got := hq.Stats().Keys; got != int64(n) {
			b.Fatalf("got %d records at the receiver, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
		srv.Close()
		hq.Close()
		sp.Close()
		b.StartTimer()
	}
}
