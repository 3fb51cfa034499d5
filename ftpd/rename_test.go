package ftpd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestTemporaryNameThenRename: STOR under a temporary name is kept out of
// the import; RNTO to .csv imports it and answers as STOR would.
func TestTemporaryNameThenRename(t *testing.T) {
	ts := startServer(t, nil)
	ts.inbox.will("bad.csv", refuse)
	ts.inbox.will("full.csv", full)
	ts.inbox.will("flaky.csv", transient)
	c := ts.login(t)
	for _, tc := range []struct{ tmp, to, want string }{
		{"shifts.csv.tmp", "shifts.csv", ""},
		{"winscp.csv.filepart", "/winscp.csv", ""},
		{"UPPER.CSV.PART", "upper.csv", ""},
		{"bad.csv.tmp", "bad.csv", `550 file refused: 3 bad lines, see rejected/bad.csv.errors.txt (first: line 2: date: "31/02/2026" is not a date)`},
		{"full.csv.tmp", "full.csv", "452 full.csv not kept: the agent's buffer or disk is full, try again later"},
		{"flaky.csv.tmp", "flaky.csv", "451 flaky.csv not imported: a local error occurred, try again later"},
		{"notes.csv.tmp", "notes.txt", "553 file name not allowed: only .csv files are accepted"},
		{"sub.csv.tmp", "sub/x.csv", "553 file name not allowed: upload into the top folder, without folders"},
		{"ro.csv.tmp", "archive/ro.csv", "550 archive/ and rejected/ are read-only: upload into the top folder"},
	} {
		if err := c.Stor(tc.tmp, strings.NewReader(shiftsCSV)); err != nil {
			t.Fatalf("STOR %s: got %q, want 226", tc.tmp, reply(err))
		}
		if got := reply(c.Rename(tc.tmp, tc.to)); got != tc.want {
			t.Errorf("RNFR %s, RNTO %s: got %q, want %q", tc.tmp, tc.to, got, tc.want)
		}
	}
	// Only temporary names may be renamed, and only to .csv.
	if got, want := reply(c.Rename("notes.csv.tmp", "other.csv.tmp")), "553 file name not allowed: only .csv files are accepted"; got != want {
		t.Errorf("RNTO a temporary name: got %q, want %q", got, want)
	}
	if got, want := reply(c.Rename("missing.csv.tmp", "x.csv")), "550 Couldn't access /missing.csv.tmp: /missing.csv.tmp: file does not exist"; got != want {
		t.Errorf("RNFR a missing file: got %q, want %q", got, want)
	}
	var names []string
	for _, u := range ts.inbox.uploads() {
		names = append(names, u.Name+" "+filepath.Base(u.Path))
	}
	wantImports := []string{"shifts.csv shifts.csv", "winscp.csv winscp.csv", "upper.csv upper.csv", "bad.csv bad.csv", "full.csv full.csv", "flaky.csv flaky.csv"}
	if diff := cmp.Diff(wantImports, names); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	got := tree(t, ts.home)
	want := map[string]string{
		"archive/shifts.csv": shiftsCSV, "archive/winscp.csv": shiftsCSV, "archive/upper.csv": shiftsCSV,
		"rejected/bad.csv": shiftsCSV, "rejected/bad.csv.errors.txt": "",
		"notes.csv.tmp": shiftsCSV, "sub.csv.tmp": shiftsCSV, "ro.csv.tmp": shiftsCSV,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreMapEntries(func(k, _ string) bool { return k == "rejected/bad.csv.errors.txt" })); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Counters{Logins: 1, UploadsAccepted: 3, UploadsRefused: 1, UploadsFull: 1, UploadsFailed: 5}, ts.Counters()); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

// TestTemporaryUploadsSwept: a temporary upload never renamed is deleted
// once a day old; other files and younger ones stay.
func TestTemporaryUploadsSwept(t *testing.T) {
	ts := startServer(t, nil)
	now := time.Now()
	for name, age := range map[string]time.Duration{"old.csv.tmp": 25 * time.Hour, "young.csv.part": 23 * time.Hour, "old.csv": 48 * time.Hour} {
		p := filepath.Join(ts.home, name)
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	ts.sweepTemps(now)
	if diff := cmp.Diff(map[string]string{"young.csv.part": "x", "old.csv": "x"}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

func TestIsTempName(t *testing.T) {
	for name, want := range map[string]bool{
		"x.csv.tmp": true, "x.csv.part": true, "x.csv.filepart": true, "X.CSV.TMP": true,
		"x.tmp": false, ".csv.tmp": false, "x.csv": false, "x.txt.part": false, "x.csv.tmp.csv": false,
	} {
		if got := isTempName(name); got != want {
			t.Errorf("isTempName(%q) = %v, want %v", name, got, want)
		}
	}
}
