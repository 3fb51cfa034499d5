package ftpd

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWindows1252Name: a client that did not switch to UTF-8 sends its
// Windows code page; the name is decoded and stored in UTF-8, and the same
// bytes find the file again.
func TestWindows1252Name(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.login(t)
	if err := c.Stor("pr\xe9sence-\x80.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("STOR: got %q, want 226", reply(err))
	}
	got := ts.inbox.uploads()
	if len(got) != 1 || got[0].Name != "présence-€.csv" {
		t.Fatalf("imports: got %+v, want one named présence-€.csv", got)
	}
	if diff := cmp.Diff(map[string]string{"archive/présence-€.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
	for _, name := range []string{"archive/pr\xe9sence-\x80.csv", "archive/présence-€.csv"} {
		r, err := c.Retr(name)
		if err != nil {
			t.Fatalf("RETR %q: %v", name, reply(err))
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != shiftsCSV {
			t.Errorf("RETR %q: got %q", name, b)
		}
	}
	// A byte Windows-1252 leaves undefined is still refused.
	if got, want := reply(c.Stor("a\x81b.csv", strings.NewReader(shiftsCSV))), "553 file name not allowed: the name is not valid UTF-8"; got != want {
		t.Errorf("undefined byte: got %q, want %q", got, want)
	}
}
