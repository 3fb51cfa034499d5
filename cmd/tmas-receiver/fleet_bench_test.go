package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/forward"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore/pgtest"
	"github.com/tmas/storeagent/importers/record"
)

// Fleet simulation knobs.
const (
	fleetRecords  = 10          // records each agent sends in its hourly run
	fleetSpeedup  = 6           // virtual seconds per real second: 10 virtual minutes take 100 s
	fleetInFlight = 3000        // agents running at once (the process's file limit: a spool and two sockets each)
	fleetSchedule = "2 * * * *" // the sources' default schedule: HH:02
)

// latencies records how long each POST /v1/batches took at the receiver.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		if r.URL.Path == "/v1/batches" {
			l.mu.Lock()
			l.d = append(l.d, time.Since(start))
			l.mu.Unlock()
		}
	})
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// BenchmarkFleet simulates an hour of a fleet (STOREAGENT_FLEET_AGENTS,
// default 10,000) against two receivers sharing one PostgreSQL database.
// Each agent is the agent's own forwarder (agent/forward) on its own spool,
// speaking the real contract over loopback; it runs at HH:02 plus the
// agent's real schedule offset (agent.ScheduleOffset) for spread 10m and
// for spread 0. The hour runs on a virtual clock 6× faster than real time.
// Reported: records/s delivered, p50/p99 of the receivers' batch latency,
// and the busiest virtual second's share of the hour's requests.
//
//	STOREAGENT_TEST_POSTGRES=postgres://… go test -run '^$' -bench Fleet -benchtime 1x -timeout 30m ./cmd/tmas-receiver
func BenchmarkFleet(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("STOREAGENT_FLEET_AGENTS")); err == nil && v > 0 {
		n = v
	}
	for _, spread := range []time.Duration{10 * time.Minute, 0} {
		b.Run("spread="+spread.String(), func(b *testing.B) {
			for b.Loop() {
				simulateFleet(b, n, spread)
			}
		})
	}
}

func simulateFleet(b *testing.B, n int, spread time.Duration) {
	b.StopTimer()
	defer b.StartTimer() // b.Loop wants it running; deferred first, so it runs last
	dsn := pgtest.DSN(b)
	ids := make([]string, n)
	var tokens []receiver.AgentToken
	for i := range n {
		ids[i] = fmt.Sprintf("store-%05d", i)
		tokens = append(tokens, receiver.AgentToken{Agent: ids[i], Hash: receiver.HashToken("token-" + ids[i])})
	}
	lat := &latencies{}
	var urls []string
	for range 2 {
		st, err := pgstore.Open(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		r, err := receiver.New(receiver.Config{Store: st, AgentTokens: tokens})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(lat.wrap(r.Handler()))
		defer func() { srv.Close(); r.Close() }()
		urls = append(urls, srv.URL)
	}

	// The virtual hour: when each agent's source runs.
	sched, err := agent.ParseSchedule(fleetSchedule)
	if err != nil {
		b.Fatal(err)
	}
	hour := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fire := make([]time.Time, n)
	perSecond := map[time.Time]int{}
	for i, id := range ids {
		off := agent.ScheduleOffset(id, "shopify", spread)
		// The agent's nextRun: the schedule shifted by the offset.
		fire[i] = sched.Next(hour.Add(-off)).Add(off)
		perSecond[fire[i].Truncate(time.Second)]++
	}
	busiest := 0
	for _, c := range perSecond {
		busiest = max(busiest, c)
	}
	first := slices.MinFunc(fire, func(a, b time.Time) int { return a.Compare(b) })

	dir := b.TempDir()
	slots := make(chan struct{}, fleetInFlight)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	at := time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)
	b.StartTimer()
	start := time.Now()
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start.Add(fire[i].Sub(first) / fleetSpeedup)))
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := runAgent(ctx, filepath.Join(dir, id+".db"), urls[i%2], id, at); err != nil {
				errs <- fmt.Errorf("%s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	r, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	tot, err := r.Totals(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if tot.Keys != int64(n*fleetRecords) {
		b.Fatalf("got %d records at headquarters, want %d", tot.Keys, n*fleetRecords)
	}
	b.ReportMetric(float64(n*fleetRecords)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(lat.quantile(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat.quantile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(100*float64(busiest)/float64(n), "%-busiest-second")
	b.ReportMetric(float64(len(lat.d)), "requests")
}

// runAgent is one store's hourly run: its records committed to its own
// spool, then delivered by the agent's forwarder until none is queued.
func runAgent(ctx context.Context, path, url, id string, at time.Time) error {
	sp, _, err := spool.Open(spool.Options{Path: path, NoSync: true})
	if err != nil {
		return err
	}
	defer sp.Close()
	rs := make([]record.Record, 0, fleetRecords)
	for j := range fleetRecords {
		rs = append(rs, record.Record{Type: record.TypeTransaction, Key: fmt.Sprintf("shopify:%s:order:%d", id, j), Source: "shopify", LocationID: id,
			Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: at.Add(time.Duration(j) * time.Minute), Receipt: fmt.Sprintf("#%d", j),
				NetSales: record.MustMoney("12.34"), Tax: record.MustMoney("1.60"), Currency: "CAD", Items: 2, Paid: true}})
	}
	if _, err := sp.Commit(spool.Change{Records: rs}); err != nil {
		return err
	}
	f, err := forward.New(forward.Config{URL: url, Token: record.NewSecret("token-" + id), AgentID: id, MaxAge: time.Millisecond}, sp, nil)
	if err != nil {
		return err
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = f.Run(fctx); close(done) }()
	for sp.Stats().Queued > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done
	return nil
}
