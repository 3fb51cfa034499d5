package shopify

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

var moneyEq = cmp.Comparer(func(a, b record.Money) bool { return a.Equal(b) })

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// logBuffer collects log output for assertions (and to prove no secret is
// ever logged).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a double on a virtual clock with an importer pointed at it.
type rig struct {
	clk  *shopifytest.VirtualClock
	srv  *shopifytest.Server
	logs *logBuffer
}

func newRig(t testing.TB, now time.Time, opts shopifytest.Options) *rig {
	t.Helper()
	clk := shopifytest.NewVirtualClock(now)
	opts.Clock = clk
	srv := shopifytest.NewServer(t, opts)
	srv.AddToken("shpat_legacy")
	return &rig{clk: clk, srv: srv, logs: &logBuffer{}}
}

func (r *rig) importer(t testing.TB, cfg Config, bindings []record.Binding) *Importer {
	t.Helper()
	if cfg.Shop == "" {
		cfg.Shop = "acme"
	}
	if !cfg.TokenRef().IsSet() && cfg.ClientID == "" {
		cfg.Token = "shpat_legacy"
	}
	cfg.BaseURL = r.srv.URL
	imp, err := New(cfg, bindings, Options{
		HTTPClient: r.srv.Client(), Now: r.clk.Now, Sleep: r.clk.Sleep,
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// run calls Fetch until More is false and returns every record, every note
// and the last cursor. It fails the test on an error.
func run(t testing.TB, imp *Importer, cursor []byte) ([]record.Record, []string, []byte) {
	t.Helper()
	var recs []record.Record
	var notes []string
	for n := 0; ; n++ {
		if n > 100000 {
			t.Fatal("Fetch never said More=false")
		}
		p, err := imp.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		recs = append(recs, p.Records...)
		notes = append(notes, p.Notes...)
		for _, c := range p.Counted {
			notes = append(notes, fmt.Sprintf("%d %s", c.Count, c.Text))
		}
		cursor = p.Cursor
		if !p.More {
			return recs, notes, cursor
		}
	}
}

// latest keeps the highest revision of each key, as the agent's buffer
// does (a later record with the same RevHint is the newer reading).
func latest(recs []record.Record) map[string]record.Record {
	out := map[string]record.Record{}
	for _, r := range recs {
		if prev, ok := out[r.Key]; !ok || r.RevHint >= prev.RevHint {
			out[r.Key] = r
		}
	}
	return out
}

func keys(m map[string]record.Record) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hourTotals sums records by location and local hour of occurred_at, the
// way TMAS reads them: returns count as transactions.
type hourTotal struct {
	Net          string
	Transactions int64
	Items        int64
}

func hourTotals(recs map[string]record.Record) map[string]hourTotal {
	sums := map[string]record.Money{}
	out := map[string]hourTotal{}
	for _, r := range recs {
		if r.Transaction == nil {
			continue
		}
		t := r.OccurredAt
		hour := t.Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
		k := r.LocationID + " " + hour.Format("2006-01-02T15:04Z07:00")
		h := out[k]
		sums[k] = sums[k].Add(r.NetSales)
		h.Transactions++
		h.Items += r.Items
		out[k] = h
	}
	for k, h := range out {
		h.Net = sums[k].Round2().String()
		out[k] = h
	}
	return out
}
