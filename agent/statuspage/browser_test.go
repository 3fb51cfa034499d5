package statuspage

import (
	"context"
	"os"
	"os/exec"
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
	profile, err := os.MkdirTemp("", "statuspage-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: the browser's helper processes may still be writing
	// to the profile for a moment after it exits.
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

// TestBrowserRendersFacts loads the page in a real browser and checks what
// it rendered: the facts as text, the hostile file name as text and not as
// an element. Set STOREAGENT_SCREENSHOT_DIR to also keep desktop and phone
// screenshots to look at.
func TestBrowserRendersFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := findBrowser(t)
	srv := serve(t, fakeSource{troubled()})
	dom := browse(t, browser, srv.URL+"/", "--dump-dom")
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("got no DOM from the browser:\n%s", dom)
	}
	text := visibleText(dom)
	for _, want := range []string{
		"Store agent store-042",
		"The buffer file was damaged and set aside",
		"Health unhealthy source shopify has failed 3 runs in a row: " + shopifyError,
		"shopify error State error Last run 2026-11-20 15:02:00 UTC (58m ago) Last success 2026-11-20 12:02:05 UTC (3h 57m ago) Next run 2026-11-20 16:04:00 UTC (in 4m) Last error " + shopifyError,
		"Records imported today 37 Consecutive failures 3",
		"Records waiting 1,523 Bytes waiting 1.2 MB Oldest undelivered 18m 45s old",
		"Forwarding to headquarters State paused",
		hostileName + " ftp:timeclock 0421 refused 0 0 " + refusedText,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("got rendered text without %q; text:\n%s", want, text)
		}
	}
	// The browser serialises text back escaped: a <script> in the DOM
	// would mean the file name became an element.
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Errorf("got a script element in the rendered DOM:\n%s", dom)
	}

	if dir := os.Getenv("STOREAGENT_SCREENSHOT_DIR"); dir != "" {
		for name, size := range map[string]string{"desktop": "1200,1600", "phone": "390,1600"} {
			file := dir + string(os.PathSeparator) + "statuspage-" + name + ".png"
			browse(t, browser, srv.URL+"/", "--screenshot="+file, "--window-size="+size, "--hide-scrollbars")
			t.Logf("screenshot: %s", file)
		}
	}
}
