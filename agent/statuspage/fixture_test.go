package statuspage

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/forward"
	"github.com/tmas/storeagent/agent/spool"
)

// fakeSource returns a fixed snapshot.
type fakeSource struct{ st agent.Status }

func (f fakeSource) Status() agent.Status { return f.st }

var _ Source = fakeSource{}

const (
	hostileName  = "<script>alert(1)</script>.csv"
	shopifyError = "shopify: the access token was rejected: the custom app may have been uninstalled or its creator removed from the shop (HTTP 401)"
	tokenError   = "headquarters refused the agent's token (HTTP 401): check upstream.token"
	setAside     = "/var/lib/storeagent/buffer.db.damaged-20261120T135930Z"
	refusedText  = `file <script>alert(1)</script>.csv refused: line 3: clock_in: "9h" is not a time (1 bad line, see <script>alert(1)</script>.csv.errors.txt)`
)

func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-11-20T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// troubled is a snapshot with everything going wrong at once: a failing
// source, a paused forwarder, a refused file with a hostile name, and a
// buffer file that was set aside at start-up.
func troubled() agent.Status {
	return agent.Status{
		Agent:   "store-042",
		Version: "1.4.2",
		Started: time.Date(2026, 11, 18, 11, 30, 0, 0, time.UTC),
		Now:     at("16:00:00"),
		Healthy: false,
		Problems: []string{
			"source shopify has failed 3 runs in a row: " + shopifyError,
			"forwarding is paused: " + tokenError,
			"the buffer file was damaged at start-up and set aside as " + setAside + " (checksum error on page 12)",
		},
		Sources: []agent.SourceStatus{
			{
				Name: "shopify", State: "error",
				LastRun: at("15:02:00"), LastSuccess: at("12:02:05"), NextRun: at("16:04:00"),
				LastError: shopifyError, LastErrorAt: at("15:02:03"),
				RecordsToday: 37, Failures: 3, Schedule: "2 * * * *", Offset: "1m53s",
				Runs: 9, FailedRuns: 3, Imported: 412,
			},
			{
				Name: "vend", State: "ok",
				LastRun: at("15:02:40"), LastSuccess: at("15:02:44"), NextRun: at("16:02:40"),
				RecordsToday: 1234, LastRunPages: 2, LastRunQueued: 18, Schedule: "2 * * * *", Offset: "40s",
				Runs: 9, Imported: 4634,
				Backfill: &agent.Progress{Pages: 12, Records: 3400, Queued: 3100,
					Since: time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 8, 5, 0, 0, 0, time.UTC)},
			},
		},
		Buffer: agent.BufferStatus{
			Stats: spool.Stats{Queued: 1523, QueuedBytes: 1234567, Oldest: at("15:41:15"), Dead: 2,
				FileBytes: 8388608, MaxBytes: 2e9, Instance: "b5e1"},
			OldestAge: "18m45s",
			Recovery:  &spool.Recovery{SetAside: setAside, Reason: "checksum error on page 12", Salvaged: 1480, At: at("13:59:30")},
			Path:      "/var/lib/storeagent/buffer.db",
		},
		Forwarder: forward.Status{
			State: forward.StatePaused, LastError: tokenError, LastErrorAt: at("15:58:00"),
			NextAttempt: at("16:03:00"), LastDelivery: at("15:40:12"), Failures: 7,
			Batches: 42, Records: 51234, Duplicates: 12, DeadLettered: 2, Requests: 57, BytesSent: 3456789,
			ResponsesByCode: map[string]int64{"503": 8, "200": 42, "401": 7},
		},
		FileTotals: map[string]int64{"refused": 3, "accepted": 40},
		Files: []agent.FileOutcome{
			{Name: hostileName, Origin: "ftp:timeclock", At: at("15:30:00"), Outcome: "refused", Detail: refusedText, Location: "0421"},
			{Name: "week47.csv", Origin: "inbox", At: at("14:10:00"), Outcome: "accepted", Records: 212, Queued: 210,
				Detail: "2 of 212 shifts were already known unchanged", Location: "0421"},
		},
		// Out of order on purpose: the page shows the newest first.
		Log: []agent.LogEntry{
			{At: at("14:10:00"), Source: "csv", Level: "ok", Text: "week47.csv (inbox): accepted, 212 shifts, 210 queued 2 of 212 shifts were already known unchanged"},
			{At: at("15:30:00"), Source: "csv", Level: "error", Text: hostileName + " (ftp:timeclock): refused, 0 shifts, 0 queued " + refusedText},
			{At: at("15:02:03"), Source: "shopify", Level: "error", Text: shopifyError},
			{At: at("13:59:30"), Source: "buffer", Level: "error", Text: "the buffer file was damaged (checksum error on page 12); it was set aside as " + setAside + " and a fresh one started; 1480 queued records were salvaged"},
		},
		Components: map[string]agent.ComponentState{
			"source:shopify": "running",
			"inbox":          "running",
			"ftp":            "failed: listen tcp :2121: bind: address already in use",
			"maintenance":    "stopped",
		},
	}
}

// calm is a healthy agent with nothing to report.
func calm() agent.Status {
	return agent.Status{
		Agent: "store-007", Version: "1.4.2", Started: at("15:59:15"), Now: at("16:00:00"), Healthy: true,
		Sources:    []agent.SourceStatus{{Name: "vend", State: "never", NextRun: at("16:02:40"), Schedule: "2 * * * *"}},
		Buffer:     agent.BufferStatus{Stats: spool.Stats{FileBytes: 32768}, Path: "/var/lib/storeagent/buffer.db"},
		Forwarder:  forward.Status{State: forward.StateIdle, ResponsesByCode: map[string]int64{}},
		Components: map[string]agent.ComponentState{"forwarder": "running"},
	}
}

var (
	headRE  = regexp.MustCompile(`(?s)<head>.*</head>`)
	styleRE = regexp.MustCompile(`(?s)<style>.*?</style>`)
	tagRE   = regexp.MustCompile(`<[^>]*>`)
)

// visibleText is what a reader sees of a page: tags dropped, entities
// decoded, white space collapsed.
func visibleText(page string) string {
	page = headRE.ReplaceAllString(page, " ")
	page = styleRE.ReplaceAllString(page, " ")
	page = tagRE.ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(page)), " ")
}

// serve starts a server with Register on a fresh mux.
func serve(t *testing.T, src Source) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux, src, nil)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
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
	return res, string(b)
}
