package agent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// TestRunNotesOneLinePerRun: a note repeated on every page is logged once
// per run, and counted notes are added up across the pages.
func TestRunNotesOneLinePerRun(t *testing.T) {
	var n runNotes
	for range 3 {
		n.add(record.Page{Notes: []string{"shift 7 has no outlet"},
			Counted: []record.CountedNote{{Count: 2, Text: "POS order(s) at Shopify location 9 not imported"}}})
	}
	n.add(record.Page{Counted: []record.CountedNote{{Count: 1, Text: "POS order(s) at Shopify location 8 not imported"}}})
	a := &Agent{now: time.Now}
	n.log(a, "shopify")
	var got []string
	for _, e := range a.logEntries {
		got = append(got, e.Source+" "+string(e.Level)+" "+e.Text)
	}
	want := []string{ // newest first
		"shopify note 1 POS order(s) at Shopify location 8 not imported",
		"shopify note 6 POS order(s) at Shopify location 9 not imported",
		"shopify note shift 7 has no outlet",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("import log (-want +got):\n%s", d)
	}
}
