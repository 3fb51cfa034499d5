package staffcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// Encodings, as Summary.Encoding names them.
const (
	EncodingUTF8        = "UTF-8"
	EncodingUTF8BOM     = "UTF-8 with BOM"
	EncodingWindows1252 = "Windows-1252"
)

// Summary describes a file Import read.
type Summary struct {
	Rows      int      // data rows (the header and blank lines excluded)
	Records   int      // records passed to emit by this call (Rows minus skip)
	Encoding  string   // EncodingUTF8, EncodingUTF8BOM or EncodingWindows1252
	Delimiter rune     // ',', ';' or '\t'
	Locations []string // the locations of the rows, sorted
}

// Import reads a staff-hours CSV file twice. Pass 1 detects the encoding
// (UTF-8 with or without BOM, else Windows-1252 when any byte sequence is not
// valid UTF-8) and the delimiter, and checks every row: when anything is
// wrong it returns a *Refusal listing the problems and emits nothing. Pass 2
// (after Seek(0)) emits every row's record in file order, skipping the first
// skip records (the agent resumes a file after a crash by passing how many it
// already committed).
//
// When the first 64 KiB of a file are valid UTF-8 but a later byte is not,
// and a checked field held non-ASCII bytes, pass 1 runs again with
// Windows-1252 (the file is then read three times).
//
// An error from emit stops Import and is returned wrapped. Other errors are
// the reader's, or a mistake in opts.
func Import(r io.ReadSeeker, opts Options, skip int, emit func(record.Record) error) (Summary, error) {
	if err := opts.check(); err != nil {
		return Summary{}, err
	}
	if skip < 0 {
		return Summary{}, fmt.Errorf("staffcsv: skip %d is negative", skip)
	}
	p := newParser(opts)
	if opts.MaxSize > 0 {
		size, err := r.Seek(0, io.SeekEnd)
		if err != nil {
			return Summary{}, fmt.Errorf("staffcsv: measure the file: %w", err)
		}
		if size > opts.MaxSize {
			return Summary{}, p.tooLarge()
		}
	}
	sum, err := p.validate(r, false)
	if errors.Is(err, errRerun) {
		sum, err = p.validate(r, true)
	}
	if err != nil {
		return sum, err
	}
	sum.Records, err = p.emitAll(r, skip, sum.Rows, emit)
	return sum, err
}

// errRerun says pass 1 guessed the encoding wrong where it mattered.
var errRerun = errors.New("the file is not UTF-8: read it again as Windows-1252")

var bom = []byte{0xEF, 0xBB, 0xBF}

// parser is the state of one Import call.
type parser struct {
	opts        Options
	mdy         bool
	future      time.Time // a shift may not start after this
	defaultZone *time.Location

	// What pass 1 learnt of the file.
	enc     encoding
	bom     bool
	delim   rune
	sepLine bool
	cols    [numColumns]int
	nfields int

	track     bool // the encoding is still a guess: note non-ASCII in checked fields
	sensitive bool // a checked field held non-ASCII bytes

	problems   collector
	line       int // the line the current row starts on
	lastLoc    string
	lastZone   *time.Location
	keyBuf     []byte
	slab       []shiftOut // see record
	resolver   resolver
	hoursCache hoursCache
}

func newParser(opts Options) *parser {
	p := &parser{opts: opts, mdy: opts.DateOrder == MDY, defaultZone: opts.Zone}
	if p.defaultZone == nil {
		p.defaultZone = time.UTC
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p.future = now.Add(24 * time.Hour)
	if p.opts.MaxReportedLines == 0 {
		p.opts.MaxReportedLines = DefaultMaxReportedLines
	}
	return p
}

func (p *parser) tooLarge() *Refusal {
	return fileRefusal("file exceeds the size limit of " + strconv.FormatInt(p.opts.MaxSize, 10) + " bytes")
}

// newCSV returns the reader both passes use.
func (p *parser) newCSV(r io.Reader) *rowReader { return newRowReader(r, byte(p.delim)) }

// blank reports a row whose fields are all empty or spaces (Excel writes
// empty rows as ";;;;").
func blank(rec []string) bool {
	for _, f := range rec {
		for i := 0; i < len(f); i++ {
			if c := f[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return false
			}
		}
	}
	return true
}

// validate is pass 1. With forced it reads the file as Windows-1252.
func (p *parser) validate(r io.ReadSeeker, forced bool) (Summary, error) {
	br, sn, hi, complete, err := p.openHead(r)
	if err != nil {
		return Summary{}, err
	}
	switch {
	case forced || sn.notUTF8:
		p.enc, p.track = encWindows1252, false
	default:
		p.enc, p.track = encUTF8, !complete
	}
	p.sepLine = hi.sep != 0
	if p.sepLine {
		p.delim = rune(hi.sep)
	} else {
		p.delim = chooseDelimiter(hi.header, p.enc)
	}
	sum := Summary{Delimiter: p.delim}
	cr := p.newCSV(br)

	hrec, hline, ref, err := p.readHeader(cr)
	if err != nil {
		return sum, err
	}
	if ref != nil {
		return sum, ref
	}
	for _, f := range hrec {
		if p.track && !isASCII(f) {
			p.sensitive = true
		}
	}
	if ref := p.mapHeader(hrec, hline); ref != nil {
		return sum, p.headerRefused(ref, sn)
	}
	rows, err := p.checkRows(cr, hline, &sum)
	if err != nil {
		return sum, err
	}
	sn.finish()
	if !forced && p.enc == encUTF8 && sn.notUTF8 {
		if p.sensitive {
			return sum, errRerun
		}
		p.enc = encWindows1252 // only ASCII was checked: the results stand
	}
	p.amendLastRow(rows, sn)
	sum.Encoding = p.encodingName()
	slices.Sort(rows.locs)
	sum.Locations = rows.locs
	if ref := p.problems.refusal(); ref != nil {
		return sum, ref
	}
	return sum, nil
}

// openHead rewinds the file and reads its first block: the signature of a
// file that is no CSV at all, the BOM, the header line and its delimiter.
// complete says the whole file fit in the block.
func (p *parser) openHead(r io.ReadSeeker) (br *bufio.Reader, sn *sniffer, hi headInfo, complete bool, err error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, hi, false, fmt.Errorf("staffcsv: rewind: %w", err)
	}
	p.problems = collector{max: p.opts.MaxReportedLines}
	p.sensitive = false
	sn = &sniffer{r: r, max: p.opts.MaxSize}
	br = bufio.NewReaderSize(sn, bufSize)

	head, err := br.Peek(bufSize)
	complete = errors.Is(err, io.EOF)
	if ref := signature(head); ref != nil {
		return nil, nil, hi, false, ref
	}
	switch {
	case err == nil || complete:
	case errors.Is(err, errNotText):
		return nil, nil, hi, false, notText()
	case errors.Is(err, errTooLarge):
		return nil, nil, hi, false, p.tooLarge()
	default:
		return nil, nil, hi, false, fmt.Errorf("staffcsv: read: %w", err)
	}
	if complete {
		sn.finish()
	}
	p.bom = bytes.HasPrefix(head, bom)
	if p.bom {
		head = head[len(bom):]
		_, _ = br.Discard(len(bom))
	}
	hi = scanHead(head, complete)
	switch {
	case hi.crOnly:
		return nil, nil, hi, false, &Refusal{BadLines: 1, Problems: []Problem{{Line: 1,
			Reason: "lines end with a lone carriage return (classic Mac format): save the file with Windows (CRLF) or Unix (LF) line breaks"}}}
	case hi.tooLong:
		return nil, nil, hi, false, fileRefusal(fmt.Sprintf("line 1 is longer than %d bytes: this is not a staff-hours CSV file", bufSize))
	case hi.header == nil:
		return nil, nil, hi, false, fileRefusal("file is empty")
	}
	return br, sn, hi, complete, nil
}

// rowsSeen is what pass 1 learns from the rows after the header.
type rowsSeen struct {
	locs      []string
	amend     int // index of a problem of the last row to amend at the end of the file, or -1
	amendKind int
}

// checkRows reads every row after the header, collecting its problems.
func (p *parser) checkRows(cr *rowReader, hline int, sum *Summary) (rowsSeen, error) {
	rows := rowsSeen{locs: []string{}, amend: -1}
	lastLine := hline
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			var pe *rowError
			if !errors.As(err, &pe) {
				if ref := sniffRefusal(err, p, lastLine); ref != nil {
					return rows, ref
				}
				return rows, fmt.Errorf("staffcsv: read: %w", err)
			}
			sum.Rows++
			p.line, lastLine = pe.StartLine, pe.StartLine
			rows.amend = -1
			switch pe.Err {
			case csv.ErrBareQuote:
				p.problems.add(p.line, "", `a " inside a field that does not start with a quote: put the whole field in quotes and double the " inside it`)
			case csv.ErrQuote:
				rows.amend, rows.amendKind = len(p.problems.problems), amendQuote
				p.problems.add(p.line, "", "a quoted field has text after its closing quote")
			default:
				p.problems.add(p.line, "", pe.Err.Error())
			}
			continue
		}
		if blank(rec) {
			continue
		}
		sum.Rows++
		p.line = cr.Line()
		lastLine = p.line
		rows.amend = -1
		if len(rec) < p.nfields {
			rows.amend, rows.amendKind = len(p.problems.problems), amendShort
			p.problems.add(p.line, "", fmt.Sprintf("row has %d fields, the header has %d", len(rec), p.nfields))
			continue
		}
		if extra := extraFields(rec, p.nfields); extra > 0 {
			p.problems.add(p.line, "", fmt.Sprintf("row has %d fields, the header has %d (put values that contain %s in quotes)", extra, p.nfields, delimName(p.delim)))
			continue
		}
		s, ok := p.parseRow(rec)
		if ok && !slices.Contains(rows.locs, s.loc) {
			rows.locs = append(rows.locs, s.loc)
		}
	}
}

// amendLastRow rewords the last row's problem when the file ends inside it:
// an upload that was cut off.
func (p *parser) amendLastRow(rows rowsSeen, sn *sniffer) {
	if rows.amend < 0 || rows.amend >= len(p.problems.problems) {
		return
	}
	pr := &p.problems.problems[rows.amend]
	switch {
	case rows.amendKind == amendQuote && sn.quotes%2 == 1:
		pr.Reason = "a quoted field is never closed: the file ends inside it (was the upload cut off?)"
	case rows.amendKind == amendShort && sn.last != '\n':
		pr.Reason += " (the file ends in the middle of this row: was the upload cut off?)"
	}
}

const (
	amendQuote = iota + 1
	amendShort
)

// headerRefused returns the refusal of a bad header, unless the header was
// read as UTF-8 while it held non-ASCII text and the rest of the file shows
// that it is not UTF-8: then pass 1 must run again as Windows-1252.
func (p *parser) headerRefused(ref *Refusal, sn *sniffer) error {
	if !p.track || !p.sensitive {
		return ref
	}
	if _, err := io.Copy(io.Discard, sn); err != nil {
		if r := sniffRefusal(err, p, 0); r != nil {
			return r
		}
		return fmt.Errorf("staffcsv: read: %w", err)
	}
	sn.finish()
	if sn.notUTF8 {
		return errRerun
	}
	return ref
}

func (p *parser) encodingName() string {
	switch {
	case p.enc == encWindows1252:
		return EncodingWindows1252
	case p.bom:
		return EncodingUTF8BOM
	}
	return EncodingUTF8
}

// readHeader reads the first non-blank row after the "sep=" line.
func (p *parser) readHeader(cr *rowReader) ([]string, int, *Refusal, error) {
	sepPending := p.sepLine
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, 0, fileRefusal("file is empty"), nil
		}
		if err != nil {
			var pe *rowError
			if errors.As(err, &pe) {
				return nil, 0, &Refusal{BadLines: 1, Problems: []Problem{{Line: pe.StartLine,
					Reason: "the header row is not valid CSV: " + pe.Err.Error()}}}, nil
			}
			if ref := sniffRefusal(err, p, 0); ref != nil {
				return nil, 0, ref, nil
			}
			return nil, 0, nil, fmt.Errorf("staffcsv: read: %w", err)
		}
		if blank(rec) {
			continue
		}
		if sepPending {
			sepPending = false
			continue
		}
		line := cr.Line()
		return slices.Clone(rec), line, nil, nil
	}
}

// mapHeader finds the columns in the header row.
func (p *parser) mapHeader(rec []string, line int) *Refusal {
	for i := range p.cols {
		p.cols[i] = -1
	}
	p.nfields = len(rec)
	var names [numColumns]string
	known := 0
	for i, raw := range rec {
		name := p.enc.decode(raw)
		c, ok := lookupColumn(normalizeHeader(name))
		if !ok {
			continue
		}
		known++
		if p.cols[c] >= 0 {
			p.problems.add(line, c.String(), fmt.Sprintf("the column appears twice (%q and %q)", names[c], name))
			continue
		}
		p.cols[c], names[c] = i, name
	}
	if known == 0 {
		return &Refusal{BadLines: 1, Problems: []Problem{{Line: line,
			Reason: "no header row: the first line must name the columns (location_id, employee_id, date, clock_in, clock_out, hours, break_minutes)"}}}
	}
	if p.cols[colLocation] < 0 && p.opts.BoundLocation == "" {
		p.problems.add(line, colLocation.String(), "required column is missing")
	}
	if p.cols[colEmployee] < 0 {
		p.problems.add(line, colEmployee.String(), "required column is missing")
	}
	if p.cols[colIn] < 0 && p.cols[colHours] < 0 {
		p.problems.add(line, colIn.String(), "required column is missing (give clock_in, or hours and date)")
	}
	return p.problems.refusal()
}

// extraFields returns the number of fields of rec when it has non-empty
// fields beyond the n of the header, else 0.
func extraFields(rec []string, n int) int {
	for _, f := range rec[n:] {
		for i := 0; i < len(f); i++ {
			if c := f[i]; c != ' ' && c != '\t' {
				return len(rec)
			}
		}
	}
	return 0
}

func delimName(d rune) string {
	switch d {
	case '\t':
		return "a tab"
	case ';':
		return `";"`
	}
	return `","`
}

func notText() *Refusal {
	return fileRefusal("file is not text (it contains NUL bytes)")
}

// signature recognises files that are plainly not CSV text.
func signature(head []byte) *Refusal {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return fileRefusal("file is an Excel workbook, not CSV text: save it as CSV")
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return fileRefusal("file is UTF-16 text: save it as CSV UTF-8")
	}
	return nil
}

// sniffRefusal turns an error of the sniffer into the refusal it stands for.
func sniffRefusal(err error, p *parser, lastLine int) *Refusal {
	switch {
	case errors.Is(err, errNotText):
		return notText()
	case errors.Is(err, errTooLarge):
		return p.tooLarge()
	case errors.Is(err, errRowTooLong):
		return fileRefusal(fmt.Sprintf("the row after line %d is longer than %d bytes (a quote that is never closed?)", lastLine, maxRowBytes))
	}
	return nil
}

// emitAll is pass 2: it emits the record of every row after the first skip.
// The row reader reads the file directly (after the BOM pass 1 found): it has
// its own buffer.
func (p *parser) emitAll(r io.ReadSeeker, skip, rows int, emit func(record.Record) error) (int, error) {
	if _, err := r.Seek(int64(btoi(p.bom)*len(bom)), io.SeekStart); err != nil {
		return 0, fmt.Errorf("staffcsv: rewind: %w", err)
	}
	p.problems = collector{max: 1}
	p.track = false
	cr := p.newCSV(r)
	// The "sep=" line, then the header.
	for pending := 1 + btoi(p.sepLine); pending > 0; {
		rec, err := cr.Read()
		if err != nil {
			return 0, changed(err)
		}
		if !blank(rec) {
			pending--
		}
	}
	seen, emitted := 0, 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return emitted, changed(err)
		}
		if blank(rec) {
			continue
		}
		seen++
		if seen <= skip {
			continue
		}
		p.line = cr.Line()
		if len(rec) < p.nfields || extraFields(rec, p.nfields) > 0 {
			return emitted, changed(fmt.Errorf("line %d", p.line))
		}
		s, ok := p.parseRow(rec)
		if !ok {
			return emitted, changed(errors.New(p.problems.problems[0].String()))
		}
		if err := emit(p.record(rec, &s)); err != nil {
			return emitted, fmt.Errorf("staffcsv: emit line %d: %w", p.line, err)
		}
		emitted++
	}
	if seen != rows {
		return emitted, changed(fmt.Errorf("%d rows instead of %d", seen, rows))
	}
	return emitted, nil
}

func changed(err error) error {
	return fmt.Errorf("staffcsv: the file changed between its two readings: %w", err)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
