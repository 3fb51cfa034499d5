package vend_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// TestDeprecationAndSunset: Lightspeed's Deprecation and Sunset headers
// become a note (once a day while they last) and a doctor finding, while
// imports go on; a 410 Gone is an error that says the version was retired
// and what to do, in status (the error) and in doctor.
func TestDeprecationAndSunset(t *testing.T) {
	s, imp := tiny(t)
	s.Deprecate("@1767225600", "Thu, 01 Jul 2027 00:00:00 GMT")
	want := "vend: Lightspeed has deprecated API 2.0 (since 2026-01-01) and will stop answering it on 2027-07-01 (its Sunset header): imports still work; upgrade storeagent to a version that speaks a dated Lightspeed API before then"
	pages := runAll(t, imp, nil)
	recs, notes := flatten(pages)
	if len(recs) != 1 {
		t.Errorf("got %d records, want the sale imported", len(recs))
	}
	if diff := cmp.Diff([]string{want}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	// The next run within a day says nothing more; a day later, again.
	if _, notes = flatten(runAll(t, imp, pages[len(pages)-1].cursor)); len(notes) != 0 {
		t.Errorf("got notes %q on the next run, want none", notes)
	}
	s.Advance(25 * time.Hour)
	if _, notes = flatten(runAll(t, imp, pages[len(pages)-1].cursor)); !cmp.Equal(notes, []string{want}) {
		t.Errorf("got notes %q a day later, want the notice again", notes)
	}
	var found *record.Finding
	for _, f := range imp.Check(t.Context()) {
		if f.Check == "vend API version" {
			found = &f
		}
	}
	if diff := cmp.Diff(&record.Finding{Check: "vend API version", Detail: want, Fix: "upgrade storeagent to a version that speaks a dated Lightspeed API"}, found); diff != "" {
		t.Errorf("doctor (-want +got):\n%s", diff)
	}

	s.Retire()
	_, err := imp.Fetch(t.Context(), pages[len(pages)-1].cursor)
	wantErr := `vend: Lightspeed no longer serves /api/2.0/sales (410 Gone): API 2.0 has been retired (its sunset date was 2027-07-01); upgrade storeagent to a version that speaks a dated Lightspeed API (see importers/vend/README.md, "API versions")`
	if err == nil || err.Error() != wantErr || errors.Is(err, record.ErrCredentials) {
		t.Errorf("got %v\nwant %s", err, wantErr)
	}
	got := imp.Check(t.Context())
	wantF := []record.Finding{{Check: "vend API version", Detail: `vend: Lightspeed no longer serves /api/2.0/outlets (410 Gone): API 2.0 has been retired (its sunset date was 2027-07-01); upgrade storeagent to a version that speaks a dated Lightspeed API (see importers/vend/README.md, "API versions")`, Fix: "upgrade storeagent"}}
	if diff := cmp.Diff(wantF, got); diff != "" {
		t.Errorf("doctor after retirement (-want +got):\n%s", diff)
	}
}
