package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// runCLI runs the command in-process, as main would.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	code := exitCode(err, &errOut)
	return out.String() + errOut.String(), code
}

func expiredCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "store"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyFile
}

// TestDoctorNamesEveryFault runs doctor against a configuration with one
// fault of each kind and checks that each is named with what to do.
func TestDoctorNamesEveryFault(t *testing.T) {
	dir := t.TempDir()
	hq, err := receiver.New(receiver.Config{Tokens: []string{"the-right-token"}})
	if err != nil {
		t.Fatal(err)
	}
	hqSrv := httptest.NewServer(hq.Handler())
	defer hqSrv.Close()

	shop := shopifytest.NewServer(t, shopifytest.Options{})
	shop.AddToken("shpat_revoked")
	loc := shop.AddLocation("Toronto Queen St", true)
	shop.Uninstall() // the custom app was uninstalled: its token is rejected

	v := vendtest.NewServer(t, vendtest.WithPersonalToken("vend-token"))
	v.AddOutlet(vendtest.Outlet{ID: "0a1b2c3d-0000-4000-8000-00000000aaaa", Name: "Main", TimeZone: "America/Toronto", Currency: "CAD"})
	v.AddOutlet(vendtest.Outlet{ID: "9f8e7d6c-0000-4000-8000-00000000aaaa", Name: "Annex", TimeZone: "America/Toronto", Currency: "CAD"})

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cert, key := expiredCert(t, dir)
	hash, _ := hashForTest("timeclock-pass")
	cfg := fmt.Sprintf(`agent: {id: doc-store, data_dir: data}
upstream: {url: %q, token: a-wrong-token}
locations:
  "0421": {timezone: America/Toronto, shopify: %q, vend: "00000000aaaa"}
shopify: {shop: acme, token: shpat_revoked, base_url: %q}
vend: {domain_prefix: acme, token: vend-token, base_url: %q}
ftp:
  listen: %q
  tls: {mode: explicit, cert_file: %q, key_file: %q}
  users: [{name: timeclock, password_hash: '%s', location: "0421"}]
status: {listen: %q}
`, hqSrv.URL, loc, shop.URL, v.URL, busy.Addr(), cert, key, hash, freeAddr(t))
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil { // readable by all: a fault
		t.Fatal(err)
	}
	// A damaged buffer file.
	os.MkdirAll(filepath.Join(dir, "data"), 0o750)
	os.WriteFile(filepath.Join(dir, "data", "buffer.db"), []byte("this is not a bbolt file at all, it is damaged"), 0o600)

	out, code := runCLI(t, "doctor", "--config", path)
	if code != 1 {
		t.Errorf("got exit code %d, want 1", code)
	}
	for _, want := range []string{
		"[FAIL] configuration permissions: " + path + " is readable by every user (-rw-r--r--) and may hold secrets\n       fix: chmod 640 " + path,
		"[FAIL] buffer " + filepath.Join(dir, "data", "buffer.db") + ": was damaged and has been set aside as ",
		"[FAIL] headquarters " + hqSrv.URL + ": the agent token is refused (HTTP 401)\n       fix: set upstream.token (or token_env / token_file) to the token TMAS gave for this agent",
		"[FAIL] shopify: shopify credentials: ",
		"[FAIL] vend: ",
		"[FAIL] FTP port " + busy.Addr().String() + ": cannot listen: ",
		"[FAIL] FTP certificate " + cert + ": expired on ",
		"[ok  ] data folder " + filepath.Join(dir, "data") + ": writable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	if !strings.Contains(out, "uninstalled") {
		t.Errorf("doctor does not explain the rejected Shopify token (app uninstalled):\n%s", out)
	}
	if !strings.Contains(out, "00000000aaaa") || !strings.Contains(strings.ToLower(out), "ambiguous") {
		t.Errorf("doctor does not name the ambiguous outlet suffix:\n%s", out)
	}
	if strings.Contains(out, "a-wrong-token") || strings.Contains(out, "shpat_revoked") || strings.Contains(out, "vend-token") {
		t.Errorf("doctor printed a secret:\n%s", out)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("doctor output:\n%s", out)
	}
}

func TestDoctorBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("agent: {id: x}\nupstream: {url: 'https://x', token: t}\nlocations: {\"1\": {timezone: Nowhere}}\n"), 0o600)
	out, code := runCLI(t, "doctor", "--config", path)
	want := "[FAIL] configuration " + path + "\n  config.yaml:3: locations[1].timezone: \"Nowhere\" is not an IANA time zone (e.g. America/Toronto)\n"
	if code != 2 || !strings.HasPrefix(out, want) {
		t.Errorf("got exit %d and\n%s\nwant exit 2 and\n%s", code, out, want)
	}
}

func hashForTest(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	return string(b), err
}

// TestDoctorWarnsFTPWithoutTLS: doctor warns, and counts as a problem, an
// FTP endpoint whose TLS is off or not required; required explicit TLS and
// implicit TLS get no warning.
func TestDoctorWarnsFTPWithoutTLS(t *testing.T) {
	hq, err := receiver.New(receiver.Config{Tokens: []string{"the-right-token"}})
	if err != nil {
		t.Fatal(err)
	}
	hqSrv := httptest.NewServer(hq.Handler())
	defer hqSrv.Close()
	hash, _ := hashForTest("timeclock-pass")
	const fix = "       fix: set ftp.tls to {mode: explicit, required: true} (a self-signed certificate is generated at first start) and set the clients to require explicit FTP over TLS\n"
	for _, tc := range []struct {
		tls      string
		wantWarn string // "" = no warning
	}{
		{"{mode: \"off\"}", "[WARN] FTP TLS: ftp.tls.mode is off: FTP passwords and staff-hours files cross the network unencrypted\n" + fix},
		{"{mode: explicit}", "[WARN] FTP TLS: ftp.tls.required is false: clients may log in and upload without encryption\n" + fix},
		{"{mode: explicit, required: false}", "[WARN] FTP TLS: ftp.tls.required is false: clients may log in and upload without encryption\n" + fix},
		{"{mode: explicit, required: true}", ""},
		{"{mode: implicit}", ""},
	} {
		t.Run(tc.tls, func(t *testing.T) {
			dir := t.TempDir()
			cfg := fmt.Sprintf(`agent: {id: doc-store, data_dir: data}
upstream: {url: %q, token: the-right-token}
locations: {"0421": {timezone: America/Toronto}}
ftp:
  listen: %q
  tls: %s
  users: [{name: timeclock, password_hash: '%s', location: "0421"}]
status: {listen: %q}
`, hqSrv.URL, freeAddr(t), tc.tls, hash, freeAddr(t))
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runCLI(t, "doctor", "--config", path)
			if tc.wantWarn == "" {
				if code != 0 || strings.Contains(out, "[WARN]") || !strings.Contains(out, "Everything checked is fine.") {
					t.Errorf("got exit %d, want 0 and no warning:\n%s", code, out)
				}
				return
			}
			if code != 0 || !strings.Contains(out, tc.wantWarn) || !strings.Contains(out, "No problem found, but 1 warning to look at (above).") {
				t.Errorf("got exit %d, want 0, the warning %q and 1 warning counted:\n%s", code, tc.wantWarn, out)
			}
		})
	}
}
