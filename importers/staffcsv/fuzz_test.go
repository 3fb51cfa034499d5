package staffcsv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tmas/storeagent/importers/record"
)

// FuzzImport feeds arbitrary bytes to Import: it must never panic, a refusal
// must emit nothing and explain itself, and an accepted file must give one
// valid record per row, the same again when resumed half way. Seeds are in
// testdata/fuzz/FuzzImport (go test -run TestWriteFuzzSeeds -update rewrites
// the ones made from the sample files).
func FuzzImport(f *testing.F) {
	plain := baseOptions(f)
	bound := baseOptions(f)
	bound.BoundLocation, bound.DateOrder, bound.MaxReportedLines = "0421", MDY, 3
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{plain, bound} {
			var keys []string
			sum, err := Import(bytes.NewReader(data), opts, 0, func(r record.Record) error {
				checkFuzzedRecord(t, r, opts)
				keys = append(keys, r.Key)
				return nil
			})
			var ref *Refusal
			switch {
			case errors.As(err, &ref):
				checkFuzzedRefusal(t, ref, keys, opts)
			case err != nil:
				t.Fatalf("Import: %v", err)
			default:
				checkFuzzedResume(t, data, opts, sum, keys)
			}
		}
	})
}

// checkFuzzedRecord: every record FuzzImport gets is valid, its hours
// within a day, its times in the store's zone, its key naming it.
func checkFuzzedRecord(t *testing.T, r record.Record, opts Options) {
	if err := r.Validate(); err != nil {
		t.Errorf("invalid record: %v", err)
	}
	if h := r.Hours.Decimal(); h.IsNegative() || h.GreaterThan(decimal.NewFromInt(24)) {
		t.Errorf("record %s: hours %s", r.Key, r.Hours)
	}
	if r.ClockIn.Location() != opts.Locations[r.LocationID] {
		t.Errorf("record %s: clock_in %v is not in the store's zone", r.Key, r.ClockIn)
	}
	if !strings.HasPrefix(r.Key, "csv:"+r.LocationID+":"+r.EmployeeID+":") {
		t.Errorf("record %s: key does not name location %s and employee %s", r.Key, r.LocationID, r.EmployeeID)
	}
}

// checkFuzzedRefusal: a refused file emitted nothing and explains itself,
// within the bound of lines listed.
func checkFuzzedRefusal(t *testing.T, ref *Refusal, keys []string, opts Options) {
	if keys != nil {
		t.Fatalf("a refused file emitted %d records", len(keys))
	}
	if len(ref.Problems) == 0 || ref.Error() == "" || !strings.Contains(ref.Report("f.csv"), ref.Problems[0].String()) {
		t.Fatalf("refusal without problems: %#v", ref)
	}
	if ref.BadLines == 0 {
		return
	}
	lines := map[int]bool{}
	for _, p := range ref.Problems {
		lines[p.Line] = true
	}
	if len(lines) > opts.MaxReportedLines && opts.MaxReportedLines > 0 {
		t.Fatalf("listed %d bad lines, want at most %d", len(lines), opts.MaxReportedLines)
	}
}

// checkFuzzedResume: an accepted file gave one record per row, and the same
// records again from half way when resumed.
func checkFuzzedResume(t *testing.T, data []byte, opts Options, sum Summary, keys []string) {
	if len(keys) != sum.Rows || sum.Records != sum.Rows {
		t.Fatalf("got %d records, summary %+v", len(keys), sum)
	}
	half := len(keys) / 2
	var rest []string
	if _, err := Import(bytes.NewReader(data), opts, half, func(r record.Record) error {
		rest = append(rest, r.Key)
		return nil
	}); err != nil {
		t.Fatalf("resumed Import: %v", err)
	}
	if fmt.Sprint(rest) != fmt.Sprint(keys[half:]) {
		t.Fatalf("resumed at %d: got %q, want %q", half, rest, keys[half:])
	}
}

// TestWriteFuzzSeeds writes the sample files (those under 8 KiB) as seeds of
// FuzzImport, in the corpus format of go test; it runs only with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seeds")
	}
	files, err := filepathGlob(t)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzImport")
	for _, s := range files {
		if len(s.data) > 8<<10 {
			continue
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.data)
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(s.name, ".csv")), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
