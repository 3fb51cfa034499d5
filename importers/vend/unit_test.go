package vend

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
)

func TestConfigValidate(t *testing.T) {
	f := false
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"personal token", Config{DomainPrefix: "acme", TokenEnv: "VEND_TOKEN"}, ""},
		{"oauth", Config{DomainPrefix: "acme", ClientID: "id", ClientSecretFile: "/s", RedirectURL: "http://127.0.0.1:8765/callback", Staff: &f}, ""},
		{"nothing", Config{}, "vend.domain_prefix: is required (acme for acme.retail.lightspeed.app)\n" +
			"vend.token: is required: a personal token (token, token_env or token_file) or an OAuth application (client_id and client_secret)"},
		{"host given", Config{DomainPrefix: "acme.retail.lightspeed.app", Token: "x"}, `vend.domain_prefix: "acme.retail.lightspeed.app": give the name only (acme, not acme.retail.lightspeed.app)`},
		{"both", Config{DomainPrefix: "acme", Token: "x", ClientID: "id", ClientSecret: "s"}, "vend.token: give either a personal token or client_id/client_secret, not both"},
		{"two ways", Config{DomainPrefix: "acme", Token: "x", TokenEnv: "Y"}, "vend.token: give the secret one way only: inline, _env or _file"},
		{"no secret", Config{DomainPrefix: "acme", ClientID: "id"}, "vend.client_secret: is required with client_id (client_secret, client_secret_env or client_secret_file)"},
		{"bad values", Config{DomainPrefix: "acme", Token: "x", RedirectURL: "http://example.com/cb", BaseURL: "ftp://x", PageSize: 20000, Currency: "nzd", Schedule: "hourly", BackfillDays: -1},
			"vend.redirect_url: \"http://example.com/cb\" must be a loopback address (127.0.0.1 or localhost): the sign-in comes back to this machine\n" +
				"vend.base_url: \"ftp://x\" is not an http(s) URL\n" +
				"vend.page_size: 20000 is out of range (1 to 10000)\n" +
				"vend.currency: \"nzd\" is not an ISO 4217 code such as NZD\n" +
				"vend.schedule: \"hourly\" is not a cron schedule: expected exactly 5 fields, found 1: [hourly]\n" +
				"vend.backfill_days: -1 is out of range (1 to 3650)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.SetDefaults()
			if tc.name == "bad values" {
				c.Schedule, c.BackfillDays = tc.cfg.Schedule, tc.cfg.BackfillDays
			}
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	var c Config
	c.SetDefaults()
	if c.Schedule != "2 * * * *" || c.Spread.D() != 10*time.Minute || c.BackfillDays != 7 || c.PageSize != 200 || !c.StaffEnabled() || c.AuthURL != "https://secure.retail.lightspeed.app" {
		t.Errorf("got defaults %+v", c)
	}
	c.DomainPrefix = "acme"
	if got := c.APIBase(); got != "https://acme.retail.lightspeed.app" {
		t.Errorf("got base %s, want https://acme.retail.lightspeed.app", got)
	}
}

func TestSampleConfig(t *testing.T) {
	if !strings.Contains(SampleConfig, "domain_prefix: acme") || !strings.Contains(SampleConfig, "staff: true") {
		t.Errorf("got sample config %q", SampleConfig)
	}
}

func TestMatchOutlet(t *testing.T) {
	outlets := []apiOutlet{
		{ID: "b8ca3a65-0183-11e4-fbb5-2816d2677218", Name: "Second Outlet"},
		{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main Outlet"},
		{ID: "06bf537b-c783-11e6-f6b9-53a8b8ca3a64f8f4"[:0] + "11111111-c783-11e6-f6b9-aaaa3a64f8f4", Name: "Twin"},
	}
	for _, tc := range []struct{ in, want, err string }{
		{"b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", ""},
		{"B1E04BD8-F019-11E3-A0F5-B8CA3A64F8F4", "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", ""},
		{"d2677218", "b8ca3a65-0183-11e4-fbb5-2816d2677218", ""},
		{"3a64f8f4", "", `the outlet id "3a64f8f4" is ambiguous: it ends "Twin" (11111111-c783-11e6-f6b9-aaaa3a64f8f4) and "Main Outlet" (b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4); give the full outlet id`},
		{"deadbeef", "", `no Lightspeed outlet has the id "deadbeef" (list them with ` + "`storeagent locations vend`)"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := matchOutlet(tc.in, outlets)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.err {
				t.Errorf("got %q, %q; want %q, %q", got, gotErr, tc.want, tc.err)
			}
		})
	}
	_, err := resolve([]record.Binding{{LocationID: "1", SourceID: "d2677218"}, {LocationID: "2", SourceID: "b8ca3a65-0183-11e4-fbb5-2816d2677218"}}, outlets)
	if want := "vend: locations 1 and 2 are both bound to outlet b8ca3a65-0183-11e4-fbb5-2816d2677218"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"Tue, 10 Mar 2026 12:04:30 GMT", 4*time.Minute + 30*time.Second},
		{"Tue, 10 Mar 2026 11:59:00 GMT", time.Second},
		{"120", 2 * time.Minute},
		{"", 0},
		{"soon", 0},
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestShiftHours(t *testing.T) {
	in := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{7*time.Hour + 30*time.Minute, "7.50"},
		{7*time.Hour + 20*time.Minute, "7.3333"},
		{8*time.Hour + 40*time.Minute, "8.6667"},
		{3*time.Hour + 999*time.Millisecond, "3.00"},
		{time.Minute, "0.0167"},
		{0, "0.00"},
	} {
		if got := shiftHours(in, in.Add(tc.d)).String(); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	del := "2026-03-09T10:00:00+00:00"
	for _, tc := range []struct {
		s       apiSale
		v       verdict
		paid    bool
		unknown string
	}{
		{apiSale{Status: "CLOSED"}, countSale, true, ""},
		{apiSale{Status: "ONACCOUNT"}, countSale, false, ""},
		{apiSale{Status: "ONACCOUNT_CLOSED"}, countSale, true, ""},
		{apiSale{Status: "LAYBY"}, skipSale, false, ""},
		{apiSale{Status: "LAYBY_CLOSED"}, countSale, true, ""},
		{apiSale{Status: "AWAITING_PICKUP"}, skipSale, false, ""},
		{apiSale{Status: "PICKED_UP_CLOSED"}, countSale, true, ""},
		{apiSale{Status: "DISPATCHED_CLOSED"}, countSale, true, ""},
		{apiSale{Status: "SERVICE_CLOSED"}, countSale, true, ""},
		{apiSale{Status: "SAVED", State: "parked"}, skipSale, false, ""},
		{apiSale{Status: "VOIDED"}, voidSale, false, ""},
		{apiSale{Status: "CLOSED", DeletedAt: &del}, voidSale, false, ""},
		{apiSale{State: "closed"}, countSale, true, ""},
		{apiSale{State: "voided"}, voidSale, false, ""},
		{apiSale{State: "pending"}, skipSale, false, ""},
		{apiSale{Status: "NEW_THING", State: "closed"}, countSale, true, ""},
		{apiSale{Status: "NEW_THING"}, skipSale, false, `status "NEW_THING", state ""`},
	} {
		v, paid, unknown := classify(tc.s)
		if v != tc.v || paid != tc.paid || unknown != tc.unknown {
			t.Errorf("%s/%s: got %v %v %q, want %v %v %q", tc.s.Status, tc.s.State, v, paid, unknown, tc.v, tc.paid, tc.unknown)
		}
	}
}

func TestSaleAmounts(t *testing.T) {
	m := record.MustMoney
	total := func(s string) *record.Money { v := m(s); return &v }
	for _, tc := range []struct {
		name  string
		s     apiSale
		net   string
		items int64
		note  string
	}{
		{"ten decimals rounded once", apiSale{TotalPrice: total("30.00"), LineItems: []apiLine{
			{Quantity: m("1.00000"), Price: m("10.0049999999")}, {Quantity: m("1"), Price: m("10.0049999999")}, {Quantity: m("1"), Price: m("9.9900000002")}}}, "30.00", 3, ""},
		{"price after discount", apiSale{TotalPrice: total("18.00"), LineItems: []apiLine{{Quantity: m("2"), Price: m("9"), Discount: m("1")}}}, "18.00", 2, ""},
		{"price before discount", apiSale{TotalPrice: total("16.00"), LineItems: []apiLine{{Quantity: m("2"), Price: m("9"), Discount: m("1")}}}, "16.00", 2, ""},
		{"mismatch", apiSale{TotalPrice: total("201.50"), LineItems: []apiLine{{Quantity: m("1"), Price: m("200")}}}, "200.00", 1, "its lines add up to 200.00 but total_price is 201.50; the lines are used"},
		{"voided line left out", apiSale{TotalPrice: total("5.00"), LineItems: []apiLine{{Quantity: m("1"), Price: m("5")}, {Quantity: m("1"), Price: m("7"), Status: "VOIDED"}}}, "5.00", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := saleAmounts(tc.s, nil)
			if got := record.M(a.net).String(); got != tc.net || a.items != tc.items || a.note != tc.note {
				t.Errorf("got %s, %d, %q; want %s, %d, %q", got, a.items, a.note, tc.net, tc.items, tc.note)
			}
		})
	}
}

func TestTokenStoreNeverShowsSecrets(t *testing.T) {
	tok := Token{AccessToken: record.NewSecret("lsxs_at_SECRET"), RefreshToken: record.NewSecret("lsxs_rt_SECRET"), DomainPrefix: "acme", Expires: time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)}
	fs := FileTokenStore{Path: t.TempDir() + "/vend-token.json"}
	if _, err := fs.LoadToken(t.Context()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("got %v, want ErrNoToken", err)
	}
	if err := fs.SaveToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	got, err := fs.LoadToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken.Reveal() != "lsxs_at_SECRET" || got.RefreshToken.Reveal() != "lsxs_rt_SECRET" || !got.Expires.Equal(tok.Expires) || got.DomainPrefix != "acme" {
		t.Errorf("got %+v after a round trip", got)
	}
	for _, s := range []string{tok.LogValue().String(), strings.Join([]string{tok.AccessToken.String(), tok.RefreshToken.String()}, " ")} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("got %q, which shows a secret", s)
		}
	}
	if diff := cmp.Diff("[redacted] [redacted]", tok.AccessToken.String()+" "+tok.RefreshToken.String()); diff != "" {
		t.Error(diff)
	}
}

// TestFeedResume checks where a version feed goes on after a page: past its
// highest record and its version.max, and never at or behind where it was.
func TestFeedResume(t *testing.T) {
	v := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		after, highest int64
		max            *int64
		next           int64
		ok             bool
	}{
		{after: 10, highest: 15, next: 15, ok: true},
		{after: 10, highest: 15, max: v(40), next: 40, ok: true}, // versions are not consecutive
		{after: 10, highest: 15, max: v(12), next: 15, ok: true},
		{after: 10, highest: 10, next: 10, ok: false},           // a page that repeats the cursor
		{after: 10, highest: 7, max: v(9), next: 10, ok: false}, // or goes back
	} {
		var p feedPage[apiSale]
		p.Version.Max = tc.max
		if next, ok := p.resume(tc.after, tc.highest); next != tc.next || ok != tc.ok {
			t.Errorf("after %d, highest %d, max %v: got %d %v, want %d %v", tc.after, tc.highest, tc.max, next, ok, tc.next, tc.ok)
		}
	}
}

// TestSalesSeen: each sale is remembered once by its time, sales older than
// three weeks before the newest are forgotten, the cursor keeps them as
// differences, and a shift's window counts only what lies inside it, with
// an older cursor's spans counted only when wholly inside.
func TestSalesSeen(t *testing.T) {
	var c cursor
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, time.Hour, time.Hour, 2 * time.Hour} {
		c.remember("u", "A", base.Add(d))
	}
	c.remember("u", "B", base.Add(90*time.Minute))
	c.Seen = map[string][]span{"u": {{O: "C", F: base.Unix(), T: base.Add(2 * time.Hour).Unix(), N: 9}, {O: "D", F: base.Add(-30 * 24 * time.Hour).Unix(), T: base.Add(-30 * 24 * time.Hour).Unix(), N: 1}}}
	raw, err := json.Marshal(c.Sales)
	if err != nil || string(raw) != `{"u":{"A":[1772355600,3600,3600],"B":[1772361000]}}` {
		t.Errorf("got %s, %v", raw, err)
	}
	var back map[string]map[string]times
	if err := json.Unmarshal(raw, &back); err != nil || !cmp.Equal(back, c.Sales) {
		t.Errorf("read back %v, %v; want %v", back, err, c.Sales)
	}
	from, to := base.Add(30*time.Minute).Unix(), base.Add(3*time.Hour).Unix()
	if diff := cmp.Diff(map[string]int{"A": 2, "B": 1}, c.salesWithin("u", from, to)); diff != "" {
		t.Errorf("within (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"A": 3, "B": 1, "C": 9}, c.salesWithin("u", base.Add(-time.Hour).Unix(), to)); diff != "" {
		t.Errorf("within, with a whole older span (-want +got):\n%s", diff)
	}
	c.remember("u", "B", base.Add(22*24*time.Hour))
	if diff := cmp.Diff(map[string]map[string]times{"u": {"B": {base.Add(22 * 24 * time.Hour).Unix()}}}, c.Sales); diff != "" {
		t.Errorf("after three weeks (-want +got):\n%s", diff)
	}
	if len(c.Seen) != 0 {
		t.Errorf("older spans kept: %v", c.Seen)
	}
	if err := json.Unmarshal([]byte(`[5,0]`), new(times)); err == nil {
		t.Error("a cursor with repeated times was read")
	}
}
