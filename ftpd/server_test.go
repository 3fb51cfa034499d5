package ftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jlaffaye/ftp"

	"github.com/tmas/storeagent/importers/record"
)

// A staff-hours file as Excel saves it: CRLF line ends, a BOM, accents.
const shiftsCSV = "\ufefflocation_id;employee_id;nom;date;entree;sortie;pause\r\n" +
	"0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n" +
	"0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\r\n"

func TestLoginRefused(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Defender.Threshold = 100 })
	for _, tc := range []struct {
		name, user, pass string
	}{
		{"anonymous", "anonymous", "guest@example.com"},
		{"ftp", "ftp", ""},
		{"unknown user", "root", testPassword},
		{"wrong password", testUser, "wrong-password"},
		{"other user's password", otherUser, testPassword},
		{"empty password", testUser, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ts.dial(t)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Login(tc.user, tc.pass)
			if got, want := reply(err), "530 Authentication error: wrong user name or password"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	// Every failure is logged at WARN, with the user name and the address.
	var failures []string
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(l, `msg="ftp login failed"`) {
			level, _, _ := strings.Cut(l[strings.Index(l, "level="):], " ")
			user, _, _ := strings.Cut(l[strings.Index(l, "user="):], " ")
			failures = append(failures, level+" "+user)
		}
	}
	wantLogs := []string{"level=WARN user=anonymous", "level=WARN user=ftp", "level=WARN user=root", "level=WARN user=clock", "level=WARN user=payroll", "level=WARN user=clock"}
	if diff := cmp.Diff(wantLogs, failures); diff != "" {
		t.Errorf("failed logins in the log (-want +got):\n%s", diff)
	}
	want := []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second, time.Second}
	if diff := cmp.Diff(want, ts.failureDelays()); diff != "" {
		t.Errorf("each failure waits failure_delay before the reply (-want +got):\n%s", diff)
	}
	if len(ts.inbox.uploads()) != 0 {
		t.Errorf("got imports, want none")
	}
}

func TestBanAfterRepeatedFailures(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Defender.Threshold, c.Defender.LoginFailurePoints = 9, 3 // banned at the 3rd failure
	})
	for i := range 3 {
		c, err := ts.dial(t)
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if got, want := reply(c.Login(testUser, "wrong-password")), "530 Authentication error: wrong user name or password"; got != want {
			t.Fatalf("attempt %d: got %q, want %q", i+1, got, want)
		}
	}
	// Banned: refused at connection, even with the right password.
	_, err := ts.dial(t)
	if got := reply(err); !strings.HasPrefix(got, "421 too many failed logins from your address, try again after ") {
		t.Errorf("banned address: got %q, want a 421 refusal", got)
	}
	// Another address is unaffected.
	c := ts.login(t, from("127.0.0.2"))
	if err := c.Stor("shifts.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("upload from another address: %v", err)
	}
	if got := len(ts.inbox.uploads()); got != 1 {
		t.Errorf("got %d imports, want 1", got)
	}
	var kinds []string
	for _, e := range ts.Recent() {
		kinds = append(kinds, e.Kind+" "+e.Remote[:strings.LastIndex(e.Remote, ":")])
	}
	want := []string{
		"connect 127.0.0.1", "login_failed 127.0.0.1",
		"connect 127.0.0.1", "login_failed 127.0.0.1",
		"connect 127.0.0.1", "login_failed 127.0.0.1", "banned 127.0.0.1",
		"refused 127.0.0.1",
		"connect 127.0.0.2", "login 127.0.0.2", "upload 127.0.0.2",
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestUploadImported(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.login(t)
	if err := c.Stor("shifts.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("STOR: got %q, want 226", reply(err))
	}
	// TYPE A stores a CRLF file byte for byte (ascii.go).
	if err := c.Type(ftp.TransferTypeASCII); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("/ascii.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("STOR in ASCII mode: got %q, want 226", reply(err))
	}
	// A file of the same name still pending in the home gets a unique name.
	if err := os.WriteFile(filepath.Join(ts.home, "pending.csv"), []byte("older"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("pending.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("STOR over a pending name: %v", err)
	}
	want := []Upload{
		{User: testUser, Location: testLocation, Home: ts.home, Path: filepath.Join(ts.home, "shifts.csv"), Name: "shifts.csv", Size: int64(len(shiftsCSV))},
		{User: testUser, Location: testLocation, Home: ts.home, Path: filepath.Join(ts.home, "ascii.csv"), Name: "ascii.csv", Size: int64(len(shiftsCSV))},
		{User: testUser, Location: testLocation, Home: ts.home, Path: filepath.Join(ts.home, "pending-2.csv"), Name: "pending.csv", Size: int64(len(shiftsCSV))},
	}
	got := ts.inbox.uploads()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Upload{}, "RemoteAddr")); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	for _, u := range got {
		if host, _, _ := net.SplitHostPort(u.RemoteAddr); host != "127.0.0.1" {
			t.Errorf("RemoteAddr: got %q, want 127.0.0.1:port", u.RemoteAddr)
		}
	}
	wantTree := map[string]string{
		"archive/shifts.csv":  shiftsCSV,
		"archive/ascii.csv":   shiftsCSV,
		"archive/pending.csv": shiftsCSV,
		"pending.csv":         "older",
	}
	if diff := cmp.Diff(wantTree, tree(t, ts.home)); diff != "" {
		t.Errorf("home, byte for byte (-want +got):\n%s", diff)
	}
}

func TestUploadRefusedByName(t *testing.T) {
	ts := startServer(t, nil)
	if err := os.WriteFile(filepath.Join(ts.root, "outside.csv"), []byte("not yours"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := ts.login(t)
	for _, tc := range []struct {
		path, want string
	}{
		{"notes.txt", "553 file name not allowed: only .csv files are accepted"},
		{"shifts.csv.exe", "553 file name not allowed: only .csv files are accepted"},
		{"archive/x.csv", "550 archive/ and rejected/ are read-only: upload into the top folder"},
		{"/rejected/x.csv", "550 archive/ and rejected/ are read-only: upload into the top folder"},
		{"sub/x.csv", "553 file name not allowed: upload into the top folder, without folders"},
		{".partial/x.csv", "553 file name not allowed: upload into the top folder, without folders"},
		{`..\..\outside.csv`, `553 file name not allowed: names may not contain / or \ (upload into the top folder)`},
		{"CON.csv", `553 file name not allowed: "CON" is a reserved device name on Windows`},
		{"lpt1.old.csv", `553 file name not allowed: "lpt1" is a reserved device name on Windows`},
		{"x.csv:stream", "553 file name not allowed: names may not contain ':' (alternate data streams)"},
		{"x.csv.", "553 file name not allowed: names may not end with a dot or a space"},
		{"x.csv ", "553 file name not allowed: names may not end with a dot or a space"},
		{".hidden.csv", "553 file name not allowed: names starting with a dot are hidden"},
		{"a\x00b.csv", "553 file name not allowed: names may not contain control characters"},
		{"a\x1bb.csv", "553 file name not allowed: names may not contain control characters"},
		{strings.Repeat("a", 197) + ".csv", "553 file name not allowed: the name is longer than 200 bytes"},
		{"/", "553 file name not allowed: a file name is needed"},
	} {
		t.Run(fmt.Sprintf("%q", tc.path), func(t *testing.T) {
			err := c.Stor(tc.path, strings.NewReader(shiftsCSV))
			if got := reply(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// ".." is resolved against the top folder: the file lands in the home.
	if err := c.Stor("../../outside.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatalf("STOR ../../outside.csv: got %q, want 226 inside the home", reply(err))
	}
	if got, want := len(ts.inbox.uploads()), 1; got != want {
		t.Fatalf("got %d imports, want %d", got, want)
	}
	if got, want := ts.inbox.uploads()[0].Path, filepath.Join(ts.home, "outside.csv"); got != want {
		t.Errorf("traversal upload: got path %q, want %q", got, want)
	}
	wantRoot := map[string]string{"outside.csv": "not yours", "clock/archive/outside.csv": shiftsCSV}
	if diff := cmp.Diff(wantRoot, tree(t, ts.root)); diff != "" {
		t.Errorf("home root after the attempts (-want +got):\n%s", diff)
	}
}

func TestReadOutsideHomeRefused(t *testing.T) {
	ts := startServer(t, nil)
	secret := filepath.Join(ts.root, "secret.csv")
	if err := os.WriteFile(secret, []byte("not yours"), 0o640); err != nil {
		t.Fatal(err)
	}
	mustSymlink := func(target, link string) {
		if err := os.Symlink(target, filepath.Join(ts.home, link)); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(secret, "link.csv")                                // to a file outside
	mustSymlink("/", "archive/rootlink")                           // to a folder outside
	mustSymlink("../rejected/r.csv", "archive/inside.csv")         // to a file inside
	mustSymlink(filepath.Join(ts.root, otherUser), "archive/peer") // to another user's home
	if err := os.WriteFile(filepath.Join(ts.home, "rejected", "r.csv"), []byte("r"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts.home, ".partial", "x.part"), []byte("partial"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := ts.login(t)
	for _, tc := range []struct {
		path, want string
	}{
		{"../secret.csv", "550 Could not access file: driver error: calling GetHandle: /secret.csv: file does not exist"},
		{"../../../../../etc/passwd", "550 Could not access file: driver error: calling GetHandle: /etc/passwd: file does not exist"},
		{"link.csv", "550 Could not access file: driver error: calling GetHandle: /link.csv: file does not exist"},
		{"archive/inside.csv", "550 Could not access file: driver error: calling GetHandle: /archive/inside.csv: file does not exist"},
		{"archive/rootlink/etc/passwd", "550 Could not access file: driver error: calling GetHandle: /archive/rootlink/etc/passwd: file does not exist"},
		{"archive/peer/archive/x.csv", "550 Could not access file: driver error: calling GetHandle: /archive/peer/archive/x.csv: file does not exist"},
		{".partial/x.part", "550 Could not access file: driver error: calling GetHandle: /.partial/x.part: file does not exist"},
		{`..\secret.csv`, `550 Could not access file: driver error: calling GetHandle: /..\secret.csv: file does not exist`},
		{"archive", "550 Could not access file: driver error: calling GetHandle: /archive: is a folder"},
	} {
		t.Run(fmt.Sprintf("RETR %q", tc.path), func(t *testing.T) {
			r, err := c.Retr(tc.path)
			if err == nil {
				b, _ := io.ReadAll(r)
				r.Close()
				t.Fatalf("got the file (%q), want %q", b, tc.want)
			}
			if got := reply(err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		dir, want string
	}{
		{".partial", "550 CD issue: /.partial: file does not exist"},
		{"archive/rootlink", "550 CD issue: /archive/rootlink: file does not exist"},
		{"../..", ""}, // "/" : the top folder
	} {
		t.Run("CWD "+tc.dir, func(t *testing.T) {
			if got := reply(c.ChangeDir(tc.dir)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if dir, err := c.CurrentDir(); err != nil || dir != "/" {
		t.Errorf("PWD after CWD ../..: got %q %v, want /", dir, err)
	}
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"/", []string{"archive", "rejected"}},
		{"/archive", nil},
		{"/rejected", []string{"r.csv"}},
	} {
		t.Run("LIST "+tc.dir, func(t *testing.T) {
			entries, err := c.List(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("listing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArchiveReadOnly(t *testing.T) {
	ts := startServer(t, nil)
	ts.inbox.will("bad.csv", refuse)
	c := ts.login(t)
	if err := c.Stor("good.csv", strings.NewReader(shiftsCSV)); err != nil {
		t.Fatal(err)
	}
	if got, want := reply(c.Stor("bad.csv", strings.NewReader(shiftsCSV))), `550 file refused: 3 bad lines, see rejected/bad.csv.errors.txt (first: line 2: date: "31/02/2026" is not a date)`; got != want {
		t.Fatalf("refused upload: got %q, want %q", got, want)
	}
	// Listable.
	entries, err := c.List("/rejected")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, fmt.Sprintf("%s %d %s", e.Name, e.Size, e.Type))
	}
	report := "line 2: date: \"31/02/2026\" is not a date\r\nline 3: employee_id: missing\r\nline 5: hours: \"x\" is not a number\r\n"
	want := []string{fmt.Sprintf("bad.csv %d file", len(shiftsCSV)), fmt.Sprintf("bad.csv.errors.txt %d file", len(report))}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("LIST /rejected (-want +got):\n%s", diff)
	}
	// Downloadable, byte for byte.
	for path, want := range map[string]string{"rejected/bad.csv.errors.txt": report, "/archive/good.csv": shiftsCSV, "rejected/bad.csv": shiftsCSV} {
		r, err := c.Retr(path)
		if err != nil {
			t.Fatalf("RETR %s: %v", path, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != want {
			t.Errorf("RETR %s: got %q %v, want %q", path, b, err, want)
		}
	}
	// Not writable.
	const denied = "permission denied: this account may only upload .csv files into its top folder, and read archive/ and rejected/"
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"DELE", func() error { return c.Delete("rejected/bad.csv.errors.txt") }, "550 Couldn't delete /rejected/bad.csv.errors.txt: " + denied},
		{"DELE top", func() error { return c.Delete("/archive") }, "550 Couldn't delete /archive: " + denied},
		{"RNFR/RNTO", func() error { return c.Rename("archive/good.csv", "good.csv") }, "550 Couldn't rename /archive/good.csv to /good.csv: " + denied},
		{"MKD", func() error { return c.MakeDir("archive/new") }, `550 Could not create "/archive/new" : ` + denied},
		{"RMD", func() error { return c.RemoveDir("rejected") }, "550 Could not delete dir /rejected: " + denied},
		{"STOR over archived", func() error { return c.Stor("archive/good.csv", strings.NewReader("x")) }, "550 archive/ and rejected/ are read-only: upload into the top folder"},
		{"APPE", func() error { return c.Append("good.csv", strings.NewReader("x")) }, "550 appending is not allowed: upload the whole file"},
		{"REST+STOR", func() error { return c.StorFrom("good.csv", strings.NewReader("x"), 10) }, "550 resuming an upload is not supported: upload the whole file again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reply(tc.do()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	raw := dialRaw(t, ts.addr)
	raw.cmd(t, "USER %s", testUser)
	raw.cmd(t, "PASS %s", testPassword)
	for cmd, want := range map[string]string{
		"SITE CHMOD 777 archive/good.csv": "500 SITE support is disabled",
		"MFMT 20200101000000 good.csv":    `550 Couldn't set mtime "2020-01-01T00:00:00Z" for "/good.csv", err: ` + denied,
	} {
		if got := raw.cmd(t, "%s", cmd); got != want {
			t.Errorf("%s: got %q, want %q", cmd, got, want)
		}
	}
	wantTree := map[string]string{
		"archive/good.csv":            shiftsCSV,
		"rejected/bad.csv":            shiftsCSV,
		"rejected/bad.csv.errors.txt": report,
	}
	if diff := cmp.Diff(wantTree, tree(t, ts.home)); diff != "" {
		t.Errorf("home unchanged (-want +got):\n%s", diff)
	}
}

func TestInboxOutcomes(t *testing.T) {
	ts := startServer(t, nil)
	ts.inbox.will("full.csv", full)
	ts.inbox.will("bad.csv", refuse)
	ts.inbox.will("flaky.csv", transient)
	c := ts.login(t)
	for _, tc := range []struct {
		name, want string
	}{
		{"full.csv", "452 full.csv not kept: the agent's buffer or disk is full, try again later"},
		{"bad.csv", `550 file refused: 3 bad lines, see rejected/bad.csv.errors.txt (first: line 2: date: "31/02/2026" is not a date)`},
		{"flaky.csv", "451 flaky.csv not imported: a local error occurred, try again later"},
		{"flaky.csv", ""}, // the retry succeeds
		{"full.csv", ""},  // so does this one, once there is room
	} {
		err := c.Stor(tc.name, strings.NewReader(shiftsCSV))
		if got := reply(err); got != tc.want {
			t.Errorf("STOR %s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	wantTree := map[string]string{
		"archive/flaky.csv":           shiftsCSV,
		"archive/full.csv":            shiftsCSV,
		"rejected/bad.csv":            shiftsCSV,
		"rejected/bad.csv.errors.txt": "line 2: date: \"31/02/2026\" is not a date\r\nline 3: employee_id: missing\r\nline 5: hours: \"x\" is not a number\r\n",
	}
	if diff := cmp.Diff(wantTree, tree(t, ts.home)); diff != "" {
		t.Errorf("home: no file left behind (-want +got):\n%s", diff)
	}
	var got []string
	for _, e := range ts.Recent() {
		if strings.HasPrefix(e.Kind, "upload") {
			got = append(got, fmt.Sprintf("%s %s %d", e.Kind, e.File, e.Code))
		}
	}
	want := []string{"upload_failed full.csv 452", "upload_refused bad.csv 550", "upload_failed flaky.csv 451", "upload flaky.csv 226", "upload full.csv 226"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestUploadTooLarge(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxFileSize = 1000 })
	c := ts.login(t)
	big := strings.Repeat("0421;E017;2026-11-20;08:00;16:00\r\n", 300) // 10 200 bytes
	if got, want := reply(c.Stor("big.csv", strings.NewReader(big))), "552 big.csv not kept: larger than the 1000B limit"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Exactly at the limit is fine, and the connection still works.
	if err := c.Stor("small.csv", strings.NewReader(big[:1000])); err != nil {
		t.Errorf("1000 bytes: got %q, want 226", reply(err))
	}
	if diff := cmp.Diff(map[string]string{"archive/small.csv": big[:1000]}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// enospc fails writes after limit bytes, or Sync, like a full disk.
type enospc struct {
	partialFile
	limit    int
	failSync bool
	written  int
}

func (e *enospc) Write(p []byte) (int, error) {
	if e.written+len(p) > e.limit {
		return 0, &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	}
	e.written += len(p)
	return e.partialFile.Write(p)
}

func (e *enospc) Sync() error {
	if e.failSync {
		return &os.PathError{Op: "sync", Path: "x", Err: syscall.ENOSPC}
	}
	return e.partialFile.Sync()
}

func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		full *enospc
		want string
	}{
		{"write", &enospc{limit: 100}, "452 x.csv not kept: the disk is full, try again later"},
		{"sync", &enospc{limit: 1 << 20, failSync: true}, "452 x.csv not kept: the disk is full, try again later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil, func(s *Server) {
				s.wrapPartial = func(f partialFile) partialFile { tc.full.partialFile = f; return tc.full }
			})
			c := ts.login(t)
			if got := reply(c.Stor("x.csv", strings.NewReader(strings.Repeat(shiftsCSV, 20)))); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if diff := cmp.Diff(map[string]string{}, tree(t, ts.home)); diff != "" {
				t.Errorf("nothing may be left (-want +got):\n%s", diff)
			}
			if n := len(ts.inbox.uploads()); n != 0 {
				t.Errorf("got %d imports, want 0", n)
			}
		})
	}
}

func TestAbortedUploadNeverImported(t *testing.T) {
	for _, tc := range []struct {
		name  string
		abort func(t *testing.T, r *rawClient, data net.Conn)
	}{
		{"connection reset", func(t *testing.T, r *rawClient, data net.Conn) {
			_ = data.(*net.TCPConn).SetLinger(0)
			_ = data.Close()
			if got := r.read(t); !strings.HasPrefix(got, "426 transfer aborted: ") {
				t.Errorf("got %q, want 426 transfer aborted", got)
			}
		}},
		{"ABOR", func(t *testing.T, r *rawClient, data net.Conn) {
			for _, want := range []string{"426 Connection closed; transfer aborted", "226 ABOR successful; closing transfer connection"} {
				got := ""
				if want[:3] == "426" {
					got = r.cmd(t, "ABOR")
				} else {
					got = r.read(t)
				}
				if got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil)
			r := dialRaw(t, ts.addr)
			data := r.loginAndPassive(t)
			if got := r.cmd(t, "STOR half.csv"); !strings.HasPrefix(got, "150") {
				t.Fatalf("STOR: got %q, want 150", got)
			}
			if _, err := data.Write([]byte(shiftsCSV[:60])); err != nil {
				t.Fatal(err)
			}
			tc.abort(t, r, data)
			waitFor(t, "the aborted upload to be closed", func() bool {
				return hasEvent(ts.Server, Event{Kind: EventUploadFailed, File: "half.csv", Code: 426})
			})
			if n := len(ts.inbox.uploads()); n != 0 {
				t.Errorf("got %d imports, want 0", n)
			}
			if diff := cmp.Diff(map[string]string{}, tree(t, ts.home)); diff != "" {
				t.Errorf("nothing may be left (-want +got):\n%s", diff)
			}
			// The session goes on.
			if got := r.cmd(t, "NOOP"); !strings.HasPrefix(got, "200") {
				t.Errorf("NOOP after the abort: got %q", got)
			}
		})
	}
}

func TestConnectionLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxConnections, c.MaxConnectionsPerIP = 3, 2 })
	for _, tc := range []struct {
		ip, want string
	}{
		{"127.0.0.1", ""},
		{"127.0.0.1", ""},
		{"127.0.0.1", "421 too many connections from your address, try again later"},
		{"127.0.0.2", ""},
		{"127.0.0.3", "421 too many connections, try again later"},
	} {
		_, err := ts.dial(t, from(tc.ip))
		if got := reply(err); got != tc.want {
			t.Errorf("from %s: got %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits one second")
	}
	ts := startServer(t, func(c *Config) { c.IdleTimeout = record.Duration(time.Second) })
	r := dialRaw(t, ts.addr)
	if got, want := r.read(t), "421 command timeout (1 seconds): closing control connection"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShutdownClosesLiveConnections(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, nil)
	idle := ts.login(t)
	// An upload in progress: STOR sent, half the data written.
	r := dialRaw(t, ts.addr)
	data := r.loginAndPassive(t)
	if got := r.cmd(t, "STOR half.csv"); !strings.HasPrefix(got, "150") {
		t.Fatalf("STOR: got %q", got)
	}
	if _, err := data.Write([]byte(shiftsCSV[:60])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upload to start", func() bool {
		entries, _ := os.ReadDir(filepath.Join(ts.home, partialDir))
		return len(entries) == 1
	})
	if err := ts.stop(); err != nil {
		t.Fatalf("Serve: got %v, want nil", err)
	}
	// Serve has returned: the connections are closed, the upload discarded.
	if err := idle.NoOp(); err == nil {
		t.Errorf("NOOP on the idle connection: got nil, want a closed connection")
	}
	if _, _, err := r.tp.ReadResponse(0); !errors.Is(err, io.EOF) && err == nil {
		t.Errorf("uploading connection: got %v, want it closed", err)
	}
	if n := len(ts.inbox.uploads()); n != 0 {
		t.Errorf("got %d imports, want 0", n)
	}
	if diff := cmp.Diff(map[string]string{}, tree(t, ts.home)); diff != "" {
		t.Errorf("nothing may be left (-want +got):\n%s", diff)
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Errorf("the port still accepts connections")
	}
	// Our goroutines are gone (the clients' are closed by Cleanup, later).
	idle.Quit()
	r.tp.Close()
	data.Close()
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestServeTwice(t *testing.T) {
	cfg := Config{Listen: "127.0.0.1:0", TLS: TLSConfig{Mode: TLSOff}, HomeRoot: t.TempDir(),
		Users: []User{{Name: testUser, PasswordHash: testHash(t, testPassword)}}}
	s, err := New(cfg, newFakeInbox(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx); err != nil { // listens, then stops at once
		t.Errorf("first Serve: got %v, want nil", err)
	}
	if err := s.Serve(ctx); err == nil || err.Error() != "ftp: Serve called twice" {
		t.Errorf("second Serve: got %v, want ftp: Serve called twice", err)
	}
	if err := s.Listen(); err == nil || err.Error() != "ftp: already listening" {
		t.Errorf("Listen after Serve: got %v, want ftp: already listening", err)
	}
}

func TestStaleUploadsDeletedAtStart(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "ftp", testUser, partialDir, "0123.part")
	if err := os.MkdirAll(filepath.Dir(stale), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("interrupted"), 0o640); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) { c.HomeRoot = filepath.Join(dir, "ftp") })
	if diff := cmp.Diff(map[string]string{}, tree(t, ts.home)); diff != "" {
		t.Errorf("home after start (-want +got):\n%s", diff)
	}
	for _, d := range []string{archiveDir, rejectedDir, partialDir} {
		for _, u := range []string{testUser, otherUser} {
			if fi, err := os.Stat(filepath.Join(ts.root, u, d)); err != nil || !fi.IsDir() {
				t.Errorf("%s/%s: got %v, want a folder", u, d, err)
			}
		}
	}
}
