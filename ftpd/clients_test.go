package ftpd

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ftpClient finds a real FTP client (lftp, ncftpput, tnftp, inetutils-ftp,
// python3), skipping the test when it is missing, unless
// STOREAGENT_REQUIRE_FTP_CLIENTS=1 (CI installs them: .ci/run).
func ftpClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("STOREAGENT_REQUIRE_FTP_CLIENTS") == "1" {
			t.Fatalf("%s is not installed (STOREAGENT_REQUIRE_FTP_CLIENTS=1)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// run runs a client with stdin, returning its combined output and error.
func run(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNcftpputTemporarySuffix: `ncftpput -S .tmp` uploads x.csv.tmp and
// renames it to x.csv; the file is imported once, as x.csv, and a refusal
// reaches ncftpput through RNTO.
func TestNcftpputTemporarySuffix(t *testing.T) {
	bin := ftpClient(t, "ncftpput")
	ts := startServer(t, nil)
	ts.inbox.will("bad.csv", refuse)
	host, port := hostPort(t, ts.addr)
	args := []string{"-u", testUser, "-p", testPassword, "-P", port, "-S", ".tmp", "-V", "-t", "30", host, "/"}
	if out, err := run(t, "", bin, append(args, writeTemp(t, "shifts.csv", shiftsCSV))...); err != nil {
		t.Fatalf("ncftpput: %v\n%s", err, out)
	}
	// ncftpput does not print RNTO's reply: on a failed rename it tries
	// DELE of the target and reports that. Its debug log has the reply.
	debug := filepath.Join(t.TempDir(), "ncftp.log")
	out, err := run(t, "", bin, append([]string{"-d", debug}, append(args, writeTemp(t, "bad.csv", shiftsCSV))...)...)
	log, _ := os.ReadFile(debug)
	if err == nil || !strings.Contains(string(log), `550: file refused: 3 bad lines, see rejected/bad.csv.errors.txt (first: line 2: date: "31/02/2026" is not a date)`) {
		t.Errorf("ncftpput of a refused file: %v, output %q, want a failure with the refusal in its log:\n%s", err, out, log)
	}
	var names []string
	for _, u := range ts.inbox.uploads() {
		names = append(names, u.Name)
	}
	if diff := cmp.Diff([]string{"shifts.csv", "bad.csv"}, names); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	got := tree(t, ts.home)
	delete(got, "rejected/bad.csv.errors.txt")
	if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV, "rejected/bad.csv": shiftsCSV}, got); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// TestFtplibStorThenRename: Python's ftplib doing STOR x.csv.tmp, RNFR,
// RNTO x.csv gets 250 only after the import, and on RNTO the same replies
// a STOR would get.
func TestFtplibStorThenRename(t *testing.T) {
	bin := ftpClient(t, "python3")
	ts := startServer(t, nil)
	ts.inbox.will("full.csv", full)
	host, port := hostPort(t, ts.addr)
	script := `
import ftplib, io, sys
f = ftplib.FTP()
f.connect(sys.argv[1], int(sys.argv[2]), timeout=30)
f.login(sys.argv[3], sys.argv[4])
for name in ("shifts", "full"):
    print(f.storbinary("STOR %s.csv.tmp" % name, io.BytesIO(sys.stdin.buffer.read() if name == "shifts" else b"x")))
    try:
        print(f.rename("%s.csv.tmp" % name, "%s.csv" % name))
    except ftplib.Error as e:
        print(e)
f.quit()
`
	out, err := run(t, shiftsCSV, bin, "-c", script, host, port, testUser, testPassword)
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	want := "226 Closing transfer connection\n250 Done !\n226 Closing transfer connection\n452 full.csv not kept: the agent's buffer or disk is full, try again later\n"
	if out != want {
		t.Errorf("ftplib replies:\n got %q\nwant %q", out, want)
	}
	if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// TestFtplibWindows1252Name: a client using cp1252 for names (no OPTS UTF8
// ON) uploads présence.csv; it is stored under its UTF-8 name.
func TestFtplibWindows1252Name(t *testing.T) {
	bin := ftpClient(t, "python3")
	ts := startServer(t, nil)
	host, port := hostPort(t, ts.addr)
	script := `
import ftplib, io, sys
f = ftplib.FTP(encoding="cp1252")
f.connect(sys.argv[1], int(sys.argv[2]), timeout=30)
f.login(sys.argv[3], sys.argv[4])
print(f.storbinary("STOR pr\u00e9sence.csv", io.BytesIO(sys.stdin.buffer.read())))
f.quit()
`
	out, err := run(t, shiftsCSV, bin, "-c", script, host, port, testUser, testPassword)
	if err != nil || out != "226 Closing transfer connection\n" {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	if diff := cmp.Diff(map[string]string{"archive/présence.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// TestLftpFallsBackToPassive: with active mode off, PORT is answered 502
// (not 421, which ends the session) and FEAT does not offer EPRT, so lftp
// set to active mode switches to passive and uploads.
func TestLftpFallsBackToPassive(t *testing.T) {
	bin := ftpClient(t, "lftp")
	ts := startServer(t, nil)
	out, err := run(t, "", bin, "-d", "-u", testUser+","+testPassword, "-e",
		"set ftp:passive-mode off; set ftp:ssl-allow no; set net:reconnect-interval-base 1; put "+writeTemp(t, "shifts.csv", shiftsCSV)+" -o shifts.csv; quit", "ftp://"+ts.addr)
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	for _, want := range []string{"<--- 502 PORT command is disabled", "---- Switching passive mode on", "<--- 226 Closing transfer connection"} {
		if !strings.Contains(out, want) {
			t.Errorf("lftp's transcript lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " EPRT") {
		t.Errorf("FEAT offers EPRT with active mode off:\n%s", out)
	}
	if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// TestLftpActiveFTPS: with active mode on, an active FTPS upload works: on
// the data connection the server opens, ftpd is the TLS server (as vsftpd
// and ProFTPD are). curl 7.87.0 to 7.88.1 (Debian 12) fail here because they
// send the data in cleartext after PROT P (curl issue #10666, fixed in curl
// 8.0.0): see the README.
func TestLftpActiveFTPS(t *testing.T) {
	bin := ftpClient(t, "lftp")
	ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required, c.ActiveMode = TLSExplicit, true, true })
	out, err := run(t, "", bin, "-d", "-u", testUser+","+testPassword, "-e",
		"set ftp:passive-mode off; set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set net:max-retries 1; put "+
			writeTemp(t, "shifts.csv", shiftsCSV)+" -o shifts.csv; quit", "ftp://"+ts.addr)
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	for _, want := range []string{"<--- 200 PORT command successful", "<--- 226 Closing transfer connection"} {
		if !strings.Contains(out, want) {
			t.Errorf("lftp's transcript lacks %q:\n%s", want, out)
		}
	}
	if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
		t.Errorf("home (-want +got):\n%s", diff)
	}
}

// TestTnftpTLSRequired: tnftp in cleartext against tls.required shows the
// 530 that says what to change (it used to show "Login failed" after 421).
func TestTnftpTLSRequired(t *testing.T) {
	bin := ftpClient(t, "tnftp")
	ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required = TLSExplicit, true })
	host, port := hostPort(t, ts.addr)
	out, _ := run(t, "user "+testUser+" "+testPassword+"\nquit\n", bin, "-n", "-v", host, port)
	if !strings.Contains(out, "530 this server requires TLS (explicit FTPS): set your client to FTP over TLS") {
		t.Errorf("tnftp output lacks the 530 reply:\n%s", out)
	}
}

// TestASCIIClients: a Unix client in ASCII mode uploading a CRLF file sends
// CR CR LF; it is stored with CRLF. A report downloaded in ASCII mode comes
// with CRLF: no "bare linefeed" warning, and the client's local copy has
// its own line ends.
func TestASCIIClients(t *testing.T) {
	for _, client := range []string{"tnftp", "inetutils-ftp"} {
		t.Run(client, func(t *testing.T) {
			bin := ftpClient(t, client)
			ts := startServer(t, nil)
			ts.inbox.will("bad.csv", refuse)
			host, port := hostPort(t, ts.addr)
			src := writeTemp(t, "crlf.csv", shiftsCSV)
			bad := writeTemp(t, "bad.csv", shiftsCSV)
			got := filepath.Join(t.TempDir(), "report.txt")
			if err := os.MkdirAll(filepath.Join(ts.home, rejectedDir), 0o750); err != nil {
				t.Fatal(err)
			}
			script := "user " + testUser + " " + testPassword + "\nascii\nput " + src + " crlf.csv\nput " + bad + " bad.csv\n" +
				"get rejected/bad.csv.errors.txt " + got + "\nquit\n"
			out, err := run(t, script, bin, "-n", "-v", "-p", host, port)
			if err != nil {
				t.Fatalf("%s: %v\n%s", client, err, out)
			}
			if strings.Contains(strings.ToLower(out), "bare linefeed") {
				t.Errorf("%s warns about bare linefeeds:\n%s", client, out)
			}
			report, err := os.ReadFile(filepath.Join(ts.home, rejectedDir, "bad.csv.errors.txt"))
			if err != nil {
				t.Fatal(err)
			}
			local, err := os.ReadFile(got)
			if err != nil {
				t.Fatalf("the report was not downloaded: %v\n%s", err, out)
			}
			if want := bytes.ReplaceAll(report, []byte("\r\n"), []byte("\n")); !bytes.Equal(local, want) {
				t.Errorf("downloaded report: got %q, want %q", local, want)
			}
			if b, err := os.ReadFile(filepath.Join(ts.home, archiveDir, "crlf.csv")); err != nil || string(b) != shiftsCSV {
				t.Errorf("archive/crlf.csv: got %q (%v), want %q", b, err, shiftsCSV)
			}
		})
	}
}
