package woocommerce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("url: https://shop.example.com/boutique/\nconsumer_key: ck_a\nconsumer_secret_env: WOO_SECRET\nlocation: \"0421\"\nsale_statuses: [wc-Completed, processing, on-hold]\n"), &c); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := []string{c.ShopID(), c.APIBase(), c.Prefix(), strings.Join(c.SaleStatuses, ","), c.Auth, c.DateType, c.Fees, c.Schedule, c.Lookback.String(), c.Recheck.String(), c.Lag.String()}
	want := []string{"shop.example.com/boutique", "https://shop.example.com/boutique", "#", "completed,processing,on-hold", "header", "created", "include", "2 * * * *", "48h0m0s", "72h0m0s", "1m0s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var bare Config
	if err := yaml.Unmarshal([]byte(`order_prefix: ""`), &bare); err != nil {
		t.Fatal(err)
	}
	bare.SetDefaults()
	if bare.Prefix() != "" {
		t.Errorf("order_prefix \"\": got prefix %q, want none", bare.Prefix())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", ``, []string{
			"woocommerce.url: is required: the shop's address, e.g. https://shop.example.com",
			"woocommerce.consumer_key: is required (consumer_key, consumer_key_env or consumer_key_file): make a key with Read permission in WooCommerce > Settings > Advanced > REST API",
			"woocommerce.consumer_secret: is required (consumer_secret, consumer_secret_env or consumer_secret_file): make a key with Read permission in WooCommerce > Settings > Advanced > REST API",
			`woocommerce.location: is required: the TMAS location web orders are counted at (e.g. location: "0421")`,
		}},
		{"plain http", "url: http://shop.example.com\nconsumer_key: ck_a\nconsumer_secret: cs_b\nlocation: \"1\"", []string{
			`woocommerce.url: "http://shop.example.com" is plain HTTP: WooCommerce accepts API keys only over HTTPS (and they would travel in clear text); use https://`,
		}},
		{"query auth over http, even on loopback", "url: https://shop.example.com\nbase_url: http://127.0.0.1:8080\nauth: query\nconsumer_key: ck_a\nconsumer_secret: cs_b\nlocation: \"1\"", []string{
			"woocommerce.auth: query puts the consumer key and secret in the address: it is refused over plain HTTP (http://127.0.0.1:8080); use an https:// address",
		}},
		{"header auth to a loopback proxy", "url: https://shop.example.com\nbase_url: http://127.0.0.1:8080\nconsumer_key: ck_a\nconsumer_secret: cs_b\nlocation: \"1\"", nil},
		{"two ways and bad values", "url: shop.example.com\nconsumer_key: abc\nconsumer_key_env: K\nconsumer_secret: secret\nlocation: \"1\"\nauth: oauth\nsale_statuses: [trash, 'Not A Status']\ndate_type: shipped\nfees: some\npage_size: 250\nlookback: 30s\nschedule: hourly", []string{
			`woocommerce.url: "shop.example.com" is not an address such as https://shop.example.com`,
			"woocommerce.consumer_key: give the secret one way only: inline, _env or _file",
			"woocommerce.consumer_key: does not look like a WooCommerce consumer key (they start with ck_)",
			"woocommerce.consumer_secret: does not look like a WooCommerce consumer secret (they start with cs_)",
			`woocommerce.auth: "oauth" must be header (HTTP Basic) or query (key and secret in the query string)`,
			`woocommerce.sale_statuses: "trash" can never count as a sale`,
			`woocommerce.sale_statuses: "not a status" is not an order status slug (completed, processing, on-hold, …)`,
			`woocommerce.date_type: "shipped" must be created, paid or completed`,
			`woocommerce.fees: "some" must be include or exclude`,
			`woocommerce.schedule: "hourly" is not a cron schedule (minute hour day month weekday, e.g. "2 * * * *"): expected exactly 5 fields, found 1: [hourly]`,
			"woocommerce.lookback: 30s must be longer than lag (1m0s): each run re-reads this window to catch refunds and status changes",
			"woocommerce.page_size: 250 is out of range (1 to 100)",
		}},
		{"meta mapping without its map", "url: https://s.example\nconsumer_key: ck_a\nconsumer_secret: cs_b\nlocation_meta_key: _store", []string{
			"woocommerce.location_by_meta: is required with location_meta_key: map each meta value to a TMAS location",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			if err := yaml.Unmarshal([]byte(tc.yaml), &c); err != nil {
				t.Fatal(err)
			}
			c.SetDefaults()
			var got []string
			if err := c.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The embedded sample is a valid section once its secrets are given.
func TestSampleConfig(t *testing.T) {
	var doc struct {
		WooCommerce Config `yaml:"woocommerce"`
	}
	dec := yaml.NewDecoder(strings.NewReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	doc.WooCommerce.SetDefaults()
	if err := doc.WooCommerce.Validate(); err != nil {
		t.Errorf("sample: %v", err)
	}
}
