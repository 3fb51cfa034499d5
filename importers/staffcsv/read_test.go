package staffcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll reads text with a row reader whose rows may hold max bytes and
// returns each row as "line: fields" or "line: error", then the error that
// stopped it.
func readAll(t *testing.T, r io.Reader, max int64) ([]string, error) {
	t.Helper()
	rr := newRowReader(r, ',')
	rr.lim.max = max
	var got []string
	for {
		rec, err := rr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return got, nil
		case errors.As(err, &pe):
			got = append(got, strings.Join([]string{itoa(pe.StartLine), pe.Err.Error()}, ": "))
		case err != nil:
			return got, err
		default:
			got = append(got, itoa(rr.Line())+": "+strings.Join(rec, "|"))
		}
	}
}

func itoa(n int) string { return fmt.Sprintf("%02d", n) }

// TestRows checks what the importer relies on in encoding/csv as set up:
// rows start on their physical line (a quoted field may span lines), blank
// lines are skipped, bad quotes are errors on the row's line and reading goes
// on, the same read whole and one byte at a time.
func TestRows(t *testing.T) {
	text := "a,b\r\n\r\n1,\"x\ny\",2\n\"q\"\"q\",z\nbad\"quote,1\n\"end\"x,2\n3,4\r"
	want := []string{"01: a|b", "03: 1|x\ny|2", "05: q\"q|z", "06: bare \" in non-quoted-field", "07: extraneous or missing \" in quoted-field", "08: 3|4"}
	for how, r := range map[string]io.Reader{
		"whole":            strings.NewReader(text),
		"a byte at a time": iotest.OneByteReader(strings.NewReader(text)),
	} {
		got, err := readAll(t, r, maxRowBytes)
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", how, diff)
		}
	}
}

// TestRowsTooLong checks the bound on one row: a row of max bytes (its line
// break included) is read, one byte more fails with errRowTooLong after the
// rows before it, and so does a line, or a quoted field over many lines,
// far longer than the limit (without reading the rest of the text).
func TestRowsTooLong(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		err        error
	}{
		{"a row of max bytes", "a,b\n" + strings.Repeat("x", 63) + "\n", []string{"01: a|b", "02: " + strings.Repeat("x", 63)}, nil},
		{"a row of max+1 bytes", "a,b\n" + strings.Repeat("x", 64) + "\n", []string{"01: a|b"}, errRowTooLong},
		{"one long line", "a,b\n" + strings.Repeat("x", 100_000) + "\n", []string{"01: a|b"}, errRowTooLong},
		{"a quote never closed", "a,b\n\"" + strings.Repeat("x\n", 100_000), []string{"01: a|b"}, errRowTooLong},
	} {
		got, err := readAll(t, strings.NewReader(tc.text), 64)
		if err != tc.err {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// emptyReader returns nothing, forever, without an error.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestRowsNoProgress checks that a reader returning nothing forever ends
// the reading with io.ErrNoProgress instead of spinning (bufio gives up
// after 100 empty reads).
func TestRowsNoProgress(t *testing.T) {
	rr := newRowReader(io.MultiReader(strings.NewReader("a,b\n"), emptyReader{}), ',')
	if rec, err := rr.Read(); err != nil || !slices.Equal(rec, []string{"a", "b"}) {
		t.Fatalf("first row %q, %v", rec, err)
	}
	if _, err := rr.Read(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}
