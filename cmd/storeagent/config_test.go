package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/importers/shopify"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/woocommerce"
	"github.com/tmas/storeagent/installer"
)

// TestSourceSections: the sources' sections and location ids load in the
// format users have (top-level shopify:/vend:, ids under each location), and
// each source validates its own section and ids, reported at their lines.
func TestSourceSections(t *testing.T) {
	const head = "agent: {id: a}\nupstream: {url: 'https://x', token: t}\n"
	path := filepath.Join(t.TempDir(), "config.yaml")
	c, err := config.Parse(path, []byte(head+`locations:
  "0421": {timezone: America/Toronto, shopify: "gid://shopify/Location/1234567890", vend: "1f2e3d4c", active: true}
  "0422": {shopify: 55}
shopify: {shop: acme, token_env: SHOPIFY_TOKEN, schedule: "2 * * * *", spread: 10m, backfill_days: 7, lookback: 48h}
vend:    {domain_prefix: acme, client_id: cid, client_secret_env: VEND_SECRET, schedule: "2 * * * *", staff: true}
`), configKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Section("shopify").(*shopify.Config); !ok || s.ShopName() != "acme" || s.PageSize != shopify.DefaultPageSize {
		t.Errorf("got shopify section %#v", c.Section("shopify"))
	}
	if v, ok := c.Section("vend").(*vend.Config); !ok || !v.UsesOAuth() || v.PageSize != vend.DefaultPageSize {
		t.Errorf("got vend section %#v", c.Section("vend"))
	}
	var got []string
	for _, name := range sortedSourceNames() {
		for _, b := range c.Bindings(name) {
			got = append(got, name+" "+b.LocationID+" "+b.SourceID)
		}
	}
	if diff := cmp.Diff([]string{"shopify 0421 gid://shopify/Location/1234567890", "shopify 0422 55", "vend 0421 1f2e3d4c"}, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}

	_, err = config.Parse(path, []byte(head+`locations:
  "0421": {shopify: "gid://shopify/Order/12", vend: "Queen St"}
shopify:
  shop: acme.com
  token: shpat_x
  page_size: 500
vend:
  domain_prefix: acme
  token: x
  shedule: "2 * * * *"
`), configKinds()...)
	want := []string{
		`config.yaml:4: locations[0421].shopify: "gid://shopify/Order/12" is not a Shopify location id (a number such as 1234567890, or gid://shopify/Location/1234567890; ` + "`storeagent locations shopify`" + ` lists them)`,
		`config.yaml:4: locations[0421].vend: "Queen St" is not a Lightspeed outlet id (letters, digits and dashes, such as 1f2e3d4c or the whole id; ` + "`storeagent locations vend`" + ` lists them)`,
		`config.yaml:6: shopify.shop: "acme.com" is not a myshopify name: give the name before .myshopify.com (Shopify admin > Settings > Domains shows it), not the store's own domain`,
		`config.yaml:8: shopify.page_size: 500 is out of range (1 to 250)`,
		`config.yaml:12: vend.shedule: unknown key (did you mean schedule?)`,
	}
	if err == nil {
		t.Fatal("got no error")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestWooCommerceSection: woocommerce maps locations in its own section
// (location, location_by_meta), not under each location: its TMAS ids give
// its bindings, by the ids `locations woocommerce` lists, and an id that is
// not one of the locations is refused at its line, like any other problem.
func TestWooCommerceSection(t *testing.T) {
	const head = "agent: {id: a}\nupstream: {url: 'https://x', token: t}\n"
	path := filepath.Join(t.TempDir(), "config.yaml")
	c, err := config.Parse(path, []byte(head+`locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: America/Vancouver}
woocommerce:
  url: https://shop.example.com
  consumer_key_env: WOO_KEY
  consumer_secret_env: WOO_SECRET
  location: "0421"
  location_meta_key: _pickup_store
  location_by_meta: {queen-st: "0421", granville: "0422"}
`), configKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := c.Section("woocommerce").(*woocommerce.Config); !ok || w.ShopID() != "shop.example.com" || w.PageSize != woocommerce.DefaultPageSize {
		t.Errorf("got woocommerce section %#v", c.Section("woocommerce"))
	}
	var got []string
	for _, b := range c.Bindings("woocommerce") {
		got = append(got, b.LocationID+" "+b.SourceID+" "+b.Zone.String())
	}
	want := []string{"0421 shop.example.com America/Toronto", "0422 _pickup_store=granville America/Vancouver", "0421 _pickup_store=queen-st America/Toronto"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}

	_, err = config.Parse(path, []byte(head+`locations:
  "0421": {timezone: America/Toronto, woocommerce: "0421"}
woocommerce:
  url: https://shop.example.com
  consumer_key: ck_x
  consumer_secret: cs_x
  location: "421"
  location_meta_key: _pickup_store
  location_by_meta:
    queen-st: "0421"
    king-st: "0422"
  page_size: 500
`), configKinds()...)
	wantErrs := []string{
		"config.yaml:4: locations[0421].woocommerce: unknown key (the keys here are active, name, shopify, timezone, vend)",
		`config.yaml:9: woocommerce.location: "421" is not one of the locations`,
		`config.yaml:13: woocommerce.location_by_meta[king-st]: "0422" is not one of the locations`,
		"config.yaml:14: woocommerce.page_size: 500 is out of range (1 to 100)",
	}
	if err == nil {
		t.Fatal("got no error")
	}
	if diff := cmp.Diff(wantErrs, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestEverySourceMapsLocations: each source's section maps locations one
// of the two ways the configuration knows.
func TestEverySourceMapsLocations(t *testing.T) {
	for _, name := range sortedSourceNames() {
		sec := sources[name].section()
		_, under := sec.(config.LocationMapper)
		_, own := sec.(config.LocationOwner)
		if under == own {
			t.Errorf("%s: its section %T must implement exactly one of config.LocationMapper and config.LocationOwner", name, sec)
		}
	}
}

// TestPackagedSampleHasEverySource: the sample configuration the packages
// install shows each source's section, commented out; uncommented (with
// the required keys filled in) it loads.
func TestPackagedSampleHasEverySource(t *testing.T) {
	sample := string(installer.SampleConfig(installer.Paths{}))
	lines := strings.Split(sample, "\n")
	for _, name := range sortedSourceNames() {
		t.Run(name, func(t *testing.T) {
			start := slices.Index(lines, "# "+name+":")
			if start < 0 {
				t.Fatalf("the packaged sample has no commented %q section", "# "+name+":")
			}
			text := slices.Clone(lines)
			for k := start; k < len(text) && strings.HasPrefix(text[k], "#"); k++ {
				text[k] = strings.TrimPrefix(strings.TrimPrefix(text[k], "#"), " ")
			}
			doc := strings.Join(text, "\n")
			doc = strings.Replace(doc, "  id: \"\"", "  id: store-042", 1)
			doc = strings.Replace(doc, "  url: \"\"", "  url: https://tmas.example", 1)
			hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
			doc = strings.Replace(doc, "  users: []", "  users: [{name: timeclock, password_hash: '"+string(hash)+"'}]", 1)
			doc = strings.Replace(doc, "locations: {}", `locations: {"0421": {timezone: America/Toronto}}`, 1)
			path := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, filepath.Join(filepath.Dir(path), "upstream.token"), "tok")
			doc = strings.ReplaceAll(doc, "'/etc/storeagent/upstream.token'", "'"+filepath.Join(filepath.Dir(path), "upstream.token")+"'")
			c, err := config.Parse(path, []byte(doc), configKinds()...)
			if err != nil {
				t.Fatalf("the sample with %s uncommented:\n%v", name, err)
			}
			if c.Section(name) == nil {
				t.Errorf("no %s section", name)
			}
		})
	}
}
