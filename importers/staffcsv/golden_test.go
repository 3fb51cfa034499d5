package staffcsv

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the tests, on any machine

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/csv/golden")

// sampleDir holds the sample files shared with the end-to-end tests.
const sampleDir = "../../testdata/csv"

var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// baseOptions are the options of the sample files: locations 0421 (Toronto)
// and 0422 (Paris), Now and ObservedAt 2026-11-21T12:00:00Z.
func baseOptions(t testing.TB) Options {
	return Options{
		Locations:  map[string]*time.Location{"0421": mustZone(t, "America/Toronto"), "0422": mustZone(t, "Europe/Paris")},
		Now:        fixedNow,
		ObservedAt: fixedNow,
	}
}

// sampleOptions applies the naming convention of testdata/csv (see its
// README): "bound-0421" in a name means an FTP user bound to 0421, "mdy"
// MM/DD/YYYY dates, "size-limit" a 1000-byte limit.
func sampleOptions(t testing.TB, name string) Options {
	o := baseOptions(t)
	if strings.Contains(name, "bound-0421") {
		o.BoundLocation = "0421"
	}
	if strings.Contains(name, "mdy") {
		o.DateOrder = MDY
	}
	if strings.Contains(name, "size-limit") {
		o.MaxSize = 1000
	}
	return o
}

// outcome runs Import and renders what the agent would keep: the NDJSON of
// the records, or the report of the refusal.
func outcome(t testing.TB, name string, data []byte, opts Options) (string, []record.Record) {
	t.Helper()
	var recs []record.Record
	var out bytes.Buffer
	_, err := Import(bytes.NewReader(data), opts, 0, func(r record.Record) error {
		if err := r.Validate(); err != nil {
			t.Errorf("emitted an invalid record: %v", err)
		}
		line, err := r.MarshalLine()
		if err != nil {
			return err
		}
		out.Write(line)
		out.WriteByte('\n')
		recs = append(recs, r)
		return nil
	})
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		if len(recs) > 0 {
			t.Errorf("refused file emitted %d records", len(recs))
		}
		return ref.Report(name), nil
	case err != nil:
		t.Fatalf("Import: %v", err)
	}
	return out.String(), recs
}

func TestSampleFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample files in %s (%v)", sampleDir, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, recs := outcome(t, name, data, sampleOptions(t, name))
			if strings.HasPrefix(name, "accepted-") && !strings.Contains(name, "header-only") && len(recs) == 0 {
				t.Errorf("got no records from an accepted sample:\n%s", got)
			}
			if strings.HasPrefix(name, "refused-") && recs != nil {
				t.Errorf("got records from a refused sample")
			}
			golden := filepath.Join(sampleDir, "golden", strings.TrimSuffix(name, ".csv")+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("got a different outcome than %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestSampleREADME checks that the README of testdata/csv lists every sample
// file, so that the end-to-end tests that reuse them know what to expect.
func TestSampleREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(sampleDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(sampleDir, "*.csv"))
	for _, f := range files {
		if !bytes.Contains(readme, []byte("`"+filepath.Base(f)+"`")) {
			t.Errorf("README.md does not list %s", filepath.Base(f))
		}
	}
}

type sample struct {
	name string
	data []byte
}

func filepathGlob(t *testing.T) ([]sample, error) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.csv"))
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sample{filepath.Base(f), data})
	}
	return out, nil
}
