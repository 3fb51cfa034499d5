package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// fakeSource is a source section as a POS package would write it.
type fakeSource struct {
	Domain   string          `yaml:"domain"`
	Spread   record.Duration `yaml:"spread"`
	Staff    *bool           `yaml:"staff"`
	PageSize int             `yaml:"page_size"`
	TLS      struct {
		Mode string `yaml:"mode"`
	} `yaml:"tls"`
}

func (f *fakeSource) SetDefaults() {
	if f.PageSize == 0 {
		f.PageSize = 100
	}
}

func (f *fakeSource) FieldErrors() []record.FieldError {
	var out []record.FieldError
	if f.Domain == "" {
		out = append(out, record.Fieldf("domain", "is required"))
	}
	if f.PageSize > 250 {
		out = append(out, record.Fieldf("page_size", "%d is out of range (1 to 250)", f.PageSize))
	}
	if f.TLS.Mode != "" && f.TLS.Mode != "on" {
		out = append(out, record.Fieldf("tls.mode", "%q is not on", f.TLS.Mode))
	}
	return out
}

func (f *fakeSource) CheckLocationID(id string) error {
	if strings.ContainsAny(id, " /") {
		return fmt.Errorf("%q is not an outlet id", id)
	}
	return nil
}

var testKinds = []Kind{
	{Name: "shopify", New: func() Section { return new(fakeSource) }},
	{Name: "vend", New: func() Section { return new(fakeSource) }},
}

const head = "agent: {id: a}\nupstream: {url: 'https://x', token: t}\n"

func TestSectionsAndLocationIDs(t *testing.T) {
	c, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(head+`locations:
  "0421": {timezone: America/Toronto, shopify: 1234567890, vend: "1f2e3d4c"}
  "0422": {vend: "00000000aaaa", active: false}
vend: {domain: acme}
shopify: {domain: acme, page_size: 50}
`), testKinds...)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := c.Section("vend").(*fakeSource)
	if !ok || v.Domain != "acme" || v.PageSize != 100 {
		t.Fatalf("got vend section %#v, want it decoded and defaulted", c.Section("vend"))
	}
	type b struct {
		Loc, SID, Zone string
		Active         bool
	}
	var got []b
	for _, src := range []string{"shopify", "vend"} {
		for _, x := range c.Bindings(src) {
			got = append(got, b{x.LocationID, x.SourceID, x.Zone.String(), x.Active})
		}
	}
	want := []b{{"0421", "1234567890", "America/Toronto", true}, {"0421", "1f2e3d4c", "America/Toronto", true}, {"0422", "00000000aaaa", "Local", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	if c.Section("woocommerce") != nil {
		t.Error("an absent section is not nil")
	}
}

// TestEveryProblemAtOnce: value errors of every type, unknown keys (with a
// near miss suggested), keys given twice and the sections' own problems are
// all reported together, in line order, each with its line and key path.
func TestEveryProblemAtOnce(t *testing.T) {
	text := `agent:
  id: a
  timezon: America/Toronto
upstream:
  url: 'https://x'
  tokn: t
  batch_max_bytes: lots
  timeout: soon
  batch_max_lines: [1, 2]
locations:
  "0421": {timezone: America/Toronto, vned: "1f2e3d4c", shopify: "gid/x y"}
  "0422": "Queen St"
inbox:
  watch: maybe
  rescan: 1 minute
buffer: {max_size: 2GB, max_size: 3GB}
vend:
  domain: acme
  spread: 10 minutes
  staff: sometimes
  page_size: 500
  tls: {mode: off, cert: x}
shopify: {}
log:
  keep: five
  levle: info
`
	_, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(text), testKinds...)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want Errors", err)
	}
	want := []string{
		"config.yaml:3: agent.timezon: unknown key (did you mean timezone?)",
		"config.yaml:4: upstream.token: required: give token, token_env or token_file",
		"config.yaml:6: upstream.tokn: unknown key (did you mean token?)",
		`config.yaml:7: upstream.batch_max_bytes: "lots" is not a size (use 50MB, 2GB, 512KiB or a number of bytes)`,
		`config.yaml:8: upstream.timeout: "soon" is not a duration (use 90s, 15m, 48h or 7d)`,
		"config.yaml:9: upstream.batch_max_lines: must be one value, not a list",
		"config.yaml:11: locations[0421].vned: unknown key (did you mean vend?)",
		`config.yaml:11: locations[0421].shopify: "gid/x y" is not an outlet id`,
		`config.yaml:12: locations[0422]: must be a mapping (key: value), not the value "Queen St"`,
		`config.yaml:14: inbox.watch: "maybe" is not true or false`,
		`config.yaml:15: inbox.rescan: "1 minute" is not a duration (use 90s, 15m, 48h or 7d)`,
		"config.yaml:16: buffer.max_size: given twice (first at line 16)",
		`config.yaml:19: vend.spread: "10 minutes" is not a duration (use 90s, 15m, 48h or 7d)`,
		`config.yaml:20: vend.staff: "sometimes" is not true or false`,
		"config.yaml:21: vend.page_size: 500 is out of range (1 to 250)",
		"config.yaml:22: vend.tls.cert: unknown key (the keys here are mode)",
		`config.yaml:22: vend.tls.mode: "off" is not on`,
		"config.yaml:23: shopify.domain: is required",
		`config.yaml:25: log.keep: "five" is not a whole number`,
		"config.yaml:26: log.levle: unknown key (did you mean level?)",
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if got := errs[2]; got != (FieldError{File: "config.yaml", Line: 6, Path: "upstream.tokn", Msg: "unknown key (did you mean token?)"}) {
		t.Errorf("got structured error %#v", got)
	}
}

// TestUnknownSection: a section no kind declares is refused like any
// unknown key; a far miss lists the keys.
func TestUnknownSection(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"near", head + "locations: {\"1\": {}}\nshopfy: {domain: acme}\n", "config.yaml:4: shopfy: unknown key (did you mean shopify?)"},
		{"far", head + "locations: {\"1\": {}}\nwoocommerce: {}\n",
			"config.yaml:4: woocommerce: unknown key (the keys here are agent, buffer, csv, ftp, inbox, locations, log, shopify, status, upstream, vend)"},
		{"location id of no source", head + "locations: {\"1\": {lightspeed: x}}\n",
			"config.yaml:3: locations[1].lightspeed: unknown key (the keys here are active, name, shopify, timezone, vend)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(tc.text), testKinds...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// TestWindowsPathInDoubleQuotes: the YAML escape error names the line and
// key and says how to write the path.
func TestWindowsPathInDoubleQuotes(t *testing.T) {
	hint := `: in double quotes a backslash starts an escape (\n, \t, \x…); write Windows paths in single quotes ('C:\StoreAgent\data') or with forward slashes ("C:/StoreAgent/data")`
	for _, tc := range []struct{ name, text, want string }{
		{"unknown escape", "agent:\n  id: a\n  data_dir: \"C:\\StoreAgent\\data\"\n",
			"config.yaml:3: agent.data_dir: found unknown escape character" + hint},
		{"hex escape", "agent: {id: a}\nftp:\n  tls:\n    cert_file: \"C:\\xfiles\\cert.pem\"\n",
			"config.yaml:4: ftp.tls.cert_file: did not find expected hexdecimal number" + hint},
		{"flow mapping", "agent: {id: a, data_dir: \"C:\\StoreAgent\"}\n",
			"config.yaml:1: agent.data_dir: found unknown escape character" + hint},
		{"other syntax error", "agent: {id: a\n", "config.yaml:1: did not find expected ',' or '}'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(tc.text))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	known := []string{"timezone", "token", "token_env", "ftp", "vend", "locations"}
	for key, want := range map[string]string{"timezon": "timezone", "tokn": "token", "fpt": "ftp", "Timezone": "timezone", "tokenenv": "token_env", "vedn": "vend", "tz": "", "location": "locations", "xyz": ""} {
		if got := nearest(key, known); got != want {
			t.Errorf("nearest(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestAnchorsAndMerge: YAML anchors and merge keys work as with a plain
// decoder, and keys inside the merged mapping are checked as well.
func TestAnchorsAndMerge(t *testing.T) {
	_, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(head+`x-zone: &zone {timezone: Europe/Paris}
locations:
  "0421": *zone
  "0422": {<<: *zone, active: false}
`), testKinds...)
	if err == nil || err.Error() != "config.yaml:3: x-zone: unknown key (the keys here are agent, buffer, csv, ftp, inbox, locations, log, shopify, status, upstream, vend)" {
		t.Fatalf("got %v", err)
	}
	_, err = Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(`agent: &a {id: a}
upstream: {url: 'https://x', token: t}
locations:
  "0421": &loc {timezone: Europe/Paris}
  "0422": {<<: *loc, active: false}
  "0423": {<<: *a}
`), testKinds...)
	if err == nil || err.Error() != "config.yaml:1: locations[0423].id: unknown key (the keys here are active, name, shopify, timezone, vend)" {
		t.Fatalf("got %v", err)
	}
	c, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(`agent: {id: a}
upstream: {url: 'https://x', token: t}
locations:
  "0421": &loc {timezone: Europe/Paris}
  "0422": {<<: *loc, active: false}
`), testKinds...)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Zone("0422").String() + " " + fmt.Sprint(c.Locations["0422"].IsActive()); got != "Europe/Paris false" {
		t.Errorf("got %s, want the merged zone and the location's own active", got)
	}
}

func TestBadEscapeLine(t *testing.T) {
	for text, want := range map[string]int{
		`a: "C:\new\tab"` + "\nb: \"C:\\Store\"\n":                    2,
		`a: "\x4A \u00e9 \" ok"` + "\nb: 'C:\\Store'\nc: \"\\xZZ\"\n": 3,
		"a: plain\\path\n": 0,
	} {
		if got := badEscapeLine([]byte(text)); got != want {
			t.Errorf("%q: got line %d, want %d", text, got, want)
		}
	}
}

// webShop is a source whose mapping is in its own section (as woocommerce).
type webShop struct {
	Location string            `yaml:"location"`
	ByMeta   map[string]string `yaml:"by_meta"`
}

func (w *webShop) SetDefaults()                     {}
func (w *webShop) FieldErrors() []record.FieldError { return nil }
func (w *webShop) OwnLocations() map[string]record.Binding {
	out := map[string]record.Binding{"location": {LocationID: w.Location, SourceID: "shop"}}
	for v, id := range w.ByMeta {
		out["by_meta["+v+"]"] = record.Binding{LocationID: id, SourceID: "store=" + v}
	}
	return out
}

// TestLocationOwner: a section that maps locations in its own keys gets
// bindings from them (zones and active from locations:), an id that is not
// one of the locations is refused at its line, and its name is no key under
// a location.
func TestLocationOwner(t *testing.T) {
	kinds := append(testKinds[:2:2], Kind{Name: "web", New: func() Section { return new(webShop) }})
	c, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(head+`locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: Europe/Paris, active: false}
web: {location: "0421", by_meta: {queen: "0421", king: "0422"}}
`), kinds...)
	if err != nil {
		t.Fatal(err)
	}
	type b struct {
		Loc, SID, Zone string
		Active         bool
	}
	var got []b
	for _, x := range c.Bindings("web") {
		got = append(got, b{x.LocationID, x.SourceID, x.Zone.String(), x.Active})
	}
	want := []b{{"0422", "store=king", "Europe/Paris", false}, {"0421", "store=queen", "America/Toronto", true}, {"0421", "shop", "America/Toronto", true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}

	_, err = Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(head+`locations:
  "0421": {timezone: America/Toronto, web: "x"}
web:
  location: "421"
  by_meta:
    queen: "0421"
    king: "0499"
`), kinds...)
	wantErrs := []string{
		"config.yaml:4: locations[0421].web: unknown key (the keys here are active, name, shopify, timezone, vend)",
		`config.yaml:6: web.location: "421" is not one of the locations`,
		`config.yaml:9: web.by_meta[king]: "0499" is not one of the locations`,
	}
	if err == nil {
		t.Fatal("got no error")
	}
	if diff := cmp.Diff(wantErrs, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
