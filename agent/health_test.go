package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/statusreport"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/record"
)

// failing is an importer double that fails every run with err.
type failing struct{ err error }

func (f failing) Fetch(context.Context, []byte) (record.Page, error) { return record.Page{}, f.err }

// errCredentials is how an importer reports a 401 from the POS: its own
// words, wrapping record.ErrCredentials.
var errCredentials = fmt.Errorf("shopify: the access token was rejected (HTTP 401): %w", record.ErrCredentials)

// TestHealthVerdictOfFailingSources: a refused credential makes the source
// unhealthy after its first failed run, in Status, /healthz and so the exit
// code of `storeagent status` (which fails on !Healthy); a transient failure
// (network, 5xx, throttling) only after three runs in a row.
func TestHealthVerdictOfFailingSources(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want [3][]string // problems after runs 1, 2, 3
	}{
		{"refused credentials", errCredentials, [3][]string{
			{"source shopify refuses the agent's credentials (a person must fix them; retrying will not): shopify: the access token was rejected (HTTP 401): the source refused the agent's credentials"},
			{"source shopify refuses the agent's credentials (a person must fix them; retrying will not): shopify: the access token was rejected (HTTP 401): the source refused the agent's credentials"},
			{"source shopify refuses the agent's credentials (a person must fix them; retrying will not): shopify: the access token was rejected (HTTP 401): the source refused the agent's credentials"},
		}},
		{"server error", errors.New("shopify: the Admin API answered HTTP 503"), [3][]string{
			nil, nil,
			{"source shopify has failed 3 runs in a row: shopify: the Admin API answered HTTP 503"},
		}},
		{"network", errors.New("shopify: the connection failed (dial tcp: lookup example.myshopify.com: no such host)"), [3][]string{
			nil, nil,
			{"source shopify has failed 3 runs in a row: shopify: the connection failed (dial tcp: lookup example.myshopify.com: no such host)"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, "", Options{Sources: []Source{{Name: "shopify", Importer: failing{tc.err}, Schedule: "2 * * * *"}}})
			for run := range 3 {
				if err := h.agent.SyncNow(context.Background(), "shopify"); !errors.Is(err, tc.err) {
					t.Fatalf("run %d: got %v, want %v", run+1, err, tc.err)
				}
				st := h.agent.Status()
				if diff := cmp.Diff(tc.want[run], st.Problems); diff != "" {
					t.Errorf("run %d: problems (-want +got):\n%s", run+1, diff)
				}
				if got, want := st.Healthy, tc.want[run] == nil; got != want {
					t.Errorf("run %d: got healthy %v, want %v", run+1, got, want)
				}
				rec := httptest.NewRecorder()
				h.agent.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
				wantBody, wantCode := "ok\n", 200
				if tc.want[run] != nil {
					wantBody, wantCode = "unhealthy\n- "+strings.Join(tc.want[run], "\n- ")+"\n", 503
				}
				if rec.Code != wantCode || rec.Body.String() != wantBody {
					t.Errorf("run %d: /healthz got %d %q, want %d %q", run+1, rec.Code, rec.Body.String(), wantCode, wantBody)
				}
			}
		})
	}
}

// statusDouble is headquarters: the reference receiver for batches, and a
// recorder of status reports that follows the contract's checks.
type statusDouble struct {
	mu      sync.Mutex
	bodies  []string
	headers []http.Header
}

func (d *statusDouble) handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("PUT /v1/agents/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer agent-token" || r.Header.Get("X-Agent-Id") != r.PathValue("id") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.bodies = append(d.bodies, string(raw))
		d.headers = append(d.headers, r.Header.Clone())
		d.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (d *statusDouble) reports() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bodies...)
}

// TestStatusReportHoldsTheStatusAndNoSecret: the agent reports at start,
// then at once when a source's refused credentials turn it unhealthy; the
// report carries the facts of Status (problems, sources, buffer, locations)
// and no credential that the source's error text held.
func TestStatusReportHoldsTheStatusAndNoSecret(t *testing.T) {
	dir := t.TempDir()
	hq, err := receiver.New(receiver.Config{Tokens: []string{"agent-token"}, Locations: []string{"0421", "0422"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &statusDouble{}
	srv := httptest.NewServer(d.handler(hq.Handler()))
	t.Cleanup(func() { srv.Close(); hq.Close() })
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(`
agent: {id: store-042, data_dir: data, timezone: America/Toronto}
upstream: {url: %q, token: agent-token}
locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: Europe/Paris}
  "0499": {timezone: Europe/Paris, active: false}
`, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	leaky := fmt.Errorf("shopify: GET https://shop:hunter2pass@example.myshopify.com/admin/api?access_token=shpat_0123456789abcdef0123456789abcdef failed, sent Authorization: Bearer agent-token (HTTP 401): %w", record.ErrCredentials)
	a, err := New(cfg, Options{Version: "1.4.0", NoStartupSync: true, Sources: []Source{{Name: "shopify", Importer: failing{leaky}, Schedule: "2 * * * *"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, agent: a}
	h.waitFor("the report at start", func() bool { return len(d.reports()) >= 1 })
	var first statusreport.Report
	if err := json.Unmarshal([]byte(d.reports()[0]), &first); err != nil || !first.Healthy {
		t.Fatalf("got the first report %s (%v), want a healthy one", d.reports()[0], err)
	}

	if err := a.SyncNow(context.Background(), "shopify"); !errors.Is(err, record.ErrCredentials) {
		t.Fatalf("got %v", err)
	}
	// Only the verdict change can send a report now: the interval is 5 min.
	h.waitFor("the report of the verdict change", func() bool { return len(d.reports()) >= 2 })
	body := d.reports()[1]
	st := a.Status()
	var got statusreport.Report
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	wantErr := "shopify: GET https://[redacted]@example.myshopify.com/admin/api?access_token=[redacted] failed, sent Authorization: Bearer [redacted] (HTTP 401): the source refused the agent's credentials"
	want := statusreport.Report{
		AgentID: "store-042", Version: "1.4.0", OS: runtime.GOOS + "/" + runtime.GOARCH,
		StartedAt: st.Started.UTC(), SentAt: got.SentAt, IntervalS: got.IntervalS,
		Healthy: false, Problems: st.Problems,
		Buffer:    statusreport.Buffer{Bytes: st.Buffer.FileBytes, MaxBytes: st.Buffer.MaxBytes},
		Sources:   []statusreport.Source{{Name: "shopify", State: "error", NextRunAt: statusreport.Time(st.Sources[0].NextRun), LastError: wantErr}},
		Files:     statusreport.Files{},
		Locations: []string{"0421", "0422"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"source shopify refuses the agent's credentials (a person must fix them; retrying will not): " + wantErr}, st.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	statusJSON := mustJSON(st)
	for _, secret := range []string{"hunter2pass", "shpat_0123456789abcdef", "agent-token"} {
		if strings.Contains(body, secret) {
			t.Errorf("the status report holds %q: %s", secret, body)
		}
		if strings.Contains(statusJSON, secret) {
			t.Errorf("the status holds %q", secret)
		}
	}
	hd := d.headers[1]
	if hd.Get("Content-Type") != "application/json" || !strings.HasPrefix(hd.Get("User-Agent"), "storeagent/1.4.0") {
		t.Errorf("got headers %v", hd)
	}
}
