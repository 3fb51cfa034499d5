package staffcsv

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// Errors the sniffer (and, for errRowTooLong, the row reader) return to stop
// pass 1 early.
var (
	errTooLarge   = errors.New("file exceeds the size limit")
	errNotText    = errors.New("file is not text")
	errRowTooLong = errors.New("row too long")
)

// maxRowBytes bounds one row (a legitimate row is well under 1 KiB), so that a
// file without line breaks or with a quote that is never closed cannot make
// the parser buffer the whole file.
const maxRowBytes = 64 << 10

// bufSize is the read buffer, which also bounds the header line.
const bufSize = 64 << 10

// sniffer watches the raw bytes of pass 1 on their way to the row reader: it
// counts them against the size limit, refuses NUL bytes, tells whether the
// whole file is valid UTF-8 and counts double quotes (an odd count means the
// file ends inside a quoted field).
type sniffer struct {
	r       io.Reader
	max     int64 // size limit, 0 for none
	n       int64 // bytes read
	notUTF8 bool
	carry   [utf8.UTFMax]byte // an incomplete UTF-8 sequence at the end of the last read
	ncarry  int
	quotes  int64
	last    byte  // the last byte of the file so far
	nulAt   int64 // offset of the first NUL byte, when the read failed with errNotText
}

func (s *sniffer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n == 0 {
		return n, err
	}
	b := p[:n]
	s.n += int64(n)
	s.last = b[n-1]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		s.nulAt = s.n - int64(n) + int64(i)
		return n, errNotText
	}
	if s.max > 0 && s.n > s.max {
		return n, errTooLarge
	}
	s.quotes += int64(bytes.Count(b, []byte{'"'}))
	if !s.notUTF8 {
		s.checkUTF8(b)
	}
	return n, err
}

// checkUTF8 validates b, carrying a sequence cut by the end of the read over
// to the next one.
func (s *sniffer) checkUTF8(b []byte) {
	if s.ncarry > 0 {
		for len(b) > 0 && !utf8.FullRune(s.carry[:s.ncarry]) {
			s.carry[s.ncarry] = b[0]
			s.ncarry++
			b = b[1:]
		}
		if !utf8.FullRune(s.carry[:s.ncarry]) {
			return // still incomplete: b was exhausted
		}
		if !utf8.Valid(s.carry[:s.ncarry]) {
			s.notUTF8 = true
			return
		}
		s.ncarry = 0
	}
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		s.notUTF8 = true
		return
	}
	s.ncarry = copy(s.carry[:], b[cut:])
}

// finish is called at the end of the file: a sequence still incomplete there
// is invalid.
func (s *sniffer) finish() {
	if s.ncarry > 0 {
		s.notUTF8 = true
	}
}
