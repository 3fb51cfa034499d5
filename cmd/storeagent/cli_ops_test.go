package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// TestSyncAgainstTheRunningAgent: `sync` against the running service prints
// each source's own error (not "the agent answered 502"), exits 1, and an
// unknown or missing source is bad usage (exit 2) in sync and backfill,
// with no progress drawn before the error.
func TestSyncAgainstTheRunningAgent(t *testing.T) {
	agentBin, _ := binaries(t)
	dir := t.TempDir()
	shop := shopifytest.NewServer(t, shopifytest.Options{SearchLag: -1})
	shop.AddToken("shpat_good")
	loc := shop.AddLocation("Toronto", true)
	s := writeAgentConfig(t, dir, "http://127.0.0.1:1", "", fmt.Sprintf(`shopify: {shop: acme, token: shpat_revoked, base_url: %q, schedule: "0 0 1 1 *", spread: 1s}
`, shop.URL))
	rewriteLocations(t, s, fmt.Sprintf(`  "0421": {timezone: America/Toronto, shopify: %q}`, loc))
	p := startAgent(t, agentBin, s)
	defer p.stop(t)

	out, code := cli(t, agentBin, "sync", "--config", s.config)
	if code != 1 {
		t.Errorf("sync with a refused token: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"shopify: shopify: the access token was rejected", "1 of 1 sources failed: see above"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "502") || strings.Contains(out, "shpat_revoked") {
		t.Errorf("sync output shows a bare status or the token:\n%s", out)
	}

	out, code = cli(t, agentBin, "sync", "vend", "--config", s.config)
	if want := `storeagent: no source "vend" is configured (configured: shopify)`; code != 2 || !strings.Contains(out, want) {
		t.Errorf("sync vend: exit %d, want 2 and %q\n%s", code, want, out)
	}
	out, code = cli(t, agentBin, "backfill", "vend", "--since", "2026-11-01", "--config", s.config)
	if code != 2 || strings.Contains(out, "backfill stopped") || !strings.Contains(out, `no source "vend" is configured`) {
		t.Errorf("backfill vend: exit %d, want 2 and no progress\n%s", code, out)
	}
}

// TestStatusExitCodes: the JSON form exits as the text form does, and a
// stopped agent lists its configured sources and the buffer's real limit.
func TestStatusExitCodes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(`agent: {id: s42, data_dir: data, timezone: America/Toronto}
upstream: {url: "http://127.0.0.1:1", token: t}
locations: {"0421": {timezone: America/Toronto, shopify: "gid://shopify/Location/1"}}
shopify: {shop: acme, token: shpat_x, base_url: "http://127.0.0.1:1"}
buffer: {max_size: 1GB}
status: {listen: %q}
`, freeAddr(t)))
	text, code := runCLI(t, "status", "--config", path)
	if code != 1 {
		t.Errorf("status of a stopped agent: exit %d, want 1", code)
	}
	for _, want := range []string{"  shopify  stopped", "file 24576 of 1000000000 bytes"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "(none configured)") {
		t.Errorf("status says no source is configured:\n%s", text)
	}
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"status", "--json", "--config", path}, strings.NewReader(""), &out, &errOut)
	if code := exitCode(err, &errOut); code != 1 {
		t.Errorf("status --json: exit %d, want 1 like the text form", code)
	}
	var st agent.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out.String())
	}
	if st.Healthy || len(st.Sources) != 1 || st.Sources[0].Name != "shopify" || st.Buffer.MaxBytes != 1_000_000_000 {
		t.Errorf("got status %+v", st)
	}
}

func TestPrintFindings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		findings []record.Finding
		want     string
		err      string
	}{
		{"fine", []record.Finding{{Check: "a", OK: true}}, "[ok  ] a\nEverything checked is fine.\n", ""},
		{"one problem", []record.Finding{{Check: "a", Detail: "broken", Fix: "mend it"}}, "[FAIL] a: broken\n       fix: mend it\n", "1 problem found"},
		{"a warning is counted, not a failure",
			[]record.Finding{{Check: "a", OK: true}, {Check: "location 0422", OK: true, Warning: true, Detail: "no POS source is mapped to it", Fix: "map it"}},
			"[ok  ] a\n[WARN] location 0422: no POS source is mapped to it\n       fix: map it\nNo problem found, but 1 warning to look at (above).\n", ""},
		{"both", []record.Finding{{Check: "a"}, {Check: "b"}, {Check: "c", OK: true, Warning: true}, {Check: "d", OK: true, Warning: true}},
			"[FAIL] a\n[FAIL] b\n[WARN] c\n[WARN] d\n", "2 problems and 2 warnings found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := printFindings(&b, tc.findings, false)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if got := fmt.Sprint(err); (err != nil || tc.err != "") && got != tc.err {
				t.Errorf("got error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestPlainProgress: away from a terminal the backfill writes plain lines,
// at most one per plainEvery, with the window covered and the time left,
// and no carriage returns.
func TestPlainProgress(t *testing.T) {
	zone := mustZone("America/Toronto")
	since := time.Date(2026, 11, 10, 0, 0, 0, 0, zone) // no DST change inside
	until := since.AddDate(0, 0, 10)
	var b bytes.Buffer
	p := newProgress(&b, since, until)
	clock := p.start
	p.now = func() time.Time { return clock }
	clock = clock.Add(20 * time.Second)
	p.show(agent.Progress{Pages: 4, Records: 400, Queued: 400, Reached: since.AddDate(0, 0, 2)})
	clock = clock.Add(time.Second) // too soon for another line
	p.show(agent.Progress{Pages: 5, Records: 500, Queued: 500, Reached: since.AddDate(0, 0, 3)})
	clock = clock.Add(19 * time.Second)
	p.done(agent.Progress{Pages: 9, Records: 900, Queued: 850, Reached: until, Done: true})
	want := "backfill 2026-11-10..2026-11-20: 400 records read (400 new) in 4 pages, read up to 2026-11-12 00:00, 20% of the window, about 1m20s left\n" +
		"backfill done: 2026-11-10..2026-11-20: 900 records read (850 new) in 9 pages, read up to 2026-11-20 00:00, 40s\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
	var quiet bytes.Buffer
	newProgress(&quiet, since, until).done(agent.Progress{})
	if quiet.Len() != 0 {
		t.Errorf("a backfill that read nothing printed %q", quiet.String())
	}
}
