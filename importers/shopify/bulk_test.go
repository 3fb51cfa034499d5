package shopify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// bulkShop has 30 orders over 30 days: a 30-day backfill is a bulk export.
func bulkShop(t *testing.T, opts shopifytest.Options) (*rig, []record.Binding) {
	t.Helper()
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, opts)
	loc := r.srv.AddLocation("Queen St", true)
	for k := range 30 {
		o := r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now0.AddDate(0, 0, -k-1),
			Lines: []shopifytest.Line{{Title: "Tea", Qty: 2, Price: "5.00", Tax: "1.30"}}})
		if k%10 == 0 {
			r.srv.Refund(o, shopifytest.Refund{At: now0.AddDate(0, 0, -k).Add(-time.Hour), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
		}
	}
	return r, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor}}
}

func backfill30(t *testing.T, imp *Importer) []byte {
	cur, err := imp.BackfillCursor(now0.AddDate(0, 0, -31), now0)
	if err != nil {
		t.Fatal(err)
	}
	return cur
}

func TestBulkBackfill(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      shopifytest.Options
		prepare   func(*rig)
		version   string // api_version; default 2026-10 (five exports at once)
		wantNotes []string
		wantBulk  int
	}{
		{name: "grouped result", opts: shopifytest.Options{BulkDuration: 3 * time.Minute}, wantBulk: 1},
		{name: "another export running beside", prepare: func(r *rig) { r.srv.StartForeignBulk(20 * time.Minute) }, wantBulk: 1},
		{name: "another export running first, one at a time before 2026-01", version: "2025-10",
			prepare: func(r *rig) { r.srv.StartForeignBulk(20 * time.Minute) }, wantBulk: 1},
		{name: "export failed", prepare: func(r *rig) { r.srv.FailNextBulk("INTERNAL_SERVER_ERROR") }, wantBulk: 1,
			wantNotes: []string{"the bulk export of orders updated from 2026-10-23 12:00 to 2026-11-23 11:58 ended FAILED (INTERNAL_SERVER_ERROR): reading them page by page instead"}},
		{name: "ungrouped result", opts: shopifytest.Options{UngroupedBulk: true}, wantBulk: 1,
			wantNotes: []string{"the bulk export of orders updated from 2026-10-23 12:00 to 2026-11-23 11:58 result came back ungrouped: reading them page by page instead"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, b := bulkShop(t, tc.opts)
			if tc.prepare != nil {
				tc.prepare(r)
			}
			imp := r.importer(t, Config{PageSize: 7, APIVersion: tc.version}, b)
			recs, notes, _ := run(t, imp, backfill30(t, imp))
			if got := netOf(recs); got != "285.00" {
				t.Errorf("got net %s, want 285.00 (30 sales of 10.00, 3 returns of 5.00)", got)
			}
			if n := len(latest(recs)); n != 33 {
				t.Errorf("got %d records, want 33", n)
			}
			if d := cmp.Diff(tc.wantNotes, notes); d != "" {
				t.Errorf("notes (-want +got):\n%s", d)
			}
			if got := r.srv.Stats().BulkRuns; got != tc.wantBulk {
				t.Errorf("got %d bulk operations, want %d", got, tc.wantBulk)
			}
		})
	}
}

// A crash after starting an export but before saving its id: the next run
// finds its own export running and adopts it instead of waiting or starting
// another.
func TestBulkAdoptsItsOwnExportAfterACrash(t *testing.T) {
	r, b := bulkShop(t, shopifytest.Options{BulkDuration: time.Hour})
	imp := r.importer(t, Config{}, b)
	cur := backfill30(t, imp)
	p, err := imp.Fetch(context.Background(), cur)
	if err != nil || !p.More || len(p.Records) != 0 {
		t.Fatalf("got %d records, more=%v, %v: want the export started", len(p.Records), p.More, err)
	}
	var started cursorState
	_ = json.Unmarshal(p.Cursor, &started)
	// p.Cursor is lost in the crash; the agent retries with cur.
	r.clk.Advance(time.Minute)
	p2, err := imp.Fetch(context.Background(), cur)
	if err != nil {
		t.Fatal(err)
	}
	var adopted cursorState
	_ = json.Unmarshal(p2.Cursor, &adopted)
	if adopted.Bulk == nil || adopted.Bulk.ID != started.Bulk.ID {
		t.Fatalf("got cursor %s, want the running export %s adopted", p2.Cursor, started.Bulk.ID)
	}
	recs, _, _ := run(t, imp, p2.Cursor)
	if got := netOf(recs); got != "285.00" {
		t.Errorf("got net %s, want 285.00", got)
	}
	if got := r.srv.Stats().BulkRuns; got != 1 {
		t.Errorf("got %d bulk operations, want 1", got)
	}
}

// An export that outlasts the wait fails the run with an explanation, and
// the next run, from the same cursor, keeps waiting for it.
func TestBulkStillRunning(t *testing.T) {
	r, b := bulkShop(t, shopifytest.Options{BulkDuration: 3 * time.Hour})
	imp := r.importer(t, Config{}, b)
	p, err := imp.Fetch(context.Background(), backfill30(t, imp))
	if err != nil {
		t.Fatal(err)
	}
	var st cursorState
	_ = json.Unmarshal(p.Cursor, &st)
	_, err = imp.Fetch(context.Background(), p.Cursor)
	want := "shopify: the bulk export " + st.Bulk.ID + " is still running after 2h0m0s: the next run keeps waiting for it"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	recs, _, _ := run(t, imp, p.Cursor)
	if got := netOf(recs); got != "285.00" {
		t.Errorf("got net %s, want 285.00", got)
	}
	if !strings.Contains(r.srv.LastQuery(), "StoreagentBulkStatus") {
		t.Errorf("got last query %q, want the status poll", r.srv.LastQuery())
	}
}

// A bulk export's lines come in no useful order: its pages say nothing of
// how far the window is read, until the last, which says its end.
func TestBulkReached(t *testing.T) {
	r, b := bulkShop(t, shopifytest.Options{BulkDuration: 3 * time.Minute})
	imp := r.importer(t, Config{PageSize: 7}, b)
	cur := backfill30(t, imp)
	var got []time.Time
	for {
		p, err := imp.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Reached)
		if cur = p.Cursor; !p.More {
			break
		}
	}
	want := make([]time.Time, len(got))
	want[len(want)-1] = now0.Add(-2 * time.Minute).UTC()
	if d := cmp.Diff(want, got); d != "" || len(got) < 3 {
		t.Errorf("reached over %d pages (-want +got):\n%s", len(got), d)
	}
	if got := r.srv.Stats().BulkRuns; got != 1 {
		t.Errorf("got %d bulk operations, want 1", got)
	}
}
