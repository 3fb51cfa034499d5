package statuspage

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/agent"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got), rerun with -update if intended:\n%s", path, diff)
	}
}

func TestPageShowsEveryFact(t *testing.T) {
	srv := serve(t, fakeSource{troubled()})
	res, body := get(t, srv.URL+"/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	text := visibleText(body)
	facts := []struct{ name, want string }{
		{"agent id", "Store agent store-042"},
		{"version and uptime", "Version 1.4.2 · Uptime 2d 4h · Started 2026-11-18 11:30:00 UTC (2d 4h ago)"},
		{"snapshot", "Snapshot 2026-11-20 16:00:00 UTC (just now) · This page refreshes every 15 s."},
		{"recovery banner", "The buffer file was damaged and set aside At start-up, 2026-11-20 13:59:30 UTC (2h ago), the buffer file was found damaged: checksum error on page 12."},
		{"recovery set aside", "It was set aside as " + setAside + " and a fresh buffer was started; 1,480 queued records were salvaged from it."},
		{"health", "Health unhealthy source shopify has failed 3 runs in a row: " + shopifyError +
			" forwarding is paused: " + tokenError +
			" the buffer file was damaged at start-up and set aside as " + setAside + " (checksum error on page 12) Sources"},
		{"shopify state", "shopify error State error"},
		{"shopify last run", "Last run 2026-11-20 15:02:00 UTC (58m ago)"},
		{"shopify last success", "Last success 2026-11-20 12:02:05 UTC (3h 57m ago)"},
		{"shopify next run", "Next run 2026-11-20 16:04:00 UTC (in 4m)"},
		{"shopify last error", "Last error " + shopifyError + " at 2026-11-20 15:02:03 UTC (57m 57s ago)"},
		{"shopify today and failures", "Records imported today 37 Consecutive failures 3 Last run fetched 0 pages, 0 records queued Schedule 2 * * * * with offset 1m53s"},
		{"vend", "vend ok State ok Last run 2026-11-20 15:02:40 UTC (57m 20s ago) Last success 2026-11-20 15:02:44 UTC (57m 16s ago) Next run 2026-11-20 16:02:40 UTC (in 2m 40s) Last error none Records imported today 1,234 Consecutive failures 0 Last run fetched 2 pages, 18 records queued"},
		{"vend backfill", "Backfill running from 2026-11-01 04:00:00 UTC (19d 12h ago) to 2026-11-08 05:00:00 UTC (12d 11h ago): 12 pages, 3,400 records read, 3,100 queued"},
		{"buffer", "Buffer Records waiting 1,523 Bytes waiting 1.2 MB Oldest undelivered 18m 45s old, queued 2026-11-20 15:41:15 UTC (18m 45s ago) Buffer file 8.4 MB of 2 GB (0.4%) Full no Dead letters 2 records that headquarters refused; see storeagent deadletter list File /var/lib/storeagent/buffer.db"},
		{"forwarder", "Forwarding to headquarters State paused Last delivery 2026-11-20 15:40:12 UTC (19m 48s ago) Last error " + tokenError + " at 2026-11-20 15:58:00 UTC (2m ago) Next attempt 2026-11-20 16:03:00 UTC (in 3m) Consecutive failures 7"},
		{"forwarder totals", "Delivered 51,234 records in 42 batches Already at headquarters 12 records Dead-lettered 2 records Requests 57 (3.5 MB sent) Responses HTTP 200: 42 HTTP 401: 7 HTTP 503: 8"},
		{"components", "Components ftp: failed: listen tcp :2121: bind: address already in use inbox: running maintenance: stopped source:shopify: running"},
		{"refused file", "2026-11-20 15:30:00 UTC (30m ago) " + hostileName + " ftp:timeclock 0421 refused 0 0 " + refusedText},
		{"accepted file", "2026-11-20 14:10:00 UTC (1h 50m ago) week47.csv inbox 0421 accepted 212 210 2 of 212 shifts were already known unchanged"},
		{"import log newest first", "Import log Newest first When Source Level Message " +
			"2026-11-20 15:30:00 UTC (30m ago) csv error " + hostileName + " (ftp:timeclock): refused, 0 shifts, 0 queued " + refusedText + " " +
			"2026-11-20 15:02:03 UTC (57m 57s ago) shopify error " + shopifyError + " " +
			"2026-11-20 14:10:00 UTC (1h 50m ago) csv ok week47.csv (inbox): accepted, 212 shifts, 210 queued 2 of 212 shifts were already known unchanged " +
			"2026-11-20 13:59:30 UTC (2h ago) buffer error the buffer file was damaged"},
	}
	for _, f := range facts {
		t.Run(f.name, func(t *testing.T) {
			if !strings.Contains(text, f.want) {
				t.Errorf("got page text without %q; text:\n%s", f.want, text)
			}
		})
	}

	markup := []struct{ name, want string }{
		{"auto refresh", `<meta http-equiv="refresh" content="15">`},
		{"phone viewport", `<meta name="viewport" content="width=device-width, initial-scale=1">`},
		{"language", `<html lang="en">`},
		{"title", `<title>store-042 · 3 problems — storeagent</title>`},
		{"loud banner", `<section class="banner" role="alert" aria-labelledby="recovery-title">`},
		{"red unhealthy", `<span class="pill bad big">unhealthy</span>`},
		{"failing source red", `<h3>shopify <span class="pill bad">error</span></h3>`},
		{"good source green", `<h3>vend <span class="pill good">ok</span></h3>`},
		{"paused forwarder red", `<dt>State</dt><dd><span class="pill bad">paused</span></dd>`},
		{"refused row red and escaped", `<tr class="bad"><td><time datetime="2026-11-20T15:30:00Z">2026-11-20 15:30:00 UTC</time> (30m ago)</td><td><code>&lt;script&gt;alert(1)&lt;/script&gt;.csv</code></td>`},
		{"refused detail escaped", `<td class="detail">file &lt;script&gt;alert(1)&lt;/script&gt;.csv refused: line 3: clock_in: &#34;9h&#34; is not a time (1 bad line, see &lt;script&gt;alert(1)&lt;/script&gt;.csv.errors.txt)</td>`},
		{"accepted row not red", `<tr class="good"><td><time datetime="2026-11-20T14:10:00Z">`},
		{"error escaped", `check upstream.token`},
		{"apostrophe escaped", `headquarters refused the agent&#39;s token`},
	}
	for _, m := range markup {
		t.Run("markup "+m.name, func(t *testing.T) {
			if !strings.Contains(body, m.want) {
				t.Errorf("got page without %q", m.want)
			}
		})
	}
	for _, bad := range []string{"<script", "alert(1)</script>", "<SCRIPT"} {
		if strings.Contains(body, bad) {
			t.Errorf("got page containing %q: outside text reached the markup unescaped", bad)
		}
	}
	for name, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("header %s: got %q, want %q", name, got, want)
		}
	}
}

func TestPageGolden(t *testing.T) {
	srv := serve(t, fakeSource{troubled()})
	_, body := get(t, srv.URL+"/")
	golden(t, "troubled.html", body)
}

func TestPageStates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		st      agent.Status
		want    []string // in the visible text
		wantNot []string
		markup  []string
	}{
		{
			name: "healthy and quiet",
			st:   calm(),
			want: []string{
				"Store agent store-007", "Version 1.4.2 · Uptime 45s", "Health healthy Sources",
				"vend never State never Last run never Last success never Next run 2026-11-20 16:02:40 UTC (in 2m 40s) Last error none Records imported today 0 Consecutive failures 0",
				"Records waiting 0 Bytes waiting 0 B Oldest undelivered none waiting Buffer file 32.8 kB of no limit Full no Dead letters 0",
				"State idle Last delivery never Last error none Next attempt none planned Consecutive failures 0 Delivered 0 records in 0 batches",
				"Responses none yet", "forwarder: running",
				"Recent files No file received yet.", "Import log Nothing imported yet.",
			},
			wantNot: []string{"damaged", "unhealthy", "Backfill"},
			markup:  []string{`<span class="pill good big">healthy</span>`, `<title>store-007 · healthy — storeagent</title>`, `<span class="pill muted">never</span>`},
		},
		{
			name: "empty snapshot",
			st:   agent.Status{Now: at("16:00:00")},
			want: []string{
				"Store agent (no agent id)", "Version unknown · Uptime not started · Started not started",
				"Health unhealthy Sources No POS source is configured.", "Forwarding to headquarters State unknown",
			},
			wantNot: []string{"damaged", "Components"},
			markup:  []string{`<title>(no agent id) · unhealthy — storeagent</title>`},
		},
		{
			name: "full buffer, failed backfill, refused for now",
			st: func() agent.Status {
				st := calm()
				st.Buffer.Full, st.Buffer.FileBytes, st.Buffer.MaxBytes, st.Buffer.Dead = true, 2e9, 2e9, 1
				st.Forwarder.Batches, st.Forwarder.Records, st.Forwarder.DeadLettered = 1, 1, 1
				st.Sources[0].Backfill = &agent.Progress{Pages: 3, Records: 250, Queued: 250, Since: at("00:00:00"), Error: "vend: HTTP 503"}
				st.Files = []agent.FileOutcome{{Name: "w48.csv", Origin: "ftp:timeclock", At: at("15:59:00"), Outcome: "full", Detail: "refused for now"}}
				return st
			}(),
			want: []string{
				"Buffer file 2 GB of 2 GB (100.0%) Full full new uploads are refused and polling is paused",
				"Backfill failed from 2026-11-20 00:00:00 UTC (16h ago) to now: 3 pages, 250 records read, 250 queued; vend: HTTP 503",
				"2026-11-20 15:59:00 UTC (1m ago) w48.csv ftp:timeclock full 0 0 refused for now",
				"Dead letters 1 record that headquarters refused; see storeagent deadletter list",
				"Delivered 1 record in 1 batch Already at headquarters 0 records Dead-lettered 1 record Requests 0 (0 B sent)",
			},
			markup: []string{`<tr class="warn">`, `<span class="pill bad">failed</span>`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, fakeSource{tc.st})
			_, body := get(t, srv.URL+"/")
			text := visibleText(body)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("got page text without %q; text:\n%s", w, text)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("got page text with %q; text:\n%s", w, text)
				}
			}
			for _, w := range tc.markup {
				if !strings.Contains(body, w) {
					t.Errorf("got page without %q", w)
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	srv := serve(t, fakeSource{calm()})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusOK},
		{"HEAD", "/", http.StatusOK},
		{"GET", "/metrics", http.StatusOK},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"DELETE", "/metrics", http.StatusMethodNotAllowed},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/api/status", http.StatusNotFound},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("got status %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{human(0), "0s"},
		{human(45 * time.Second), "45s"},
		{human(59*time.Second + 600*time.Millisecond), "1m"},
		{human(3*time.Minute + 20*time.Second), "3m 20s"},
		{human(2*time.Hour + 5*time.Minute + 59*time.Second), "2h 5m"},
		{human(3*24*time.Hour + 4*time.Hour + 30*time.Minute), "3d 4h"},
		{human(-90 * time.Second), "1m 30s"},
		{relative(at("15:00:00"), at("16:00:00")), "1h ago"},
		{relative(at("16:30:00"), at("16:00:00")), "in 30m"},
		{relative(at("16:00:00").Add(-400*time.Millisecond), at("16:00:00")), "just now"},
		{bytesText(0), "0 B"},
		{bytesText(999), "999 B"},
		{bytesText(1000), "1 kB"},
		{bytesText(1234567), "1.2 MB"},
		{bytesText(1250000), "1.3 MB"},
		{bytesText(999_949), "999.9 kB"},
		{bytesText(999_950), "1 MB"},
		{bytesText(2e9), "2 GB"},
		{bytesText(1<<63 - 1), "9223 PB"},
		{count(0), "0"},
		{count(999), "999"},
		{count(1000), "1,000"},
		{count(-1234567), "-1,234,567"},
		{count(51234), "51,234"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
