package shopify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tmas/storeagent/importers/record"
)

func TestShopName(t *testing.T) {
	for in, want := range map[string]string{
		"acme": "acme", "acme.myshopify.com": "acme", "https://acme.myshopify.com/": "acme",
		" ACME.myshopify.com ": "acme", "http://acme.myshopify.com/admin": "acme",
	} {
		t.Run(in, func(t *testing.T) {
			if got := (Config{Shop: in}).ShopName(); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.SetDefaults()
	want := Config{Schedule: "2 * * * *", Spread: record.Duration(10 * time.Minute), BackfillDays: 7,
		Lookback: record.Duration(48 * time.Hour), Lag: record.Duration(2 * time.Minute), PageSize: 100,
		APIVersion: "2026-10", BulkAfter: record.Duration(14 * 24 * time.Hour)}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "legacy token", cfg: Config{Shop: "https://acme.myshopify.com/", TokenEnv: "SHOPIFY_TOKEN"}},
		{name: "client credentials", cfg: Config{Shop: "acme", ClientID: "abc", ClientSecretFile: "/etc/s"}},
		{name: "nothing", cfg: Config{}, want: "shopify.shop: is required: the name before .myshopify.com (e.g. acme for acme.myshopify.com)\n" +
			"shopify.token: no credentials: give token, token_env or token_file (a custom app's Admin API access token, shpat_…), or client_id with client_secret, client_secret_env or client_secret_file (an app made in the Dev Dashboard)"},
		{name: "custom domain", cfg: Config{Shop: "shop.acme.com", Token: "x"},
			want: `shopify.shop: "shop.acme.com" is not a myshopify name: give the name before .myshopify.com (Shopify admin > Settings > Domains shows it), not the store's own domain`},
		{name: "both kinds", cfg: Config{Shop: "acme", Token: "x", ClientID: "y", ClientSecret: "z"},
			want: "shopify.token: give either a token (token, token_env or token_file) or client_id with a client secret, not both"},
		{name: "two ways", cfg: Config{Shop: "acme", Token: "x", TokenEnv: "Y"},
			want: "shopify.token: give the secret one way only: inline, _env or _file"},
		{name: "id alone", cfg: Config{Shop: "acme", ClientID: "y"},
			want: "shopify.client_secret: is required with client_id (or client_secret_env / client_secret_file)"},
		{name: "secret alone", cfg: Config{Shop: "acme", ClientSecretEnv: "S"}, want: "shopify.client_id: is required with a client secret"},
		{name: "everything wrong", cfg: Config{Shop: "ac me", Token: "x", APIVersion: "2026-05", BaseURL: "ftp://x", Schedule: "hourly",
			BackfillDays: -1, Lookback: record.Duration(time.Minute), PageSize: 251, BulkAfter: record.Duration(time.Minute)},
			want: `shopify.shop: "ac me" is not a myshopify name (letters, digits and dashes before .myshopify.com)` + "\n" +
				`shopify.api_version: "2026-05" is not an API version (YYYY-01, -04, -07 or -10, e.g. 2026-10)` + "\n" +
				`shopify.base_url: "ftp://x" is not an http(s) URL` + "\n" +
				`shopify.schedule: "hourly" is not a cron schedule (minute hour day month weekday, e.g. "2 * * * *"): expected exactly 5 fields, found 1: [hourly]` + "\n" +
				`shopify.backfill_days: -1 is out of range (1 to 3650)` + "\n" +
				`shopify.lookback: 1m0s must be longer than lag (2m0s): each run re-reads this window to catch refunds and edits` + "\n" +
				`shopify.page_size: 251 is out of range (1 to 250)` + "\n" +
				`shopify.bulk_after: 1m0s is too short (at least 1h; use disable_bulk: true to never use bulk operations)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.SetDefaults()
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSampleConfigIsValid(t *testing.T) {
	var doc struct {
		Shopify Config `yaml:"shopify"`
	}
	dec := yaml.NewDecoder(stringsReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	doc.Shopify.SetDefaults()
	if err := doc.Shopify.Validate(); err != nil {
		t.Errorf("got %v, want the sample to be valid", err)
	}
}

func TestNewReadsSecretsAndBindings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("shpat_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Shop: "acme", TokenFile: file}, nil, Options{}); err != nil {
		t.Errorf("got %v", err)
	}
	_, err := New(Config{Shop: "acme", TokenEnv: "STOREAGENT_TEST_UNSET_VARIABLE"}, nil, Options{})
	if err == nil || err.Error() != "shopify.token: environment variable STOREAGENT_TEST_UNSET_VARIABLE is not set" {
		t.Errorf("got %v", err)
	}
	_, err = New(Config{Shop: "acme", Token: "x"}, []record.Binding{
		{LocationID: "0421", SourceID: "gid://shopify/Location/12"},
		{LocationID: "0422", SourceID: "12"},
		{LocationID: "0423", SourceID: "Queen St"},
	}, Options{})
	want := "shopify: locations 0421 and 0422 are both mapped to Shopify location 12\n" +
		`shopify: location 0423: "Queen St" is not a Shopify location id (a number such as 1234567890, or gid://shopify/Location/1234567890)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
