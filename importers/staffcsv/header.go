package staffcsv

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// column is one of the columns the contract defines.
type column int

const (
	colLocation column = iota
	colEmployee
	colName
	colDate
	colIn
	colOut
	colHours
	colBreak
	numColumns
)

// String is the canonical name, used in every message.
func (c column) String() string {
	switch c {
	case colLocation:
		return "location_id"
	case colEmployee:
		return "employee_id"
	case colName:
		return "employee_name"
	case colDate:
		return "date"
	case colIn:
		return "clock_in"
	case colOut:
		return "clock_out"
	case colHours:
		return "hours"
	case colBreak:
		return "break_minutes"
	}
	return "column"
}

// lookupColumn maps a normalised header name (see normalizeHeader) to its
// column: the canonical names and the aliases of the contract, plus "dia"
// (Spanish día) and "break".
func lookupColumn(name string) (column, bool) {
	switch name {
	case "locationid", "store", "storeid", "magasin", "tienda":
		return colLocation, true
	case "employeeid", "employee", "badge", "matricule", "empleado":
		return colEmployee, true
	case "employeename", "name", "nom", "nombre":
		return colName, true
	case "date", "day", "jour", "fecha", "dia":
		return colDate, true
	case "clockin", "in", "start", "entree", "entrada":
		return colIn, true
	case "clockout", "out", "end", "sortie", "salida":
		return colOut, true
	case "hours", "workedhours", "heures", "horas":
		return colHours, true
	case "breakminutes", "pause", "descanso", "break":
		return colBreak, true
	}
	return 0, false
}

// normalizeHeader lowercases a header name, removes its accents (Entrée →
// entree, Día → dia), spaces, '_' and '-'.
func normalizeHeader(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) || unicode.IsSpace(r) || r == '_' || r == '-' || r == '\ufeff' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// encoding is how the bytes of a file are read.
type encoding int

const (
	encUTF8 encoding = iota
	encWindows1252
)

// decode turns the raw bytes of a field into text. UTF-8 text is kept as it
// is; Windows-1252 is decoded byte by byte (x/text's table), allocating only
// for fields that are not plain ASCII.
func (e encoding) decode(s string) string {
	if e == encUTF8 || isASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(charmap.Windows1252.DecodeByte(s[i]))
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// headInfo is what scanHead finds in the first bytes of a file (after the
// BOM): the Excel "sep=X" line if there is one, and the header line.
type headInfo struct {
	sep     byte   // delimiter named by a "sep=X" first line, or 0
	header  []byte // the first line that is neither blank nor "sep=X"
	crOnly  bool   // lines end with a lone CR (classic Mac)
	tooLong bool   // no line break in a full buffer
}

// scanHead reads head, the first bytes of the file; complete says whether
// head holds the whole file.
func scanHead(head []byte, complete bool) headInfo {
	var h headInfo
	if bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(bytes.TrimRight(head, "\r \t"), '\r') >= 0 {
		h.crOnly = true
		return h
	}
	rest := head
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		switch {
		case i >= 0:
			line, rest = rest[:i], rest[i+1:]
		case complete:
			line, rest = rest, nil
		default:
			h.tooLong = true
			return h
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		if h.sep == 0 {
			if d, ok := sepLine(t); ok {
				h.sep = d
				continue
			}
		}
		h.header = line
		return h
	}
	return h
}

// sepLine recognises Excel's "sep=;" first line (possibly quoted).
func sepLine(t []byte) (byte, bool) {
	t = bytes.Trim(t, `"`)
	if len(t) != 5 || !bytes.EqualFold(t[:4], []byte("sep=")) {
		return 0, false
	}
	switch t[4] {
	case ',', ';', '\t':
		return t[4], true
	}
	return 0, false
}

// chooseDelimiter picks, among comma, semicolon and tab, the one that splits
// the header line into the most known column names, then into the most
// fields, then the comma.
func chooseDelimiter(line []byte, enc encoding) rune {
	best, bestKnown, bestFields := ',', -1, -1
	for _, d := range []byte{',', ';', '\t'} {
		fields := splitHeader(line, d)
		known := 0
		for _, f := range fields {
			if _, ok := lookupColumn(normalizeHeader(enc.decode(f))); ok {
				known++
			}
		}
		if known > bestKnown || (known == bestKnown && len(fields) > bestFields) {
			best, bestKnown, bestFields = rune(d), known, len(fields)
		}
	}
	return best
}

// splitHeader splits one line on d outside double quotes, dropping the
// quotes; good enough to score a delimiter, the real parse is encoding/csv's.
func splitHeader(line []byte, d byte) []string {
	var fields []string
	var cur []byte
	inQuote := false
	for _, c := range bytes.TrimRight(line, "\r") {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == d && !inQuote:
			fields = append(fields, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(fields, string(cur))
}
