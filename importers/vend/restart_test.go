package vend_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
)

// TestRestartFromEveryCursor restarts the run from each committed cursor (as
// after a crash that kept pages 0..k) and checks that the records headquarters
// ends with, by key at the highest rev, are exactly those of a run without a
// crash: nothing skipped, nothing counted twice.
func TestRestartFromEveryCursor(t *testing.T) {
	sc := buildScenario(t)
	sc.s.SetShortPages(true)
	small := func(c *vend.Config) { c.PageSize = 3 }
	full := runAll(t, sc.importer(t, small), nil)
	all, _ := flatten(full)
	want := latest(all)
	if len(full) < 6 {
		t.Fatalf("got %d pages, want a run of several pages", len(full))
	}
	for k := range full {
		var kept []record.Record
		for _, p := range full[:k+1] {
			kept = append(kept, p.records...)
		}
		// A fresh importer, as after a restart, from the cursor of page k.
		rest := runAll(t, sc.importer(t, small), full[k].cursor)
		got, _ := flatten(rest)
		if diff := cmp.Diff(want, latest(append(kept, got...)), moneyOpts); diff != "" {
			t.Errorf("restart after page %d (-want +got):\n%s", k, diff)
		}
	}
	// And a restart before anything was committed reads the same.
	again, _ := flatten(runAll(t, sc.importer(t, small), nil))
	if diff := cmp.Diff(want, latest(again), moneyOpts); diff != "" {
		t.Errorf("second first run (-want +got):\n%s", diff)
	}
}

// TestBackfillWindow walks exactly [since, until) and ends, leaving the main
// cursor alone.
func TestBackfillWindow(t *testing.T) {
	sc := buildScenario(t)
	imp := sc.importer(t, nil)
	since, until := utc(t, "2026-03-08T07:00:00Z"), utc(t, "2026-03-09T02:00:00Z")
	cur, err := imp.BackfillCursor(since, until)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := flatten(runAll(t, imp, cur))
	var got []string
	for _, r := range latest(recs) {
		var at time.Time
		if r.Shift != nil {
			at = r.ClockIn
		} else {
			at = r.OccurredAt
		}
		if at.Before(since) || !at.Before(until) {
			t.Errorf("got %s at %s, outside the window", r.Key, at)
		}
		got = append(got, r.Key)
	}
	var want []string
	for _, name := range []string{"n2 after the DST jump", "n3 return of n1", "n4 on account", "n8 voided later", "a1 three decimals", "a2 discounted"} {
		want = append(want, "vend:acme:sale:"+sc.byName(name).id)
	}
	want = append(want, "vend:acme:shift:"+sc.shiftByName("bob by his sales").id)
	if diff := cmp.Diff(want, got, sortStrings); diff != "" {
		t.Errorf("backfill keys (-want +got):\n%s", diff)
	}
	// A finished backfill cursor stays finished.
	pages := runAll(t, imp, cur)
	p, err := imp.Fetch(t.Context(), pages[len(pages)-1].cursor)
	if err != nil || p.More || len(p.Records) != 0 {
		t.Errorf("got %d records, more=%v, %v from a finished backfill; want none", len(p.Records), p.More, err)
	}
	if _, err := imp.BackfillCursor(until, since); err == nil || err.Error() != "vend: backfill: since 2026-03-09T02:00:00Z is not before until 2026-03-08T07:00:00Z" {
		t.Errorf("got %v", err)
	}
}

// TestDefaultLocation places a shift no outlet can be found for at
// vend.default_location, in that location's zone.
func TestDefaultLocation(t *testing.T) {
	sc := buildScenario(t)
	imp := sc.importer(t, func(c *vend.Config) { c.DefaultLocation = "0421" })
	recs, notes := flatten(runAll(t, imp, nil))
	r, ok := latest(recs)["vend:acme:shift:"+sc.shiftByName("carol nowhere").id]
	if !ok || r.Shift == nil {
		t.Fatalf("got no shift for Carol; notes %q", notes)
	}
	got := []string{r.LocationID, r.EmployeeName, r.ClockIn.Format(time.RFC3339), r.ClockOut.Format(time.RFC3339), r.Hours.String()}
	want := []string{"0421", "Carol", "2026-03-10T01:00:00+13:00", "2026-03-10T05:00:00+13:00", "4.00"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Carol's shift (-want +got):\n%s", diff)
	}
	for _, n := range notes {
		if strings.Contains(n, "Carol") {
			t.Errorf("got note %q, want none about Carol", n)
		}
	}
}
