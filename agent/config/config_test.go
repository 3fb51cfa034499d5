package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const good = `
agent: {id: store-042, data_dir: data, timezone: America/Toronto}
upstream:
  url: https://tmas.example.com
  token_env: TEST_UPSTREAM_TOKEN
locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: Europe/Paris, active: false}
inbox: {location: "0421"}
csv: {date_order: dmy, max_file_size: 5MB}
buffer: {max_size: 100MB}
`

func TestParseGood(t *testing.T) {
	t.Setenv("TEST_UPSTREAM_TOKEN", "tok-123")
	dir := t.TempDir()
	c, err := Parse(filepath.Join(dir, "config.yaml"), []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Agent.DataDir, filepath.Join(dir, "data"); got != want {
		t.Errorf("got data_dir %s, want %s (relative to the config file)", got, want)
	}
	if got, want := c.Buffer.Path, filepath.Join(dir, "data", "buffer.db"); got != want {
		t.Errorf("got buffer path %s, want %s", got, want)
	}
	if c.UpstreamToken.Reveal() != "tok-123" {
		t.Errorf("the upstream token was not read from the environment")
	}
	if got := c.Zone("0422").String(); got != "Europe/Paris" {
		t.Errorf("got zone %s", got)
	}
	zones := c.Zones()
	if _, ok := zones["0422"]; ok || len(zones) != 1 {
		t.Errorf("got zones %v, want only the active location", zones)
	}
	if c.CSV.MaxFileSize != 5e6 || c.Buffer.MaxSize != 100e6 || c.Upstream.BatchSize != 10000 || c.Status.Listen != "127.0.0.1:9181" {
		t.Errorf("got %+v %+v %+v", c.CSV, c.Buffer, c.Status)
	}
}

func TestParseErrorsNameLineAndKey(t *testing.T) {
	t.Setenv("TEST_UPSTREAM_TOKEN", "")
	os.Unsetenv("TEST_UPSTREAM_TOKEN")
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "agent: {id: a}\nupstream: {url: 'https://x', token: t}\nlocations: {\"1\": {}}\nbufer: {}\n",
			[]string{"config.yaml:4: bufer: unknown key (did you mean buffer?)"}},
		{"wrong type", "agent: {id: a}\nupstream: {url: 'https://x', token: t, batch_max_lines: lots}\nlocations: {\"1\": {}}\n",
			[]string{`config.yaml:2: upstream.batch_max_lines: "lots" is not a whole number`}},
		{"many problems", `agent:
  id: "store 42"
  timezone: Mars/Olympus
upstream:
  url: http://tmas.example.com
  token_env: TEST_UPSTREAM_TOKEN
locations:
  "0421":
    timezone: Nowhere
    vend: abcd1234
csv:
  date_order: ymd
buffer:
  when_full: drop_oldest
`, []string{
			`config.yaml:2: agent.id: "store 42" may only hold letters, digits and . _ : - (at most 64)`,
			`config.yaml:3: agent.timezone: "Mars/Olympus" is not an IANA time zone (e.g. America/Toronto)`,
			`config.yaml:5: upstream.url: "http://tmas.example.com" is plain HTTP: use https:// (plain HTTP is accepted on loopback only)`,
			`config.yaml:6: upstream.token_env: environment variable TEST_UPSTREAM_TOKEN is not set`,
			`config.yaml:9: locations[0421].timezone: "Nowhere" is not an IANA time zone (e.g. America/Toronto)`,
			`config.yaml:10: locations[0421].vend: an id is mapped for vend but there is no vend section`,
			`config.yaml:12: csv.date_order: "ymd" must be dmy (DD/MM/YYYY) or mdy (MM/DD/YYYY)`,
			`config.yaml:14: buffer.when_full: "drop_oldest": the only policy is refuse_uploads (accepted data is never dropped)`,
		}},
		{"missing everything", "agent: {}\n", []string{
			"config.yaml:1: agent.id: required: a name for this agent, e.g. store-042",
			"config.yaml: upstream.url: required: the TMAS API address",
			"config.yaml: upstream.token: required: give token, token_env or token_file",
			`config.yaml: locations: required: at least one TMAS location, e.g. "0421": {timezone: America/Toronto}`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(tc.text), testKinds...)
			if err == nil {
				t.Fatal("got no error")
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("super-secret-value\n"), 0o600)
	c, err := Parse(filepath.Join(dir, "config.yaml"), []byte("agent: {id: a}\nupstream: {url: 'https://x', token_file: token}\nlocations: {\"1\": {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.UpstreamToken.Reveal() != "super-secret-value" {
		t.Fatalf("got %q from the token file", c.UpstreamToken.Reveal())
	}
	for _, s := range []string{c.UpstreamToken.String(), strings.ToLower(strings.TrimSpace(fmtAll(c.UpstreamToken)))} {
		if strings.Contains(s, "super-secret") {
			t.Errorf("the secret shows in %q", s)
		}
	}
	_, err = Parse(filepath.Join(dir, "config.yaml"), []byte("agent: {id: a}\nupstream: {url: 'https://x', token: abc, token_file: token}\nlocations: {\"1\": {}}\n"))
	if err == nil || err.Error() != "config.yaml:2: upstream.token: give the secret one way only: inline, _env or _file" {
		t.Errorf("got %v", err)
	}
}

func fmtAll(v any) string {
	var b strings.Builder
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		b.WriteString(sprintf(f, v))
	}
	return b.String()
}

func sprintf(f string, v any) string { return fmt.Sprintf(f, v) }

// TestPackagedSampleDecodes: the sample configuration that install and the
// packages write uses only known keys; what it leaves to fill in is
// reported as such, each at its line.
func TestPackagedSampleDecodes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "installer", "packaging", "config.sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(filepath.Join(t.TempDir(), "config.yaml"), raw)
	if err == nil {
		t.Fatal("the unedited sample was accepted; it should ask for agent.id, upstream and locations")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, "unknown key") || strings.Contains(line, "wrong type") || !strings.HasPrefix(line, "config.yaml:") {
			t.Errorf("the sample does not decode: %s", line)
		}
	}
	for _, want := range []string{"agent.id: required", "upstream.url: required", "locations: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the sample's errors lack %q:\n%s", want, err)
		}
	}
}
