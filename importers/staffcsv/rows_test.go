package staffcsv

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzRows holds the row reader to encoding/csv (one-byte delimiter,
// FieldsPerRecord -1, LazyQuotes false): for any text, with each delimiter,
// read whole, a byte at a time and through a tiny buffer, both give the same
// rows, fields, start lines and errors.
func FuzzRows(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n",
		"a;b\r\n\r\n1;2\r\n",
		"a,\"b\nc\",d\n\"x\"\"y\",z",
		"a,b\"c,d\n1,2\n",
		"\"a\"b,c\n1,2\n",
		"a,\"b\n",
		"a,b\r",
		"\r\n\n\r",
		"a\tb\t\"c\td\"\n",
		"\"\"\n\"\",\"\"\n,\n",
		"a,\"b\r\nc\"\r\nd\r\r\n",
		"0421,E1,-,--,-5,,-\n0421;-;-\t-\n", // '-' is ',' + 1: a trap for word-at-a-time compares
		"12345678,\"12345678\",1234567\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, delim := range []byte{',', ';', '\t'} {
			want := csvRows(data, delim)
			for how, r := range map[string]io.Reader{
				"whole":            bytes.NewReader(data),
				"a byte at a time": iotest.OneByteReader(bytes.NewReader(data)),
			} {
				got, tooLong := ourRows(t, r, delim, maxRowBytes)
				if tooLong && len(got) <= len(want) { // a row over the limit: the rows before it must agree
					want = want[:len(got)]
				}
				if !slices.EqualFunc(got, want, row.equal) {
					t.Fatalf("delimiter %q, text %q, read %s:\n got %v\nwant %v", delim, data, how, got, want)
				}
			}
		}
	})
}

// row is one Read's result.
type row struct {
	fields []string // nil with an error
	line   int
	err    error // nil, csv.ErrBareQuote or csv.ErrQuote
}

func (r row) equal(o row) bool {
	return slices.Equal(r.fields, o.fields) && r.line == o.line && r.err == o.err
}

func csvRows(data []byte, delim byte) []row {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = rune(delim)
	cr.FieldsPerRecord = -1
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rows = append(rows, row{line: pe.StartLine, err: pe.Err})
			continue
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, row{fields: rec, line: line})
	}
}

// ourRows reads text with the row reader and says whether it stopped at a
// row too long.
func ourRows(t *testing.T, r io.Reader, delim byte, max int) (rows []row, tooLong bool) {
	rr := newRowReader(r, delim)
	rr.max = max
	rr.buf = make([]byte, 4) // grows: exercises lines across reads
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return rows, false
		}
		var re *rowError
		switch {
		case err == errRowTooLong:
			return rows, true
		case errors.As(err, &re):
			rows = append(rows, row{line: re.StartLine, err: re.Err})
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			rows = append(rows, row{fields: slices.Clone(rec), line: rr.Line()})
		}
	}
}

// TestRowsTooLong checks the bound on one row: a line, or a quoted field
// over many lines, longer than the limit fails with errRowTooLong after the
// rows before it were read.
func TestRowsTooLong(t *testing.T) {
	for name, text := range map[string]string{
		"one long line":        "a,b\n" + strings.Repeat("x", 100) + "\n",
		"a quote never closed": "a,b\n\"" + strings.Repeat("x\n", 50),
	} {
		rr := newRowReader(strings.NewReader(text), ',')
		rr.max = 64
		rec, err := rr.Read()
		if err != nil || !slices.Equal(rec, []string{"a", "b"}) {
			t.Fatalf("%s: first row %q, %v", name, rec, err)
		}
		if _, err := rr.Read(); err != errRowTooLong {
			t.Fatalf("%s: got %v, want errRowTooLong", name, err)
		}
	}
}

// TestEqualBytes checks the word-at-a-time compare against a byte loop, for
// the bytes that matter and every byte next to them (the classic shorter
// formula flags the byte after a match when it is the match plus one).
func TestEqualBytes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, c := range []byte{',', ';', '\t', '"'} {
		near := []byte{c, c - 1, c + 1, 0, 0x7F, 0x80, 0xFF, c ^ 0x80}
		for range 100_000 {
			var b [8]byte
			for k := range b {
				if rnd.IntN(2) == 0 {
					b[k] = near[rnd.IntN(len(near))]
				} else {
					b[k] = byte(rnd.Uint32())
				}
			}
			var want uint64
			for k := range b {
				if b[k] == c {
					want |= 0x80 << (8 * k)
				}
			}
			if got := equalBytes(binary.LittleEndian.Uint64(b[:]), uint64(c)*ones); got != want {
				t.Fatalf("%q in % x: got %016x, want %016x", c, b, got, want)
			}
		}
	}
}

// emptyReader returns nothing, forever, without an error.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestRowsNoProgress checks that a reader returning nothing forever ends
// the reading with io.ErrNoProgress instead of spinning.
func TestRowsNoProgress(t *testing.T) {
	rr := newRowReader(io.MultiReader(strings.NewReader("a,b\n"), emptyReader{}), ',')
	if rec, err := rr.Read(); err != nil || !slices.Equal(rec, []string{"a", "b"}) {
		t.Fatalf("first row %q, %v", rec, err)
	}
	if _, err := rr.Read(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}
