package ftpd

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jlaffaye/ftp"
)

func TestASCIIIn(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"CRLF stays", "a;b\r\nc;d\r\n", "a;b\r\nc;d\r\n"},
		{"bare LF becomes CRLF", "a;b\nc;d\n", "a;b\r\nc;d\r\n"},
		{"CR CR LF from a Unix client sending a CRLF file", "a;b\r\r\nc;d\r\r\n", "a;b\r\nc;d\r\n"},
		{"a CR not before LF is kept", "a\rb\r\n", "a\rb\r\n"},
		{"CRs at the end are kept", "a\r\r", "a\r\r"},
		{"no line end", "abc", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every split of the input gives the same result.
			for i := 0; i <= len(tc.in); i++ {
				var a asciiIn
				got := a.convert(nil, []byte(tc.in[:i]))
				got = a.convert(got, []byte(tc.in[i:]))
				got = a.flush(got)
				if string(got) != tc.want {
					t.Errorf("split at %d: got %q, want %q", i, got, tc.want)
				}
			}
		})
	}
}

func TestASCIIOut(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"LF becomes CRLF", "line 2: x\nline 3: y\n", "line 2: x\r\nline 3: y\r\n"},
		{"CRLF stays", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"mixed", "a\nb\r\n\n", "a\r\nb\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1, 2, 3, 4096} {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				a := newASCIIOut(f)
				var got []byte
				buf := make([]byte, size)
				for {
					n, err := a.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					} else if err != nil {
						t.Fatal(err)
					}
				}
				a.Close()
				if string(got) != tc.want {
					t.Errorf("reads of %d: got %q, want %q", size, got, tc.want)
				}
			}
		})
	}
}

// TestASCIIMode: TYPE A uploads are stored with CRLF (a CR CR LF, which a
// Unix client sends for a CRLF file, included), TYPE A downloads of a
// report come with CRLF, and binary transfers are untouched.
func TestASCIIMode(t *testing.T) {
	ts := startServer(t, nil)
	ts.inbox.will("bad.csv", refuse)
	c := ts.login(t)
	if err := c.Type(ftp.TransferTypeASCII); err != nil {
		t.Fatal(err)
	}
	unixClient := strings.ReplaceAll(shiftsCSV, "\r\n", "\r\r\n")
	if err := c.Stor("crcrlf.csv", strings.NewReader(unixClient)); err != nil {
		t.Fatalf("STOR: %v", reply(err))
	}
	if err := c.Stor("lf.csv", strings.NewReader(strings.ReplaceAll(shiftsCSV, "\r\n", "\n"))); err != nil {
		t.Fatalf("STOR: %v", reply(err))
	}
	_ = c.Stor("bad.csv", strings.NewReader(shiftsCSV))
	report := filepath.Join(ts.home, rejectedDir, "bad.csv.errors.txt")
	if err := os.WriteFile(report, []byte("line 2: x\nline 3: y\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	retr := func(name string) string {
		r, err := c.Retr(name)
		if err != nil {
			t.Fatalf("RETR %s: %v", name, reply(err))
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if got, want := retr("rejected/bad.csv.errors.txt"), "line 2: x\r\nline 3: y\r\n"; got != want {
		t.Errorf("report in TYPE A: got %q, want %q", got, want)
	}
	if err := c.Type(ftp.TransferTypeBinary); err != nil {
		t.Fatal(err)
	}
	if got, want := retr("rejected/bad.csv.errors.txt"), "line 2: x\nline 3: y\n"; got != want {
		t.Errorf("report in TYPE I: got %q, want %q", got, want)
	}
	if err := c.Stor("binary.csv", strings.NewReader(unixClient)); err != nil {
		t.Fatalf("STOR: %v", reply(err))
	}
	want := map[string]string{
		"archive/crcrlf.csv":          shiftsCSV,
		"archive/lf.csv":              shiftsCSV,
		"archive/binary.csv":          unixClient,
		"rejected/bad.csv":            shiftsCSV,
		"rejected/bad.csv.errors.txt": "line 2: x\nline 3: y\n",
	}
	if diff := cmp.Diff(want, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}
