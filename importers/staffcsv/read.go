package staffcsv

import (
	"bufio"
	"encoding/csv"
	"io"
)

// rowReader is encoding/csv set up as the contract reads: the given one-byte
// delimiter, any number of fields per row (the importer reports short and
// long rows itself), strict quotes (LazyQuotes false: a bare " is
// csv.ErrBareQuote, text after a closing quote csv.ErrQuote), and the record
// slice reused between rows (its strings are not: a field may be kept).
//
// It adds the bound on one row: a row of more than maxRowBytes (counting the
// blank lines just before it) fails with errRowTooLong, so that a file
// without line breaks, or with a quote that is never closed, cannot make
// encoding/csv buffer the whole file. rowLimit refuses to read further once
// the row being parsed has passed the bound (memory stays under one row and
// one read buffer); Read checks the row it returns exactly.
type rowReader struct {
	cr  *csv.Reader
	lim *rowLimit
	// base is the offset in lim's stream of the first byte cr reads (after
	// a BOM that pass 1 skipped).
	base int64
}

// rowLimit counts the bytes read through it and fails a read that would go
// on while the current row is already longer than max.
type rowLimit struct {
	r        io.Reader
	max      int64
	n        int64 // bytes read
	rowStart int64 // where the row being parsed (or the blank lines before it) starts
}

func (l *rowLimit) Read(p []byte) (int, error) {
	// A read is asked for only when the buffered text after the row's start
	// holds no line break: all of it belongs to the row.
	if l.n-l.rowStart > l.max {
		return 0, errRowTooLong
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// newRowReader reads r through a bufSize buffer.
func newRowReader(r io.Reader, delim byte) *rowReader {
	lim := &rowLimit{r: r, max: maxRowBytes}
	return newRowReaderOn(bufio.NewReaderSize(lim, bufSize), lim, 0, delim)
}

// newRowReaderOn reads br, a buffer over lim of which base bytes were
// already consumed.
func newRowReaderOn(br *bufio.Reader, lim *rowLimit, base int64, delim byte) *rowReader {
	cr := csv.NewReader(br) // uses br itself: it is a bufio.Reader large enough
	cr.Comma = rune(delim)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	lim.rowStart = base
	return &rowReader{cr: cr, lim: lim, base: base}
}

// Read returns the next row, skipping empty lines, or io.EOF after the last.
// A malformed row returns a *csv.ParseError (csv.ErrBareQuote or
// csv.ErrQuote, with the line the row starts on) and reading can go on.
func (rr *rowReader) Read() ([]string, error) {
	rec, err := rr.cr.Read()
	end := rr.base + rr.cr.InputOffset()
	if err == nil && end-rr.lim.rowStart > rr.lim.max {
		return nil, errRowTooLong
	}
	rr.lim.rowStart = end
	return rec, err
}

// Line is the line the last row read starts on.
func (rr *rowReader) Line() int {
	line, _ := rr.cr.FieldPos(0)
	return line
}
