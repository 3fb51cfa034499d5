package staffcsv

import (
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
	"strconv"
	"strings"
)

// rowReader splits CSV text into rows exactly as encoding/csv does with a
// one-byte delimiter, FieldsPerRecord -1 and LazyQuotes false: same rows,
// same fields, same errors on the same lines (FuzzRows holds it to that).
// It exists for speed: a row without a double quote, the usual one, is cut
// eight bytes at a time in a string made once per 64 KiB read, where
// encoding/csv copies every field and allocates a string per row (twice as
// fast, see BenchmarkRows); a row whose quoted fields hold no quote and no
// line break is cut without copying either. Other rows take the general
// path, which follows encoding/csv's readRecord.
//
// The fields of a row are substrings of the text read, valid after the next
// Read (they keep that text in memory while they are referenced). A row of
// more than maxRowBytes fails with errRowTooLong, so that a file without line
// breaks, or with a quote that is never closed, cannot take all the memory.
type rowReader struct {
	r     io.Reader
	delim byte
	max   int // bytes of one row, maxRowBytes outside tests

	buf   []byte // read buffer, grown up to max for one long line
	chunk string // a copy of buf's bytes read and not yet consumed at pos
	pos   int
	// lineAt is where the last line read starts in chunk (and buf).
	lineAt int
	err    error // the first error of r (io.EOF at the end of the text)

	line    int // physical lines read
	start   int // the line the last row started on
	rowSize int // bytes of the row being read

	fields []string
	rec    []byte // the text of a quoted row's fields
	ends   []int
}

func newRowReader(r io.Reader, delim byte) *rowReader {
	return &rowReader{r: r, delim: delim, max: maxRowBytes, buf: make([]byte, bufSize)}
}

// Line is the line the last row read starts on.
func (rr *rowReader) Line() int { return rr.start }

// rowError is encoding/csv's *csv.ParseError reduced to what the importer
// reports: the line a bad row starts on, and csv.ErrBareQuote or csv.ErrQuote.
type rowError struct {
	StartLine int
	Err       error
}

func (e *rowError) Error() string { return "line " + strconv.Itoa(e.StartLine) + ": " + e.Err.Error() }

func (e *rowError) Unwrap() error { return e.Err }

// Read returns the next row, skipping empty lines, or io.EOF after the last.
// A malformed row returns a *rowError and reading can go on.
func (rr *rowReader) Read() ([]string, error) {
	var line string
	var nl bool
	var err error
	rr.rowSize = 0
	for {
		line, nl, err = rr.readLine()
		if err != nil {
			return nil, err
		}
		if line != "" {
			break
		}
		if !nl { // the last line was a lone \r
			return nil, io.EOF
		}
		rr.rowSize = 0
	}
	rr.start = rr.line
	if rr.split(line) || rr.splitQuoted(line) {
		return rr.fields, nil
	}
	return rr.quoted(line, nl)
}

// Bytes repeated in the 8 of a word, for split.
const (
	ones  = 0x0101010101010101
	lows  = 0x7F7F7F7F7F7F7F7F
	highs = 0x8080808080808080
)

// equalBytes has the high bit of each byte of w that equals the byte b*ones
// stands for, and of no other (no carry crosses bytes: exact, unlike the
// shorter formula).
func equalBytes(w, rep uint64) uint64 {
	x := w ^ rep
	return ^((x&lows + lows) | x | lows)
}

// split cuts the line just read (lineAt in buf) into fields at each
// delimiter, eight bytes at a time, and reports false when the line holds a
// double quote: splitQuoted or quoted cuts it then.
func (rr *rowReader) split(line string) bool {
	rr.fields = rr.fields[:0]
	b := rr.buf[rr.lineAt : rr.lineAt+len(line)]
	delims, quotes := uint64(rr.delim)*ones, uint64('"')*ones
	from, i := 0, 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if equalBytes(w, quotes) != 0 {
			return false
		}
		for m := equalBytes(w, delims); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			rr.fields = append(rr.fields, line[from:j])
			from = j + 1
		}
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return false
		case rr.delim:
			rr.fields = append(rr.fields, line[from:i])
			from = i + 1
		}
	}
	rr.fields = append(rr.fields, line[from:])
	return true
}

// splitQuoted cuts a line whose quoted fields are plain ("..." with no
// quote inside and on this line), without copying them, and reports false
// for any other line, which quoted then reads from its start.
func (rr *rowReader) splitQuoted(line string) bool {
	rr.fields = rr.fields[:0]
	d, n := rr.delim, len(line)
	for i := 0; ; {
		if i < n && line[i] == '"' {
			j := i + 1
			for j < n && line[j] != '"' {
				j++
			}
			switch {
			case j == n:
				return false // the field goes on over the next line, or never ends
			case j+1 == n:
				rr.fields = append(rr.fields, line[i+1:j])
				return true
			case line[j+1] != d:
				return false // "" inside, or text after the closing quote
			}
			rr.fields = append(rr.fields, line[i+1:j])
			i = j + 2
			continue
		}
		j := i
		for j < n && line[j] != d {
			if line[j] == '"' {
				return false // a bare quote
			}
			j++
		}
		rr.fields = append(rr.fields, line[i:j])
		if j == n {
			return true
		}
		i = j + 1
	}
}

// quoted parses a row whose first line holds a double quote, as
// encoding/csv's readRecord does.
func (rr *rowReader) quoted(line string, nl bool) ([]string, error) {
	rr.fields, rr.rec, rr.ends = rr.fields[:0], rr.rec[:0], rr.ends[:0]
	var err, fatal error
	for more := true; more && err == nil; {
		if line == "" || line[0] != '"' {
			line, more, err = rr.unquotedField(line)
		} else {
			line, nl, more, err, fatal = rr.quotedField(line[1:], nl)
			if fatal != nil {
				return nil, fatal
			}
		}
	}
	s := string(rr.rec)
	prev := 0
	for _, end := range rr.ends {
		rr.fields = append(rr.fields, s[prev:end])
		prev = end
	}
	return rr.fields, err
}

// unquotedField takes one unquoted field from line: the rest of the line
// after its delimiter, and whether another field follows.
func (rr *rowReader) unquotedField(line string) (rest string, more bool, err error) {
	i := strings.IndexByte(line, rr.delim)
	field := line
	if i >= 0 {
		field = line[:i]
	}
	if strings.IndexByte(field, '"') >= 0 {
		return "", false, &rowError{StartLine: rr.start, Err: csv.ErrBareQuote}
	}
	rr.rec = append(rr.rec, field...)
	rr.ends = append(rr.ends, len(rr.rec))
	if i < 0 {
		return "", false, nil
	}
	return line[i+1:], true, nil
}

// quotedField takes one quoted field, whose opening quote line follows,
// reading more lines while the field goes on: the rest of the last line
// read (and whether it had a line break), whether another field follows,
// the row's error (a misplaced quote), and a read error that ends it all.
func (rr *rowReader) quotedField(line string, nl bool) (rest string, restNL, more bool, err, fatal error) {
	for {
		if i := strings.IndexByte(line, '"'); i >= 0 {
			rr.rec = append(rr.rec, line[:i]...)
			line = line[i+1:]
			switch {
			case line != "" && line[0] == '"': // "" is a quote
				rr.rec = append(rr.rec, '"')
				line = line[1:]
				continue
			case line != "" && line[0] == rr.delim: // the end of the field
				rr.ends = append(rr.ends, len(rr.rec))
				return line[1:], nl, true, nil, nil
			case line == "": // the end of the row
				rr.ends = append(rr.ends, len(rr.rec))
				return "", nl, false, nil, nil
			default: // text after the closing quote
				return "", nl, false, &rowError{StartLine: rr.start, Err: csv.ErrQuote}, nil
			}
		}
		if line == "" && !nl { // the text ends inside the field
			return "", nl, false, &rowError{StartLine: rr.start, Err: csv.ErrQuote}, nil
		}
		rr.rec = append(rr.rec, line...)
		if nl {
			rr.rec = append(rr.rec, '\n')
		}
		var rerr error
		if line, nl, rerr = rr.readLine(); rerr != nil && rerr != io.EOF {
			return "", false, false, nil, rerr
		}
	}
}

// readLine returns the next line without its line break (\n, or \r\n), and
// whether it had one. The last line loses a trailing \r, as in encoding/csv.
// At the end of the text it returns "", false, io.EOF.
func (rr *rowReader) readLine() (string, bool, error) {
	for {
		rest := rr.chunk[rr.pos:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			rr.lineAt = rr.pos
			rr.pos += i + 1
			rr.line++
			if rr.rowSize += i + 1; rr.rowSize > rr.max {
				return "", false, errRowTooLong
			}
			if i > 0 && rest[i-1] == '\r' {
				i--
			}
			return rest[:i], true, nil
		}
		if rr.err != nil {
			if rr.err != io.EOF || rest == "" {
				return "", false, rr.err
			}
			rr.lineAt, rr.pos = rr.pos, len(rr.chunk)
			rr.line++
			if rr.rowSize += len(rest); rr.rowSize > rr.max {
				return "", false, errRowTooLong
			}
			return strings.TrimSuffix(rest, "\r"), false, nil
		}
		if rr.rowSize+len(rest) > rr.max {
			return "", false, errRowTooLong
		}
		rr.fill()
	}
}

// fill reads more text after what is left unconsumed, growing the buffer
// when one line fills it.
func (rr *rowReader) fill() {
	n := copy(rr.buf, rr.chunk[rr.pos:])
	if n == len(rr.buf) {
		rr.buf = append(rr.buf, make([]byte, len(rr.buf))...)
	}
	for empty := 0; n < len(rr.buf) && rr.err == nil; {
		var m int
		m, rr.err = rr.r.Read(rr.buf[n:])
		n += m
		if empty++; m > 0 {
			empty = 0
		} else if empty == 100 && rr.err == nil {
			rr.err = io.ErrNoProgress // as bufio does with a reader that keeps returning nothing
		}
	}
	rr.chunk, rr.pos = string(rr.buf[:n]), 0
}
