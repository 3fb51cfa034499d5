package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jlaffaye/ftp"
)

// csvCase is one file of testdata/csv and how it must be delivered: the
// golden files were written for these options (see importers/staffcsv).
type csvCase struct {
	name  string
	data  []byte
	via   string // inbox, go-ftps (user bound to 0421), curl-ftp or curl-ftps (unbound user)
	agent string // A: dmy, 1000-byte limit; B: mdy, no limit
}

func csvCases(t *testing.T) []csvCase {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "csv")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []csvCase
	ways := []string{"inbox", "curl-ftp", "curl-ftps"}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("STOREAGENT_REQUIRE_CURL") == "1" {
			t.Fatal("curl is not installed (STOREAGENT_REQUIRE_CURL=1)")
		}
		t.Log("curl is not installed: its cases go through the Go FTPS client as the same unbound user")
		ways = []string{"inbox", "go-ftps-unbound"}
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		// Its golden file assumes "now" is 2026-11-21; a file made from the
		// real clock covers the rule here (see futureFile).
		if name == "refused-future.csv" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		c := csvCase{name: name, data: data, via: ways[len(out)%len(ways)], agent: "A"}
		if strings.Contains(name, "bound-0421") {
			c.via = "go-ftps"
		}
		if strings.Contains(name, "size-limit") {
			c.via = "inbox" // over FTP the upload itself is refused with 552 and nothing is kept
		}
		if strings.Contains(name, "mdy") || name == "refused-many-bad-lines.csv" {
			c.agent, c.via = "B", "inbox"
		}
		out = append(out, c)
	}
	if len(out) < 40 {
		t.Fatalf("got %d CSV cases, want the whole contract (40+)", len(out))
	}
	return out
}

func golden(t *testing.T, name string) []string {
	t.Helper()
	return readLines(t, filepath.Join("..", "..", "testdata", "csv", "golden", strings.TrimSuffix(name, ".csv")+".txt"))
}

// futureFile is a file with shifts more than a day ahead of the real clock.
func futureFile() ([]byte, []string) {
	day := time.Now().In(mustZone("America/Toronto")).AddDate(0, 0, 3).Format(time.DateOnly)
	data := fmt.Sprintf("location_id,employee_id,date,clock_in,clock_out\n0421,E001,%s,09:00,17:00\n", day)
	return []byte(data), []string{
		"refused-future-now.csv was refused: nothing in it was imported (1 bad line). Correct the problems below and upload the whole file again.",
		fmt.Sprintf("line 2: clock_in: %sT09:00 is more than 1 day in the future", day),
	}
}

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// TestCSVContractEndToEnd delivers every accepted form and every refusal
// reason of the CSV contract to real agents — by the watched inbox, with
// curl over FTP and FTPS, and with a Go FTP client over FTPS — and checks
// headquarters' records field by field and every refused file's report line
// by line, as read back over FTP for uploads.
func TestCSVContractEndToEnd(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")

	ftpAddr := freeAddr(t)
	a := writeAgentConfig(t, filepath.Join(dir, "a"), h.url, "", "csv: {max_file_size: 1000B}\n"+ftpSection(t, ftpAddr, "timeclock-pass-1"))
	a.ftpAddr, a.ftpPassword = ftpAddr, "timeclock-pass-1"
	b := writeAgentConfig(t, filepath.Join(dir, "b"), h.url, "", "csv: {date_order: mdy}\n")
	pa := startAgent(t, agentBin, a)
	pb := startAgent(t, agentBin, b)

	ftpc, err := ftp.Dial(a.ftpAddr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("ftp dial: %v\n%s", err, pa.out)
	}
	defer ftpc.Quit()
	if err := ftpc.Login("timeclock", a.ftpPassword); err != nil {
		t.Fatal(err)
	}

	var payroll *ftp.ServerConn         // the unbound user, when curl is missing
	want := map[string]map[string]any{} // key -> fields, later files win
	cases := csvCases(t)
	future, futureReport := futureFile()
	cases = append(cases, csvCase{name: "refused-future-now.csv", data: future, via: "inbox", agent: "A"})
	for _, c := range cases {
		setup := map[string]agentSetup{"A": a, "B": b}[c.agent]
		refused := strings.HasPrefix(c.name, "refused-")
		before := filesSeen(setup)
		var reportText string
		switch c.via {
		case "curl-ftp", "curl-ftps":
			reportText = curlUpload(t, c, a)
		case "go-ftps", "go-ftps-unbound":
			conn := ftpc
			if c.via == "go-ftps-unbound" {
				if payroll == nil {
					payroll = dialFTPS(t, a.ftpAddr, "payroll", a.ftpPassword)
				}
				conn = payroll
			}
			reportText = goFTPSUpload(t, c, conn)
		default:
			reportText = inboxDrop(t, c, setup, before)
		}
		if refused {
			wantReport := futureReport
			if c.name != "refused-future-now.csv" {
				wantReport = golden(t, c.name)
			}
			checkReport(t, c.name, wantReport, reportText)
			continue
		}
		for _, line := range golden(t, c.name) {
			f := fields(t, []byte(line))
			want[f["key"].(string)] = f
		}
	}

	if len(want) < 25 {
		t.Fatalf("got %d expected shifts from the golden files, want the whole contract's (25+)", len(want))
	}
	// Everything accepted arrives, exactly as parsed; nothing refused does.
	waitFor(t, "headquarters to hold every shift", 60*time.Second, func() bool { return len(h.records(t)) >= len(want) })
	time.Sleep(300 * time.Millisecond) // anything more would be a bug
	got := map[string]map[string]any{}
	for k, r := range h.records(t) {
		got[k] = fields(t, r.Line)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records at headquarters (-want +got):\n%s", diff)
	}
	if st := h.stats(t); st.RedeliveredLines != 0 {
		t.Errorf("got %d lines delivered twice under different batches", st.RedeliveredLines)
	}
	pa.stop(t)
	pb.stop(t)
}

// goFTPSUpload stores a case with the Go FTP client, checks the answer, and
// for a refused file reads its report back over FTP.
func goFTPSUpload(t *testing.T, c csvCase, conn *ftp.ServerConn) string {
	t.Helper()
	err := conn.Stor(c.name, bytes.NewReader(c.data))
	if !strings.HasPrefix(c.name, "refused-") {
		if err != nil {
			t.Errorf("%s: got FTP answer %v, want 226", c.name, err)
		}
		return ""
	}
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), c.name+".errors.txt") {
		t.Errorf("%s: got FTP answer %v, want a refusal naming the report", c.name, err)
	}
	r, err := conn.Retr("rejected/" + c.name + ".errors.txt")
	if err != nil {
		t.Fatalf("%s: the report cannot be read back over FTP: %v", c.name, err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	return string(body)
}

// inboxDrop puts a case in an agent's watched inbox, waits until the agent
// has processed it, checks where the file went, and for a refused file
// returns the report beside it.
func inboxDrop(t *testing.T, c csvCase, setup agentSetup, before int) string {
	t.Helper()
	drop(t, setup.inbox(), c.name, c.data)
	waitFor(t, c.name+" processed", 30*time.Second, func() bool { return filesSeen(setup) > before })
	if !strings.HasPrefix(c.name, "refused-") {
		if _, err := os.Stat(filepath.Join(setup.inbox(), "archive", c.name)); err != nil {
			t.Errorf("%s: the accepted file is not in archive/: %v", c.name, err)
		}
		return ""
	}
	body, err := os.ReadFile(filepath.Join(setup.inbox(), "rejected", c.name+".errors.txt"))
	if err != nil {
		t.Fatalf("%s: no report beside the refused file: %v", c.name, err)
	}
	if _, err := os.Stat(filepath.Join(setup.inbox(), "rejected", c.name)); err != nil {
		t.Errorf("%s: the refused file is not in rejected/: %v", c.name, err)
	}
	return string(body)
}

// checkReport compares a refused file's report, line by line, blank lines
// left out.
func checkReport(t *testing.T, name string, want []string, report string) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(report, "\n") {
		if strings.TrimSpace(l) != "" {
			got = append(got, l)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: report (-want +got):\n%s", name, diff)
	}
}

// filesSeen counts the file outcomes the running agent reports.
func filesSeen(s agentSetup) int {
	st := s.status()
	if st == nil {
		return -1
	}
	files, _ := st["recent_files"].([]any)
	n := len(files)
	// recent_files is capped: count the import log's csv lines too.
	logs, _ := st["import_log"].([]any)
	m := 0
	for _, l := range logs {
		if e, ok := l.(map[string]any); ok && e["source"] == "csv" {
			m++
		}
	}
	return max(n, m)
}

// curlUpload sends a case with curl as the unbound FTP user, over FTP or
// explicit FTPS, checks the answer, and for a refused file reads its report
// back over FTP.
func curlUpload(t *testing.T, c csvCase, a agentSetup) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), c.name)
	if err := os.WriteFile(src, c.data, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "ftp://payroll:" + a.ftpPassword + "@" + a.ftpAddr + "/"
	args := []string{"-sS", "--max-time", "60"}
	if c.via == "curl-ftps" {
		args = append(args, "--ssl-reqd", "-k")
	}
	out, err := exec.Command("curl", append(args, "-T", src, base+c.name)...).CombinedOutput()
	refused := strings.HasPrefix(c.name, "refused-")
	if !refused {
		if err != nil {
			t.Errorf("%s: curl (%s) failed: %v %s", c.name, c.via, err, out)
		}
		return ""
	}
	if err == nil {
		t.Errorf("%s: curl (%s) got 226 for a refused file", c.name, c.via)
	}
	report, err := exec.Command("curl", append(args, base+"rejected/"+c.name+".errors.txt")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: the report cannot be read back with curl: %v %s", c.name, err, report)
	}
	return string(report)
}

// dialFTPS logs in over explicit FTPS; the connection closes with the test.
func dialFTPS(t *testing.T, addr, user, password string) *ftp.ServerConn {
	t.Helper()
	c, err := ftp.Dial(addr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Quit() })
	if err := c.Login(user, password); err != nil {
		t.Fatal(err)
	}
	return c
}
