package shopify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

var now0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// smallShop is a double with one mapped location and n orders over the
// last days, each 2 × 5.00 (net 10.00).
func smallShop(t *testing.T, opts shopifytest.Options, n int) (*rig, []record.Binding) {
	t.Helper()
	tor := zone(t, "America/Toronto")
	r := newRig(t, now0, opts)
	loc := r.srv.AddLocation("Queen St", true)
	for k := range n {
		r.srv.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now0.Add(-time.Duration(k+1) * 97 * time.Minute),
			Lines: []shopifytest.Line{{Title: "Tea", SKU: "TEA", Qty: 2, Price: "5.00", Tax: "1.30"}}})
	}
	return r, []record.Binding{{LocationID: "0421", SourceID: loc, Zone: tor, Active: true}}
}

func netOf(recs []record.Record) string {
	var sum record.Money
	for _, r := range latest(recs) {
		sum = sum.Add(r.NetSales)
	}
	return sum.String()
}

func TestThrottlingNeverFails(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status429   bool
		drainBefore bool // another client empties the bucket before every page
	}{
		{name: "THROTTLED with HTTP 200", drainBefore: true},
		{name: "THROTTLED with HTTP 429", status429: true, drainBefore: true},
		{name: "paced from the start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, b := smallShop(t, shopifytest.Options{BucketSize: 1000, RestoreRate: 50, Throttle429: tc.status429}, 40)
			imp := r.importer(t, Config{PageSize: 4, DisableBulk: true}, b)
			var recs []record.Record
			var cur []byte
			pages := 0
			for {
				if tc.drainBefore {
					r.srv.DrainBucket()
				}
				p, err := imp.Fetch(context.Background(), cur)
				if err != nil {
					t.Fatalf("got error %v, want none: throttling must never fail", err)
				}
				pages++
				recs, cur = append(recs, p.Records...), p.Cursor
				if !p.More {
					break
				}
			}
			if got := netOf(recs); got != "400.00" {
				t.Errorf("got net %s, want 400.00", got)
			}
			wantThrottled := 0
			if tc.drainBefore {
				// Page 1: the importer knows nothing of the bucket yet; page 2:
				// it counts on the points page 1 left unused (asked for 3
				// agreements of 8 sales per order, used 1 of 1). From page 3
				// the nested sizes fit these orders, so a page costs what it
				// requests, and pacing waits as long as the drained bucket
				// needs: no THROTTLED answer.
				wantThrottled = 2
			}
			if got := r.srv.Stats().Throttled; got != wantThrottled {
				t.Errorf("got %d THROTTLED answers, want %d", got, wantThrottled)
			}
		})
	}
}

func TestMaxCostExceededShrinksPages(t *testing.T) {
	r, b := smallShop(t, shopifytest.Options{MaxCost: 500}, 9)
	// One order with more agreements than fit, to exercise the follow-ups.
	big := r.srv.AddOrder(shopifytest.Order{Location: b[0].SourceID, ProcessedAt: now0.Add(-30 * time.Minute),
		Lines: []shopifytest.Line{{Qty: 5, Price: "1.00"}}})
	for k := range 5 {
		r.srv.Refund(big, shopifytest.Refund{At: now0.Add(-time.Duration(29-k) * time.Minute), Lines: []shopifytest.ReturnLine{{Line: 0, Qty: 1}}})
	}
	imp := r.importer(t, Config{DisableBulk: true}, b)
	recs, _, _ := run(t, imp, nil)
	if got := netOf(recs); got != "90.00" {
		t.Errorf("got net %s, want 90.00 (9 sales of 10.00, and 5.00 sold then returned)", got)
	}
	if n := len(latest(recs)); n != 15 {
		t.Errorf("got %d records, want 10 sales and 5 returns", n)
	}
	if !strings.Contains(r.logs.String(), "asking fewer orders per page") {
		t.Errorf("got no log of the smaller pages")
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	r, b := smallShop(t, shopifytest.Options{}, 3)
	r.srv.FailNext(500, 502, 503)
	r.srv.ResetNext(2)
	imp := r.importer(t, Config{DisableBulk: true}, b)
	recs, _, _ := run(t, imp, nil)
	if got := netOf(recs); got != "30.00" {
		t.Errorf("got net %s, want 30.00", got)
	}
	if got := r.srv.Stats().Failed; got != 5 {
		t.Errorf("got %d injected failures, want 5", got)
	}
}

func TestErrorsExplainTheCause(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(*rig)
		cfg     Config
		want    string
		wantIs  error
		wantFix string
		// credentials: errors.Is(err, record.ErrCredentials), so the agent
		// turns the source red at once (401, 403, refused client, scopes).
		credentials bool
	}{
		{
			name:        "token revoked",
			setup:       func(r *rig) { r.srv.Uninstall() },
			want:        "shopify: the access token was rejected: the custom app may have been uninstalled or its creator removed from the shop (HTTP 401)",
			wantIs:      ErrUnauthorized,
			credentials: true,
		},
		{
			name:        "client credentials refused after uninstall",
			setup:       func(r *rig) { r.srv.AddClient("cid", "csecret-value"); r.srv.Uninstall() },
			cfg:         Config{ClientID: "cid", ClientSecret: "csecret-value"},
			want:        "shopify: the client id and secret were refused (HTTP 400 invalid_client): the app may have been uninstalled from the shop or deleted, or its secret rotated in the Dev Dashboard",
			wantIs:      ErrUnauthorized,
			credentials: true,
		},
		{
			name:   "frozen shop",
			setup:  func(r *rig) { r.srv.SetShopState(shopifytest.ShopFrozen) },
			want:   "shopify: the shop acme is frozen (HTTP 402 Payment Required): its Shopify bill is unpaid, and the API answers nothing until it is paid",
			wantIs: ErrShopUnavailable,
		},
		{
			name:   "locked shop",
			setup:  func(r *rig) { r.srv.SetShopState(shopifytest.ShopLocked) },
			want:   "shopify: the shop acme is locked by Shopify (HTTP 423 Locked): the API answers nothing while it is locked",
			wantIs: ErrShopUnavailable,
		},
		{
			name:   "no such shop",
			setup:  func(r *rig) { r.srv.SetShopState(shopifytest.ShopNotFound) },
			want:   `shopify: no shop answers at URL (HTTP 404): check shopify.shop ("acme", the name before .myshopify.com) and shopify.api_version (2026-10)`,
			wantIs: ErrShopUnavailable,
		},
		{
			name:        "read_orders missing",
			setup:       func(r *rig) { r.srv.SetScopes("read_locations") },
			want:        "shopify: access denied to orders: the app lacks the read_orders scope",
			wantIs:      ErrAccessDenied,
			credentials: true,
		},
		{
			name:        "HTTP 403",
			setup:       func(r *rig) { r.srv.FailNext(403) },
			want:        "shopify: access denied to the shop: the app lacks the read_orders scope",
			wantIs:      ErrAccessDenied,
			credentials: true,
		},
		{
			name:        "protected customer data",
			setup:       func(r *rig) { r.srv.DenyProtectedCustomerData(true) },
			want:        "shopify: access denied to agreements: the app is not approved for protected customer data (Shopify says: This app is not approved to access the Order object. See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.)",
			wantIs:      ErrAccessDenied,
			credentials: true,
		},
		{
			name:  "Shopify down",
			setup: func(r *rig) { r.srv.FailNext(503, 503, 503, 503, 503, 503) },
			want:  "shopify: the API kept failing while reading the shop (HTTP 503, 6 attempts): Shopify may be having an incident; the next run tries again",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, b := smallShop(t, shopifytest.Options{}, 2)
			tc.setup(r)
			cfg := tc.cfg
			cfg.DisableBulk = true
			imp := r.importer(t, cfg, b)
			_, err := imp.Fetch(context.Background(), nil)
			want := strings.ReplaceAll(tc.want, "URL", r.srv.URL)
			if err == nil || err.Error() != want {
				t.Fatalf("got error %v\nwant %s", err, want)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("got error not matching %v", tc.wantIs)
			}
			if got := errors.Is(err, record.ErrCredentials); got != tc.credentials {
				t.Errorf("got errors.Is(err, record.ErrCredentials) = %v, want %v", got, tc.credentials)
			}
			for _, secret := range []string{"shpat_legacy", "csecret-value"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(r.logs.String(), secret) {
					t.Errorf("a secret appears in the error or the logs")
				}
			}
		})
	}
}

func TestClientCredentialsRenewal(t *testing.T) {
	r, b := smallShop(t, shopifytest.Options{TokenTTL: time.Hour}, 2)
	r.srv.AddClient("cid", "csecret-value")
	imp := r.importer(t, Config{ClientID: "cid", ClientSecret: "csecret-value", DisableBulk: true}, b)
	ctx := context.Background()
	_, _, cur := run(t, imp, nil)
	if got := r.srv.Stats().TokensIssued; got != 1 {
		t.Fatalf("got %d tokens issued, want 1", got)
	}
	// 55 minutes later the token has 5 minutes left: renewed before use.
	r.clk.Advance(55 * time.Minute)
	if _, err := imp.Fetch(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if got := r.srv.Stats().TokensIssued; got != 2 {
		t.Errorf("got %d tokens issued, want 2 (renewed before expiry)", got)
	}
	// Shopify invalidates it early: the 401 is answered by one renewal.
	r.srv.ExpireTokens()
	if _, err := imp.Fetch(ctx, cur); err != nil {
		t.Fatalf("got %v, want the token renewed after a 401", err)
	}
	if got := r.srv.Stats().TokensIssued; got != 3 {
		t.Errorf("got %d tokens issued, want 3", got)
	}
	if strings.Contains(r.logs.String(), "csecret-value") || strings.Contains(r.logs.String(), "shpat_") {
		t.Errorf("a secret appears in the logs:\n%s", r.logs.String())
	}
}

func TestAPIVersionFallForward(t *testing.T) {
	r, b := smallShop(t, shopifytest.Options{}, 1)
	imp := r.importer(t, Config{APIVersion: "2024-01", DisableBulk: true}, b)
	run(t, imp, nil)
	run(t, imp, nil)
	if n := strings.Count(r.logs.String(), "the pinned API version is not supported any more"); n != 1 {
		t.Errorf("got the version warning %d times, want once", n)
	}
	if !strings.Contains(r.logs.String(), "answered_with=2025-10") {
		t.Errorf("got no mention of the version Shopify answered with:\n%s", r.logs.String())
	}
	var got record.Finding
	for _, f := range imp.Check(context.Background()) {
		if f.Check == "shopify api version" {
			got = f
		}
	}
	want := record.Finding{Check: "shopify api version", OK: false,
		Detail: "api_version 2024-01 is not supported any more: Shopify answered with 2025-10",
		Fix:    "set shopify.api_version to 2025-10 or a newer supported version"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("finding (-want +got):\n%s", d)
	}
}

func TestSearchWarnings(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"none", ``, ""},
		{"understood", `[{"path":["orders"],"query":"updated_at:>='2026-11-20T09:00:00Z'","parsed":{"field":"updated_at"}}]`, ""},
		{"warned", `[{"path":["orders"],"warnings":[{"field":"updated_at","message":"Values containing a colon must be quoted."},{"field":"foo","message":"Invalid search field for this query."}]}]`,
			"updated_at: Values containing a colon must be quoted.; foo: Invalid search field for this query."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := searchWarnings([]byte(tc.raw)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnreadableCursor(t *testing.T) {
	r, b := smallShop(t, shopifytest.Options{}, 1)
	imp := r.importer(t, Config{}, b)
	for _, tc := range []struct{ cursor, want string }{
		{`{not json`, "shopify: the saved position is unreadable (invalid character 'n' looking for beginning of object key string): reset the shopify state to start over"},
		{`{"v":9,"kind":"incremental"}`, `shopify: the saved position is not one this version understands (v9, "incremental"): reset the shopify state to start over`},
	} {
		if _, err := imp.Fetch(context.Background(), []byte(tc.cursor)); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", tc.cursor, err, tc.want)
		}
	}
}

// Online orders are left out by Shopify (source_name:pos in the search), so
// they are never served and cost no points, paged and bulk alike.
func TestOnlineOrdersAreFilteredByShopify(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(map[bool]string{false: "paged", true: "bulk"}[bulk], func(t *testing.T) {
			r, b := smallShop(t, shopifytest.Options{}, 3)
			for k := range 4 {
				r.srv.AddOrder(shopifytest.Order{Source: "web", ProcessedAt: now0.Add(-time.Duration(k+1) * 61 * time.Minute),
					Lines: []shopifytest.Line{{Title: "Tea", Qty: 1, Price: "5.00"}}})
			}
			imp := r.importer(t, Config{DisableBulk: !bulk, BulkAfter: record.Duration(time.Hour)}, b)
			recs, _, _ := run(t, imp, nil)
			if got := netOf(recs); got != "30.00" {
				t.Errorf("got net %s, want 30.00", got)
			}
			if got := r.srv.Stats().OrdersServed; got != 3 {
				t.Errorf("got %d orders served, want 3 (the POS orders only)", got)
			}
		})
	}
}
