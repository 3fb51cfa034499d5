package statuspage_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/statuspage"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/record"
)

const revoked = "shopify: the access token was rejected: the custom app may have been uninstalled or its creator removed from the shop (HTTP 401)"

// revokedImporter fails every fetch the way a revoked Shopify token does.
type revokedImporter struct{}

func (revokedImporter) Fetch(context.Context, []byte) (record.Page, error) {
	return record.Page{}, errors.New(revoked)
}

var _ agent.Importer = revokedImporter{}

// startAgent runs a real agent against the reference headquarters, with one
// source that always fails, and serves its control API, status page and
// metrics on one mux, as the status server does.
func startAgent(t *testing.T) (*agent.Agent, *receiver.Receiver, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	hq, err := receiver.New(receiver.Config{Tokens: []string{"agent-token"}, Locations: []string{"0421"}})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(hq.Handler())
	t.Cleanup(func() { up.Close(); hq.Close() })
	text := fmt.Sprintf(`
agent: {id: store-042, data_dir: data, timezone: America/Toronto}
upstream: {url: %q, token: agent-token, batch_max_age: 10ms}
locations:
  "0421": {timezone: America/Toronto}
inbox: {settle: 50ms, rescan: 200ms}
`, up.URL)
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := agent.New(cfg, agent.Options{
		Logger: logger, Version: "test-1", NoStartupSync: true,
		Sources: []agent.Source{{Name: "shopify", Importer: revokedImporter{}, Schedule: "2 * * * *"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the agent did not stop within 10s")
		}
	})
	mux := http.NewServeMux()
	a.Handler(mux)
	statuspage.Register(mux, a, logger)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return a, hq, srv
}

// waitFor polls cond until it holds; the deadline only bounds a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drop puts a complete file into the inbox: a hidden name, then a rename.
func drop(t *testing.T, inbox, name, content string) {
	t.Helper()
	if err := os.MkdirAll(inbox, 0o750); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(inbox, ".upload.part")
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		t.Fatal(err)
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

var tagRE = regexp.MustCompile(`(?s)<head>.*</head>|<[^>]*>`)

func pageText(page string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(page, " "))), " ")
}

func TestRealAgentPage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole agent")
	}
	a, hq, srv := startAgent(t)

	if err := a.SyncNow(context.Background(), "shopify"); err == nil || err.Error() != revoked {
		t.Fatalf("got sync error %v, want %q", err, revoked)
	}
	// A file whose name is markup (possible on Linux; Windows refuses < and >)
	// and whose content is refused, and a good file that reaches headquarters.
	hostile := "bad.csv"
	if runtime.GOOS != "windows" {
		hostile = `<img src=x onerror=alert(1)>.csv`
	}
	inbox := a.Config().Inbox.Dir
	drop(t, inbox, hostile, "location_id,employee_id,date,clock_in,clock_out\n0421,E3,2026-11-20,9h,17:00\n")
	waitFor(t, "the refused file", func() bool { return len(a.Status().Files) == 1 })
	drop(t, inbox, "week47.csv", "location_id;employee_id;nom;date;entree;sortie;pause\r\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\r\n")
	waitFor(t, "two shifts delivered", func() bool {
		return len(hq.Records()) == 2 && a.Status().Forwarder.Records == 2 && a.Status().Buffer.Queued == 0
	})

	code, page := fetch(t, srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("got status %d for the page, want 200", code)
	}
	text := pageText(page)
	refusal := a.Status().Files[1].Detail
	for _, want := range []string{
		"Store agent store-042 Version test-1 · Uptime",
		"Health healthy Sources shopify error State error",
		"Last error " + revoked + " at ",
		"Records imported today 0 Consecutive failures 1 Last run fetched 0 pages, 0 records queued Schedule 2 * * * *",
		"Records waiting 0 Bytes waiting 0 B Oldest undelivered none waiting",
		"Full no Dead letters 0",
		"State idle Last delivery ",
		"Delivered 2 records in 1 batch ",
		"Responses HTTP 200: 1",
		"week47.csv inbox 0421 accepted 2 2 ",
		hostile + " inbox refused 0 0 " + refusal,
		"shopify error " + revoked,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("got page text without %q; text:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(refusal, "file "+hostile+" refused: line 2: clock_in") {
		t.Errorf("got refusal detail %q", refusal)
	}
	if runtime.GOOS != "windows" && (strings.Contains(page, "<img") || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;.csv")) {
		t.Errorf("got the hostile file name unescaped in the page")
	}

	code, metrics := fetch(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("got status %d for /metrics, want 200", code)
	}
	lines := strings.Split(metrics, "\n")
	for _, want := range []string{
		`storeagent_info{agent="store-042",version="test-1"} 1`,
		`storeagent_healthy 1`,
		`storeagent_source_up{source="shopify"} 0`,
		`storeagent_source_consecutive_failures{source="shopify"} 1`,
		`storeagent_source_last_success_timestamp_seconds{source="shopify"} 0`,
		`storeagent_source_records_imported_total{source="shopify"} 0`,
		`storeagent_source_runs_total{source="shopify"} 1`,
		`storeagent_source_failed_runs_total{source="shopify"} 1`,
		`storeagent_files_total{outcome="accepted"} 1`,
		`storeagent_files_total{outcome="refused"} 1`,
		`storeagent_forwarder_records_delivered_total 2`,
		`storeagent_forwarder_batches_delivered_total 1`,
		`storeagent_forwarder_responses_total{code="200"} 1`,
		`storeagent_forwarder_paused 0`,
		`storeagent_buffer_records 0`,
		`storeagent_buffer_recovered 0`,
		`storeagent_component_up{component="inbox"} 1`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("got /metrics without the line %q", want)
		}
	}

	// The agent's own routes live beside the page on the same mux.
	if code, body := fetch(t, srv.URL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("got /healthz %d %q, want 200 \"ok\\n\"", code, body)
	}
	if code, _ := fetch(t, srv.URL+"/api/status"); code != http.StatusOK {
		t.Errorf("got /api/status %d, want 200", code)
	}
}
