package woocommerce

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

func fixtureBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every final error says what happened and what to do, in words, and
// carries the kind callers branch on.
func TestErrors(t *testing.T) {
	forbidden := fixtureBody(t, "wcios-error-wp-rest-forbidden.json")
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		edit  func(*Config)
		want  string
		kind  error
	}{
		{"cannot view", func(f *fixture) {
			f.srv.FailNext(401, nil, `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":401}}`)
		}, nil, `woocommerce: the shop does not let the API key read orders: "Sorry, you cannot list resources." (HTTP 401 woocommerce_rest_cannot_view): the key lacks Read permission, or the host strips the Authorization header`, record.ErrCredentials},
		{"rest_forbidden (fixture body)", func(f *fixture) { f.srv.FailNext(401, nil, forbidden) }, func(c *Config) { c.Auth = AuthQuery },
			`woocommerce: the shop does not let the API key read orders: "Sorry, you are not allowed to do that." (HTTP 401 rest_forbidden): the key lacks Read permission or its user may not manage WooCommerce`, record.ErrCredentials},
		{"wrong secret", nil, func(c *Config) { c.ConsumerSecret = "cs_wrong" },
			`woocommerce: the shop refused the API key: "Consumer secret is invalid." (HTTP 401 woocommerce_rest_authentication_error): the consumer key or secret is wrong, or the key was revoked`, record.ErrCredentials},
		{"write-only key", func(f *fixture) { f.srv.AddKey("ck_writeonly", "cs_writeonly", woocommercetest.Write) }, func(c *Config) { c.ConsumerKey, c.ConsumerSecret = "ck_writeonly", "cs_writeonly" },
			`woocommerce: the API key may not read: "The API key provided does not have read permissions." (HTTP 401 woocommerce_rest_authentication_error): its permission is Write only`, record.ErrCredentials},
		{"no woocommerce", func(f *fixture) { f.srv.SetMode(woocommercetest.ModeNoWooCommerce) }, nil,
			`woocommerce: URL/wp-json/wc/v3/orders has no WooCommerce REST API: "No route was found matching the URL and request method." (HTTP 404 rest_no_route): WooCommerce is not active on this site, or a plugin disabled its REST API`, ErrNoRoute},
		{"permalinks off", func(f *fixture) { f.srv.SetMode(woocommercetest.ModePermalinksOff) }, nil,
			`woocommerce: URL/wp-json/wc/v3/orders answered a web page "not found" (HTTP 404) instead of the REST API: the site's permalinks are probably "Plain"`, ErrNotJSON},
		{"security plugin", func(f *fixture) { f.srv.SetMode(woocommercetest.ModeSecurityPlugin) }, nil,
			`woocommerce: URL/wp-json/wc/v3/orders answered a web page titled "Just a moment..." (HTTP 200) instead of JSON: a security plugin or firewall (captcha, bot check), a maintenance page or a cache is in the way`, ErrNotJSON},
		{"maintenance, long Retry-After", func(f *fixture) { f.srv.SetMode(woocommercetest.ModeMaintenance); f.srv.SetRetryAfter("3600") }, nil,
			`woocommerce: URL/wp-json/wc/v3/orders answered HTTP 503 Service Unavailable (a maintenance or firewall page) and asks to wait 1h0m0s, longer than a run waits: the next run tries again`, nil},
		{"maintenance, no end", func(f *fixture) { f.srv.SetMode(woocommercetest.ModeMaintenance); f.srv.SetRetryAfter("30") }, nil,
			`woocommerce: URL/wp-json/wc/v3/orders kept failing after 6 attempts (last: HTTP 503 Service Unavailable (a maintenance or firewall page)); the next run tries again`, nil},
		{"old woocommerce", func(f *fixture) {
			f.srv.AddOrder(woocommercetest.Order{Created: at("2025-01-01T00:00:00Z"), Lines: []woocommercetest.Line{{Name: "Mug", Qty: 1, Price: "1.00"}}})
		}, nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := woocommercetest.Options{}
			if tc.name == "old woocommerce" {
				opts.IgnoreModifiedFilters = true
				tc.want = "woocommerce: the shop ignored modified_after (order 101 was modified at 2025-01-01T00:00:00, before 2026-11-13T18:00:00): WooCommerce 5.8 or later is needed"
			}
			f := newFixture(t, opts, tc.edit)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := f.imp.Fetch(context.Background(), nil)
			if err == nil {
				t.Fatal("got no error")
			}
			if got := strings.ReplaceAll(err.Error(), f.srv.URL, "URL"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(err, %v) is false", tc.kind)
			}
			if tc.kind == nil && errors.Is(err, record.ErrCredentials) {
				t.Errorf("a non-credentials error wraps ErrCredentials")
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "cs_") {
				t.Errorf("the error holds a secret: %s", err)
			}
		})
	}
}

// 429 and 503 are waited out (Retry-After in seconds or as a date), 5xx
// retried with back-off; then the page is read.
func TestRetries(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, nil)
	oneOrder(f.srv)
	f.srv.FailNext(429, http.Header{"Retry-After": {"7"}}, `{"code":"too_many","message":"slow down"}`)
	f.srv.FailNext(503, http.Header{"Retry-After": {woocommercetest.DefaultNow.Add(20 * time.Second).Format(http.TimeFormat)}, "Content-Type": {"text/html"}}, "<html><title>Busy</title></html>")
	f.srv.FailNext(502, nil, "bad gateway")
	recs, _, _ := f.run(t, nil)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if len(f.clk.sleeps) != 3 || f.clk.sleeps[0] != 7*time.Second || f.clk.sleeps[1] != 13*time.Second {
		t.Errorf("got sleeps %v, want 7s, then 13s (the date, 20 s after the start, less the 7 s slept), then a back-off", f.clk.sleeps)
	}
	if d := f.clk.sleeps[2]; d < 3200*time.Millisecond || d > 4800*time.Millisecond {
		t.Errorf("got back-off %v after the third failure, want 4s ± 20%%", d)
	}
}

func TestTLSErrors(t *testing.T) {
	srv := woocommercetest.NewServer(t, woocommercetest.Options{})
	srv.AddKey(testKey, testSecret, woocommercetest.Read)
	cfg := Config{URL: "https://shop.example.com", BaseURL: srv.URL, ConsumerKey: testKey, ConsumerSecret: testSecret, Location: "0421"}
	bind := []record.Binding{{LocationID: "0421", Zone: toronto}}
	imp, err := New(cfg, bind, Options{}) // the system's roots: the double's certificate is not trusted
	if err != nil {
		t.Fatal(err)
	}
	_, err = imp.Fetch(context.Background(), nil)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "the shop's TLS certificate is not signed by a trusted authority") || e.Fix != "install a certificate from a public authority on the shop (e.g. Let's Encrypt), or give its CA with woocommerce.ca_file" {
		t.Fatalf("got %v", err)
	}
	// With ca_file, the same shop is trusted.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.Certificate(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CAFile = ca
	imp, err = New(cfg, bind, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imp.Fetch(context.Background(), nil); err != nil {
		t.Errorf("with ca_file: %v", err)
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) { c.SaleStatuses = []string{"completed", "shipped"} })
	oneOrder(f.srv)
	got := f.imp.Check(context.Background())
	want := []record.Finding{
		{Check: "woocommerce orders", OK: true, Detail: "https://shop.example.com: the key reads orders (1 in the shop)"},
		{Check: "woocommerce statuses", Detail: "woocommerce.sale_statuses names shipped, which this shop does not have; counted as sales: completed (0); not counted: pending (0), processing (1), on-hold (0), cancelled (0), refunded (0), failed (0), checkout-draft (0)",
			Fix: "set woocommerce.sale_statuses to statuses the shop has (slugs as listed)"},
		{Check: "woocommerce location 0421", OK: true, Detail: "hours counted in America/Toronto"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f.srv.SetMode(woocommercetest.ModePermalinksOff)
	got = f.imp.Check(context.Background())
	if len(got) != 1 || got[0].OK || got[0].Fix != "in WordPress > Settings > Permalinks choose any structure but Plain, or set woocommerce.rest_route: true" {
		t.Errorf("permalinks off: got %+v", got)
	}
}

func TestLocations(t *testing.T) {
	f := newFixture(t, woocommercetest.Options{}, func(c *Config) {
		c.LocationMetaKey, c.LocationByMeta = "_pickup_store", map[string]string{"king": "0422"}
	})
	got, err := f.imp.Locations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Location{
		{ID: "shop.example.com", Name: "https://shop.example.com", Active: true, Note: "orders without a mapped _pickup_store are counted at TMAS location 0421"},
		{ID: "_pickup_store=king", Name: "king", Active: true, Note: "counted at TMAS location 0422"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// With query auth the address carries the secret: a failed connection's
// error must not.
func TestQueryAuthErrorsHoldNoSecret(t *testing.T) {
	srv := woocommercetest.NewServer(t, woocommercetest.Options{})
	cfg := Config{URL: "https://shop.example.com", BaseURL: srv.URL, Auth: AuthQuery, ConsumerKey: testKey, ConsumerSecret: testSecret, Location: "0421"}
	clk := &clock{now: woocommercetest.DefaultNow}
	imp, err := New(cfg, []record.Binding{{LocationID: "0421", Zone: toronto}}, Options{HTTPClient: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_, err = imp.Fetch(context.Background(), nil)
	if err == nil || strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "kept failing after 2 attempts (last: the connection failed (") {
		t.Errorf("got %v", err)
	}
}
