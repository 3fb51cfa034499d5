package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ftpAgent starts headquarters and an agent with the FTP endpoint (explicit
// TLS, users timeclock bound to 0421 and payroll), for the client tests.
func ftpAgent(t *testing.T, ftpExtra string) agentSetup {
	t.Helper()
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	ftpAddr := freeAddr(t)
	a := writeAgentConfig(t, filepath.Join(dir, "a"), h.url, "", ftpSection(t, ftpAddr, "timeclock-pass-1")+ftpExtra)
	a.ftpAddr, a.ftpPassword = ftpAddr, "timeclock-pass-1"
	p := startAgent(t, agentBin, a)
	t.Cleanup(func() { p.stop(t) })
	return a
}

// ftpHome is a user's FTP home in the agent's data folder.
func (s agentSetup) ftpHome(user string) string { return filepath.Join(s.dir, "data", "ftp", user) }

// TestFTPRefusalNamesTheReport: a refused upload's reply names the report
// where it really is, relative to the user's FTP home, also when an earlier
// refused file of the same name made the agent choose another name; and the
// reply counts bad lines as the report does (refused-bad-number.csv has 4
// problems on 3 lines).
func TestFTPRefusalNamesTheReport(t *testing.T) {
	a := ftpAgent(t, "")
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "csv", "refused-bad-number.csv"))
	if err != nil {
		t.Fatal(err)
	}
	c := dialFTPS(t, a.ftpAddr, "payroll", a.ftpPassword)
	const first = ` (first: line 2: hours: "sept" is not a number of hours (use 7.5, 7,5 or 7:30))`
	for _, want := range []string{
		"550 file refused: 3 bad lines, see rejected/refused-bad-number.csv.errors.txt" + first,
		"550 file refused: 3 bad lines, see rejected/refused-bad-number.1.csv.errors.txt" + first,
	} {
		if got := ftpReply(c.Stor("refused-bad-number.csv", bytes.NewReader(data))); got != want {
			t.Errorf("STOR: got %q, want %q", got, want)
		}
	}
	wantReport := golden(t, "refused-bad-number.csv")
	for _, name := range []string{"refused-bad-number.csv.errors.txt", "refused-bad-number.1.csv.errors.txt"} {
		r, err := c.Retr("rejected/" + name)
		if err != nil {
			t.Fatalf("RETR rejected/%s: %v", name, err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		r.Close()
		if diff := cmp.Diff(wantReport, nonEmptyLines(b.String())); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	for _, name := range []string{"refused-bad-number.csv", "refused-bad-number.1.csv"} {
		got, err := os.ReadFile(filepath.Join(a.ftpHome("payroll"), "rejected", name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("rejected/%s: got %q (%v), want the uploaded file", name, got, err)
		}
	}
}

// ftpReply is the FTP reply an error of jlaffaye/ftp carries, "" for nil.
func ftpReply(err error) string {
	var tp *textproto.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &tp):
		return fmt.Sprintf("%d %s", tp.Code, tp.Msg)
	}
	return "not an FTP reply: " + err.Error()
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range bytes.Split([]byte(s), []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// TestFTPTemporaryNameThenRename: through the real agent, STOR under a
// temporary name is kept out of the import (the agent's folder scan takes
// only *.csv) and RNTO to .csv imports it: 250 once committed, or the same
// refusal a STOR gets, naming the report.
func TestFTPTemporaryNameThenRename(t *testing.T) {
	a := ftpAgent(t, "")
	good, err := os.ReadFile(filepath.Join("..", "..", "testdata", "csv", "accepted-contract-example.csv"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(filepath.Join("..", "..", "testdata", "csv", "refused-bad-number.csv"))
	if err != nil {
		t.Fatal(err)
	}
	c := dialFTPS(t, a.ftpAddr, "payroll", a.ftpPassword)
	for _, tc := range []struct {
		tmp, to string
		data    []byte
		want    string
	}{
		{"week.csv.filepart", "week.csv", good, ""},
		{"bad.csv.tmp", "bad.csv", bad, `550 file refused: 3 bad lines, see rejected/bad.csv.errors.txt (first: line 2: hours: "sept" is not a number of hours (use 7.5, 7,5 or 7:30))`},
	} {
		if err := c.Stor(tc.tmp, bytes.NewReader(tc.data)); err != nil {
			t.Fatalf("STOR %s: %s", tc.tmp, ftpReply(err))
		}
		if _, err := os.Stat(filepath.Join(a.ftpHome("payroll"), tc.tmp)); err != nil {
			t.Fatalf("%s is not kept in the home until the rename: %v", tc.tmp, err)
		}
		if got := ftpReply(c.Rename(tc.tmp, tc.to)); got != tc.want {
			t.Errorf("RNTO %s: got %q, want %q", tc.to, got, tc.want)
		}
	}
	home := a.ftpHome("payroll")
	for _, p := range []string{"archive/week.csv", "rejected/bad.csv", "rejected/bad.csv.errors.txt"} {
		if _, err := os.Stat(filepath.Join(home, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"week.csv.filepart", "bad.csv.tmp", "week.csv", "bad.csv"} {
		if _, err := os.Stat(filepath.Join(home, p)); err == nil {
			t.Errorf("%s is still in the home", p)
		}
	}
}
