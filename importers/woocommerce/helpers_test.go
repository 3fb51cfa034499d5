package woocommerce

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

const (
	testKey    = "ck_test0123456789"
	testSecret = "cs_test9876543210"
)

var toronto = mustZone("America/Toronto")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// clock is a settable clock with a recording sleep that never waits.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// fixture is a double with one key, an importer on it, and its clock.
type fixture struct {
	srv *woocommercetest.Server
	imp *Importer
	clk *clock
}

func newFixture(t *testing.T, opts woocommercetest.Options, edit func(*Config)) *fixture {
	t.Helper()
	srv := woocommercetest.NewServer(t, opts)
	srv.AddKey(testKey, testSecret, woocommercetest.Read)
	clk := &clock{now: woocommercetest.DefaultNow}
	cfg := Config{URL: "https://shop.example.com", BaseURL: srv.URL, ConsumerKey: testKey, ConsumerSecret: testSecret, Location: "0421"}
	if edit != nil {
		edit(&cfg)
	}
	imp, err := New(cfg, []record.Binding{{LocationID: "0421", Zone: toronto, Active: true}, {LocationID: "0422", Zone: toronto, Active: true}},
		Options{HTTPClient: srv.Client(), Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, imp: imp, clk: clk}
}

// run fetches pages until More is false, from cursor; it returns every
// record, note and the final cursor.
func (f *fixture) run(t *testing.T, cursor []byte) ([]record.Record, []string, []byte) {
	t.Helper()
	var recs []record.Record
	var notes []string
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("more than 1000 pages: the cursor does not advance")
		}
		p, err := f.imp.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		recs = append(recs, p.Records...)
		notes = append(notes, p.Notes...)
		cursor = p.Cursor
		if !p.More {
			return recs, notes, cursor
		}
	}
}

// latest keeps, per key, the last record seen (what headquarters keeps:
// the buffer numbers later changes higher).
func latest(recs []record.Record) map[string]record.Record {
	out := map[string]record.Record{}
	for _, r := range recs {
		out[r.Key] = r
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func decodeCursor(t *testing.T, raw []byte) cursor {
	t.Helper()
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
