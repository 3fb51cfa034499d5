package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// TestConnectVendThroughTheCLI signs in to the Lightspeed double as a
// technician would: the command prints an address, the "browser" opens it
// and is sent back to the agent's loopback listener, the tokens land in the
// buffer file, and `locations vend` then works with them.
func TestConnectVendThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	v := vendtest.NewServer(t, vendtest.WithClient("cid", "csecret"), vendtest.WithNow(time.Now()))
	v.AddOutlet(vendtest.Outlet{Name: "Queen St", TimeZone: "America/Toronto", Currency: "CAD"})
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(`agent: {id: cli-store, data_dir: data}
upstream: {url: "http://127.0.0.1:1", token: t}
locations: {"0421": {timezone: America/Toronto}}
vend: {domain_prefix: acme, client_id: cid, client_secret: csecret, base_url: %q, auth_url: %q}
status: {listen: %q}
`, v.URL, v.URL, freeAddr(t)))

	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"connect", "vend", "--no-browser", "--config", path}, strings.NewReader(""), out, out)
	}()
	var signIn string
	waitFor(t, "the sign-in address", 10*time.Second, func() bool {
		signIn = regexp.MustCompile(`http://\S+/connect\?\S+`).FindString(out.String())
		return signIn != ""
	})
	resp, err := http.Get(signIn) // the browser: sign in, be sent back to the agent
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-done; err != nil {
		t.Fatalf("connect vend: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "Connected to acme. The token is stored in "+filepath.Join(dir, "data", "buffer.db")) {
		t.Errorf("got output:\n%s", out)
	}
	sp, _, err := spool.Open(spool.Options{Path: filepath.Join(dir, "data", "buffer.db")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := vendTokens{sp}.LoadToken(context.Background())
	sp.Close()
	if err != nil || tok.DomainPrefix != "acme" || !v.RefreshTokenLive(tok.RefreshToken.Reveal()) {
		t.Fatalf("got stored token %v, %v; want a live grant for acme", tok, err)
	}
	if strings.Contains(out.String(), tok.RefreshToken.Reveal()) || strings.Contains(out.String(), tok.AccessToken.Reveal()) {
		t.Error("connect printed a token")
	}
	got, code := runCLI(t, "locations", "vend", "--config", path)
	if code != 0 || !strings.Contains(got, "Queen St") || !strings.Contains(got, "America/Toronto") {
		t.Errorf("locations vend with the stored token: exit %d\n%s", code, got)
	}
}

// TestBackfillAndSyncWhileStopped: with the service stopped, `backfill`
// imports a past window into the buffer with its progress line, and a
// later `sync` finds nothing new (records are keyed: re-reading is
// harmless).
func TestBackfillAndSyncWhileStopped(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	shop := shopifytest.NewServer(t, shopifytest.Options{SearchLag: -1})
	shop.AddToken("shpat_cli")
	loc := shop.AddLocation("Toronto", true)
	for i := range 30 {
		shop.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now.Add(-time.Duration(2+i*3) * time.Hour),
			Lines: []shopifytest.Line{{Title: "Mug", Qty: 1, Price: "10.00"}}})
	}
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(`agent: {id: cli-store, data_dir: data, timezone: America/Toronto}
upstream: {url: "http://127.0.0.1:1", token: t}
locations: {"0421": {timezone: America/Toronto, shopify: %q}}
shopify: {shop: acme, token: shpat_cli, base_url: %q, backfill_days: 7}
status: {listen: %q}
`, loc, shop.URL, freeAddr(t)))

	since := now.AddDate(0, 0, -6).Format(time.DateOnly)
	out, code := runCLI(t, "backfill", "shopify", "--since", since, "--config", path)
	if code != 0 || !strings.Contains(out, "backfill done: ") || !strings.Contains(out, "30 records read (30 new)") || !strings.Contains(out, "Queued records are delivered when the agent runs.") {
		t.Fatalf("backfill: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "sync", "shopify", "--config", path)
	if code != 0 || !strings.Contains(out, "shopify: ok, 0 records queued") {
		t.Errorf("sync after backfill: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "status", "--config", path)
	if code != 1 || !strings.Contains(out, "30 records waiting") || !strings.Contains(out, "the agent is not running") {
		t.Errorf("status while stopped: exit %d\n%s", code, out)
	}
}

// TestFTPPasswd sets a password from standard input: the hash lands in the
// configuration (comments kept), a new user is added with its location, and
// the agent's configuration still loads with it.
func TestFTPPasswd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, `# store 42
agent: {id: s42, data_dir: data}
upstream: {url: "http://127.0.0.1:1", token: t}
locations: {"0421": {timezone: America/Toronto}}
ftp:
  listen: "127.0.0.1:0"
  users:
    - {name: timeclock, password_hash: 'old', location: "0421"} # the timeclock
`)
	var out syncBuffer
	err := run(context.Background(), []string{"ftp", "passwd", "payroll", "--location", "0421", "--config", path}, strings.NewReader("s3cret-pass\n"), &out, &out)
	if err != nil || !strings.Contains(out.String(), "FTP user payroll added in "+path) {
		t.Fatalf("got %v\n%s", err, out.String())
	}
	err = run(context.Background(), []string{"ftp", "passwd", "timeclock", "--config", path}, strings.NewReader("another-pass\n"), &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	text := readFile(t, path)
	for _, want := range []string{"# store 42", "# the timeclock", "name: payroll", `location: "0421"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the configuration lost or lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "s3cret-pass") || strings.Contains(text, "another-pass") || strings.Contains(text, "'old'") {
		t.Errorf("a password is in the configuration in clear, or the old hash stayed:\n%s", text)
	}
	c, err := (&env{configPath: path}).load()
	if err != nil {
		t.Fatalf("the edited configuration does not load: %v", err)
	}
	for _, u := range c.FTP.Users {
		pw := map[string]string{"payroll": "s3cret-pass", "timeclock": "another-pass"}[u.Name]
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
			t.Errorf("user %s: the stored hash does not match the password", u.Name)
		}
	}
	if _, code := runCLI(t, "ftp", "passwd", "x", "--config", path); code != 2 {
		t.Errorf("got exit %d for an empty password, want 2", code)
	}
}
