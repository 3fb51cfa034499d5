package receiver

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// findBrowser returns a headless-capable Chromium, or skips the test when
// none is installed (unless STOREAGENT_REQUIRE_BROWSER=1, as in CI).
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("STOREAGENT_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium or chromium-browser on PATH, and STOREAGENT_REQUIRE_BROWSER=1 (apt-get install -y chromium)")
	}
	t.Skip("no chromium or chromium-browser on PATH (apt-get install -y chromium); set STOREAGENT_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// browse runs the browser headless on url with the extra flags and returns
// its standard output.
func browse(t *testing.T, browser, url string, extra ...string) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "fleet-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile,
	}, extra...)
	cmd := exec.CommandContext(ctx, browser, append(args, url)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", browser, err, stderr.String())
	}
	return string(out)
}

var (
	tagRe   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	spaceRe = regexp.MustCompile(`\s+`)
	rowRe   = regexp.MustCompile(`<tr class="[a-z]+" data-id="([^"]+)"`)
)

func visibleText(dom string) string {
	s := tagRe.ReplaceAllString(dom, " ")
	for _, e := range [][2]string{{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"}} {
		s = strings.ReplaceAll(s, e[0], e[1])
	}
	return strings.TrimSpace(spaceRe.ReplaceAllString(s, " "))
}

func rowOrder(dom string) []string {
	var ids []string
	for _, m := range rowRe.FindAllStringSubmatch(dom, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestBrowserFleetPage loads /fleet in a real browser: the worst state
// first, the problems in words, last batch, buffer depth and version, and
// the page's own sorting (by a #sort= link, as a click on a heading does).
// Set STOREAGENT_SCREENSHOT_DIR to keep a screenshot.
func TestBrowserFleetPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := findBrowser(t)
	_, url := fleetFixture(t, testStores[0], Config{})
	dom := browse(t, browser, url+"/fleet", "--dump-dom")
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("got no DOM from the browser:\n%s", dom)
	}
	text := visibleText(dom)
	for _, want := range []string{
		"TMAS fleet",
		"1 silent · 1 unhealthy · 2 never · 1 healthy",
		"silent store-c no report for 20m0s (expected every 300s) 2026-12-01 09:00:00Z — 12 1.3.9 linux/amd64",
		"unhealthy store-b the buffer is full headquarters refuses the token (401) 2026-12-01 09:20:00Z — 90210 (full), 2 dead letters 1.4.0 linux/amd64",
		"never store-d none — — — —",
		"healthy store-a none 2026-12-01 09:20:00Z — 0 1.4.0 linux/amd64",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("got rendered text without %q; text:\n%s", want, text)
		}
	}
	if got, want := strings.Join(rowOrder(dom), " "), "store-c store-b store-d store-e store-a"; got != want {
		t.Errorf("rows by state: got %s, want %s", got, want)
	}
	// store-e sent a batch: its last batch time is shown.
	if !regexp.MustCompile(`never store-e none — \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ — —`).MatchString(text) {
		t.Errorf("store-e's last batch is not shown; text:\n%s", text)
	}
	for _, tc := range []struct{ sort, want string }{
		{"queued:desc", "store-b store-c store-a store-d store-e"},
		{"id", "store-a store-b store-c store-d store-e"},
		{"state:desc", "store-a store-d store-e store-b store-c"},
	} {
		dom := browse(t, browser, url+"/fleet#sort="+tc.sort, "--dump-dom")
		if got := strings.Join(rowOrder(dom), " "); got != tc.want {
			t.Errorf("sorted by %s: got %s, want %s", tc.sort, got, tc.want)
		}
	}
	if dir := os.Getenv("STOREAGENT_SCREENSHOT_DIR"); dir != "" {
		file := dir + string(os.PathSeparator) + "fleet.png"
		browse(t, browser, url+"/fleet", "--screenshot="+file, "--window-size=1200,700", "--hide-scrollbars")
		t.Logf("screenshot: %s", file)
	}
}
