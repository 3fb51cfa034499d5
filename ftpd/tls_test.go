package ftpd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jlaffaye/ftp"
)

func TestTLSUploads(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		required bool
		dial     func(*tls.Config) ftp.DialOption
	}{
		{TLSExplicit, false, ftp.DialWithExplicitTLS},
		{TLSExplicit, true, ftp.DialWithExplicitTLS},
		{TLSImplicit, false, ftp.DialWithTLS},
	} {
		name := tc.mode
		if tc.required {
			name += " required"
		}
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required = tc.mode, tc.required })
			ts.inbox.will("full.csv", full)
			c := ts.login(t, tc.dial(ts.tlsClientConfig(t)))
			for _, st := range []struct{ name, want string }{
				{"shifts.csv", ""},
				{"notes.txt", "553 file name not allowed: only .csv files are accepted"},
				{"full.csv", "452 full.csv not kept: the agent's buffer or disk is full, try again later"},
			} {
				if got := reply(c.Stor(st.name, strings.NewReader(shiftsCSV))); got != st.want {
					t.Errorf("STOR %s: got %q, want %q", st.name, got, st.want)
				}
			}
			r, err := c.Retr("archive/shifts.csv")
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, len(shiftsCSV)+1)
			n, _ := r.Read(b)
			for n < len(shiftsCSV) {
				m, err := r.Read(b[n:])
				n += m
				if err != nil {
					break
				}
			}
			r.Close()
			if got := string(b[:n]); got != shiftsCSV {
				t.Errorf("RETR over TLS: got %q, want %q", got, shiftsCSV)
			}
			if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
				t.Errorf("home (-want +got):\n%s", diff)
			}
			if !strings.Contains(ts.logs.String(), "msg=\"ftp login\" user=clock") || !strings.Contains(ts.logs.String(), "tls=true") {
				t.Errorf("the login log should say tls=true:\n%s", ts.logs.String())
			}
		})
	}
}

func TestTLSRequiredRefusesCleartext(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required = TLSExplicit, true })
	r := dialRaw(t, ts.addr)
	if got, want := r.cmd(t, "USER %s", testUser), "530 this server requires TLS (explicit FTPS): set your client to FTP over TLS"; got != want {
		t.Errorf("USER in cleartext: got %q, want %q", got, want)
	}
	if _, _, err := r.tp.ReadResponse(0); err == nil {
		t.Errorf("the connection should be closed after the refusal")
	}
	// PASS without USER is answered the same.
	r = dialRaw(t, ts.addr)
	if got, want := r.cmd(t, "PASS %s", testPassword), "530 this server requires TLS (explicit FTPS): set your client to FTP over TLS"; got != want {
		t.Errorf("PASS in cleartext: got %q, want %q", got, want)
	}
	for _, e := range ts.Recent() {
		if e.Kind == EventLogin || e.Kind == EventLoginFailed {
			t.Errorf("got event %+v, want no login attempt", e)
		}
	}
}

func TestTLSOffRefusesAUTH(t *testing.T) {
	ts := startServer(t, nil)
	r := dialRaw(t, ts.addr)
	if got, want := r.cmd(t, "AUTH TLS"), "550 Cannot get a TLS config: TLS is off on this server"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestGeneratedCertificate(t *testing.T) {
	certDir := filepath.Join(t.TempDir(), "tls")
	read := func() (*x509.Certificate, []byte) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(certDir, certFileName))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return cert, b
	}
	start := func(publicHost string) {
		t.Helper()
		ts := startServer(t, func(c *Config) { c.TLS.Mode, c.CertDir, c.PublicHost = TLSExplicit, certDir, publicHost })
		if err := ts.stop(); err != nil {
			t.Fatal(err)
		}
	}
	start("203.0.113.7")
	first, firstPEM := read()
	type names struct {
		DNS []string
		IPs []string
	}
	ips := func(c *x509.Certificate) names {
		var out []string
		for _, ip := range c.IPAddresses {
			out = append(out, ip.String())
		}
		return names{c.DNSNames, out}
	}
	if diff := cmp.Diff(names{[]string{"localhost"}, []string{"127.0.0.1", "::1", "203.0.113.7"}}, ips(first)); diff != "" {
		t.Errorf("SANs (-want +got):\n%s", diff)
	}
	if got := first.PublicKeyAlgorithm; got != x509.ECDSA {
		t.Errorf("key: got %v, want ECDSA", got)
	}
	if d := time.Until(first.NotAfter); d < 4*365*24*time.Hour {
		t.Errorf("valid for %v, want about 5 years", d)
	}
	// Windows has no mode bits (Go reports 0666 for every writable file):
	// there the installer's ACL on the data folder (icacls) protects the key.
	if fi, err := os.Stat(filepath.Join(certDir, keyFileName)); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: got %v %v, want mode 0600", fi.Mode().Perm(), err)
	}
	// Reused on the next start.
	start("203.0.113.7")
	if _, again := read(); string(again) != string(firstPEM) {
		t.Errorf("the certificate was regenerated on restart, want it reused")
	}
	// Renewed when public_host changes to a name it does not carry.
	start("ftp.store42.example")
	renewed, _ := read()
	if diff := cmp.Diff(names{[]string{"localhost", "ftp.store42.example"}, []string{"127.0.0.1", "::1"}}, ips(renewed)); diff != "" {
		t.Errorf("renewed SANs (-want +got):\n%s", diff)
	}
}

func TestConfiguredCertificate(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := selfSigned("files.example", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) {
		c.TLS = TLSConfig{Mode: TLSImplicit, CertFile: certFile, KeyFile: keyFile}
		c.CertDir = filepath.Join(dir, "unused")
	})
	conf := ts.tlsClientConfig(t)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ts.addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0].DNSNames; !cmp.Equal(got, []string{"localhost", "files.example"}) {
		t.Errorf("served certificate names: got %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused")); !os.IsNotExist(err) {
		t.Errorf("no certificate should be generated when files are given: %v", err)
	}
}

func TestTLSRequiredRefusesCleartextData(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required = TLSExplicit, true })
	r := dialRaw(t, ts.addr)
	if got := r.cmd(t, "AUTH TLS"); !strings.HasPrefix(got, "234 ") {
		t.Fatalf("AUTH TLS: got %q", got)
	}
	conn := tls.Client(r.conn, ts.tlsClientConfig(t))
	r.tp = textproto.NewConn(conn)
	for _, c := range []struct{ cmd, want string }{
		{"USER " + testUser, "331 OK"},
		{"PASS " + testPassword, "230 Password ok, continue"},
		{"PBSZ 0", "200 Whatever"},
		{"PROT C", "200 OK"},
	} {
		if got := r.cmd(t, "%s", c.cmd); got != c.want {
			t.Fatalf("%s: got %q, want %q", strings.Fields(c.cmd)[0], got, c.want)
		}
	}
	got := r.cmd(t, "EPSV")
	var port int
	if _, err := fmt.Sscanf(got[strings.Index(got, "|||"):], "|||%d|)", &port); err != nil {
		t.Fatalf("EPSV: got %q", got)
	}
	data, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if got, want := r.cmd(t, "STOR clear.csv"), "421 unable to open transfer: TLS is required"; got != want {
		t.Errorf("STOR over a cleartext data connection: got %q, want %q", got, want)
	}
	waitFor(t, "the refused upload to be closed", func() bool {
		return hasEvent(ts.Server, Event{Kind: EventUploadFailed, File: "clear.csv", Code: codeAborted})
	})
	if diff := cmp.Diff(map[string]string{}, tree(t, ts.home)); diff != "" {
		t.Errorf("nothing may be kept (-want +got):\n%s", diff)
	}
}
