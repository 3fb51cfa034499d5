package ftpd

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// TYPE A (ASCII), as RFC 959 means it: on the wire every line ends with
// CRLF (NVT-ASCII), and each side converts between that and its own way of
// storing text. A CSV's own line break is CRLF (RFC 4180), and the agent's
// parser reads CRLF and LF alike, so:
//
//   - an upload in TYPE A is stored with CRLF line ends: CRLF stays as sent
//     (a CRLF file arrives byte for byte), a bare LF becomes CRLF, and a run
//     of CRs before a LF counts as one line end. The last is what a Unix
//     client sends for a file that already had CRLF (it converts each LF
//     into CRLF and sends the file's CR as data: CR CR LF); RFC 959 gives a
//     CR in text no meaning except before LF (or NUL), so none is lost. A CR
//     not followed by LF is kept as it is (the parser then names the line).
//   - a download in TYPE A (a report, a refused or archived file) is sent
//     with CRLF line ends: LF becomes CRLF, CRLF stays CRLF.
//
// Binary (TYPE I, the default) transfers every byte as it is. The library's
// own conversion (LF on Unix, CRLF on Windows, and a CR CR LF kept as CR LF)
// is switched off (DisableASCIIConversion): ftpd converts in the driver.

// asciiIn converts an upload's NVT-ASCII stream to CRLF line ends.
type asciiIn struct {
	crs int // CRs seen and not written yet
}

// convert returns p converted, appended to dst; CRs at the end of p are
// held until the next call (or flush) tells whether a LF follows.
func (a *asciiIn) convert(dst, p []byte) []byte {
	for _, b := range p {
		switch b {
		case '\r':
			a.crs++
		case '\n':
			a.crs = 0
			dst = append(dst, '\r', '\n')
		default:
			for ; a.crs > 0; a.crs-- {
				dst = append(dst, '\r')
			}
			dst = append(dst, b)
		}
	}
	return dst
}

// flush returns the CRs still held (the stream ended after them).
func (a *asciiIn) flush(dst []byte) []byte {
	for ; a.crs > 0; a.crs-- {
		dst = append(dst, '\r')
	}
	return dst
}

// asciiOut is a file downloaded in TYPE A: its line ends are sent as CRLF.
type asciiOut struct {
	f      *os.File
	r      *bufio.Reader
	prevCR bool   // the last byte sent was a CR
	extra  []byte // a LF that did not fit in the caller's buffer
}

func newASCIIOut(f *os.File) *asciiOut { return &asciiOut{f: f, r: bufio.NewReader(f)} }

func (a *asciiOut) Read(p []byte) (int, error) {
	n := 0
	if len(a.extra) > 0 && len(p) > 0 {
		p[0] = a.extra[0]
		a.extra = a.extra[:0]
		n = 1
	}
	for n < len(p) {
		b, err := a.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && !a.prevCR {
			p[n] = '\r'
			n++
			if n == len(p) {
				a.extra = append(a.extra, '\n')
				a.prevCR = false
				return n, nil
			}
		}
		p[n] = b
		n++
		a.prevCR = b == '\r'
	}
	return n, nil
}

// Write refuses: a download is read-only.
func (a *asciiOut) Write([]byte) (int, error) { return 0, errors.New("download: not writable") }

// Seek refuses any move: offsets in TYPE A are not those of the file.
func (a *asciiOut) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		return 0, nil
	}
	return 0, errors.New("download: cannot resume in ASCII mode (TYPE A): use binary (TYPE I)")
}

func (a *asciiOut) Close() error { return a.f.Close() }
