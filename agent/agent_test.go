package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/record"
)

type harness struct {
	t     *testing.T
	dir   string
	hq    *receiver.Receiver
	agent *Agent
	stop  func()
	done  chan error
}

func start(t *testing.T, extraYAML string, opts Options) *harness {
	t.Helper()
	dir := t.TempDir()
	hq, err := receiver.New(receiver.Config{Tokens: []string{"agent-token"}, Locations: []string{"0421", "0422"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hq.Handler())
	t.Cleanup(func() { srv.Close(); hq.Close() })
	text := fmt.Sprintf(`
agent: {id: store-042, data_dir: data, timezone: America/Toronto}
upstream: {url: %q, token: agent-token, batch_max_age: 10ms}
locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: Europe/Paris}
inbox: {settle: 50ms, rescan: 200ms}
%s`, srv.URL, extraYAML)
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	opts.NoStartupSync = true
	a, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, dir: dir, hq: hq, agent: a, stop: cancel, done: make(chan error, 1)}
	go func() { h.done <- a.Run(ctx, nil) }()
	t.Cleanup(func() { h.shutdown() })
	return h
}

func (h *harness) shutdown() error {
	h.stop()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
		}
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("the agent did not stop within 10s")
		return nil
	}
}

// drop writes a file into the inbox the way careful uploaders do: a hidden
// temporary name, then a rename.
func (h *harness) drop(name, content string) string {
	h.t.Helper()
	inbox := h.agent.cfg.Inbox.Dir
	os.MkdirAll(inbox, 0o750)
	tmp := filepath.Join(inbox, "."+name+".part")
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(inbox, name)
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; status: %s", what, mustJSON(h.agent.Status()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func (h *harness) records() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range h.hq.Records() {
		out[r.Key] = r.Fields
	}
	return out
}

func TestInboxFileReachesHeadquarters(t *testing.T) {
	h := start(t, "", Options{})
	h.drop("week47.csv", "location_id;employee_id;nom;date;entree;sortie;pause\r\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\r\n")
	h.waitFor("two shifts at headquarters", func() bool { return len(h.hq.Records()) == 2 })
	got := h.records()
	want := map[string]map[string]any{
		"csv:0421:E017:2026-11-20T08:58": {"type": "shift", "key": "csv:0421:E017:2026-11-20T08:58", "source": "csv", "location_id": "0421",
			"employee_id": "E017", "employee_name": "Hélène Dubé", "clock_in": "2026-11-20T08:58:00-05:00", "clock_out": "2026-11-20T17:04:00-05:00", "hours": "7.60"},
		"csv:0421:E022:2026-11-20T22:00": {"type": "shift", "key": "csv:0421:E022:2026-11-20T22:00", "source": "csv", "location_id": "0421",
			"employee_id": "E022", "employee_name": "Marc Roy", "clock_in": "2026-11-20T22:00:00-05:00", "clock_out": "2026-11-21T06:00:00-05:00", "hours": "8.00"},
	}
	for _, f := range got {
		delete(f, "observed_at")
		delete(f, "rev")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records at headquarters (-want +got):\n%s", diff)
	}
	archived := filepath.Join(h.agent.cfg.Inbox.Dir, "archive", "week47.csv")
	h.waitFor("the file archived", func() bool { _, err := os.Stat(archived); return err == nil })

	// The same content again: accepted, nothing new.
	h.drop("week47.csv", "location_id;employee_id;nom;date;entree;sortie;pause\r\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\r\n")
	h.waitFor("the duplicate noted", func() bool { return len(h.agent.Status().Files) == 2 })
	if _, err := os.Stat(filepath.Join(h.agent.cfg.Inbox.Dir, "archive", "week47.1.csv")); err != nil {
		t.Errorf("the duplicate is not archived beside the first: %v", err)
	}
	files := h.agent.Status().Files
	if len(files) != 2 || files[0].Outcome != "duplicate" || files[1].Outcome != "accepted" || files[1].Records != 2 {
		t.Errorf("got recent files %s", mustJSON(files))
	}
	// A correction of one shift: a new revision of that key only.
	h.drop("fix.csv", "location_id,employee_id,date,clock_in,clock_out,break_minutes\n0421,E017,2026-11-20,08:58,17:30,30\n")
	h.waitFor("the corrected shift", func() bool {
		for _, r := range h.hq.Records() {
			if r.Key == "csv:0421:E017:2026-11-20T08:58" && r.Fields["hours"] == "8.03" {
				return true
			}
		}
		return false
	})
	if st := h.hq.Stats(); st.Keys != 2 || st.RedeliveredLines != 0 {
		t.Errorf("got receiver stats %+v, want 2 keys and nothing redelivered", st)
	}
}

func TestRefusedFileChangesNothing(t *testing.T) {
	h := start(t, "", Options{})
	h.drop("bad.csv", "location_id,employee_id,date,clock_in,clock_out\n9999,E1,2026-11-20,09:00,17:00\n0421,,2026-11-20,09:00,17:00\n0421,E3,2026-11-20,9h,17:00\n0421,E4,2026-11-20,09:00,17:00\n")
	report := filepath.Join(h.agent.cfg.Inbox.Dir, "rejected", "bad.csv.errors.txt")
	h.waitFor("the refusal noted", func() bool { return len(h.agent.Status().Files) == 1 })
	b, _ := os.ReadFile(report)
	for _, want := range []string{"line 2: location_id:", "line 3: employee_id:", "line 4: clock_in:"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(h.agent.cfg.Inbox.Dir, "rejected", "bad.csv")); err != nil {
		t.Errorf("the refused file is not in rejected/: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.hq.Records()); n != 0 || h.agent.spool.Stats().Queued != 0 {
		t.Errorf("got %d records at headquarters from a refused file", n)
	}
	f := h.agent.Status().Files
	if len(f) != 1 || f[0].Outcome != "refused" {
		t.Errorf("got %s", mustJSON(f))
	}
}

// pager is an importer double that serves a fixed list of pages by cursor,
// and can fail once at a given page.
type pager struct {
	mu     sync.Mutex
	pages  [][]record.Record
	failAt int
	calls  []string
}

func (p *pager) Fetch(ctx context.Context, cursor []byte) (record.Page, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	if cursor != nil {
		fmt.Sscan(string(cursor), &i)
	}
	p.calls = append(p.calls, string(cursor))
	if i == p.failAt {
		p.failAt = -1
		return record.Page{}, errors.New("shopify: the access token was rejected: the custom app may have been uninstalled or its creator removed from the shop (HTTP 401)")
	}
	if i >= len(p.pages) {
		return record.Page{Cursor: cursor}, nil
	}
	return record.Page{Records: p.pages[i], Cursor: []byte(fmt.Sprint(i + 1)), More: i+1 < len(p.pages), Notes: []string{fmt.Sprintf("page %d", i)}}, nil
}

func sale(key string, net string) record.Record {
	return record.Record{Type: record.TypeTransaction, Key: key, Source: "shopify", LocationID: "0421",
		Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC),
			Receipt: "#" + key, NetSales: record.MustMoney(net), Currency: "CAD", Items: 1, Paid: true}}
}

func TestSourceFailureIsVisibleAndResumes(t *testing.T) {
	p := &pager{failAt: 2, pages: [][]record.Record{
		{sale("s1", "1"), sale("s2", "2")},
		{sale("s3", "3")},
		{sale("s4", "4")},
	}}
	h := start(t, "", Options{Sources: []Source{{Name: "shopify", Importer: p, Schedule: "2 * * * *"}}})
	err := h.agent.SyncNow(context.Background(), "shopify")
	if err == nil || !strings.Contains(err.Error(), "custom app may have been uninstalled") {
		t.Fatalf("got %v", err)
	}
	st := h.agent.Status().Sources[0]
	if st.State != "error" || st.Failures != 1 || !strings.Contains(st.LastError, "HTTP 401") || st.RecordsToday != 3 {
		t.Errorf("got source status %s", mustJSON(st))
	}
	// The next run resumes at the failed page: nothing skipped, nothing twice.
	if err := h.agent.SyncNow(context.Background(), "shopify"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "1", "2", "2"}, p.calls); diff != "" {
		t.Errorf("cursors asked (-want +got):\n%s", diff)
	}
	h.waitFor("four sales at headquarters", func() bool { return len(h.hq.Records()) == 4 })
	var keys []string
	for _, r := range h.hq.Records() {
		keys = append(keys, fmt.Sprintf("%s@%d", r.Key, r.Rev))
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"s1@1", "s2@1", "s3@1", "s4@1"}, keys); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	st = h.agent.Status().Sources[0]
	if st.State != "ok" || st.Failures != 0 || st.LastError != "" {
		t.Errorf("got source status after recovery %s", mustJSON(st))
	}
	hours, _ := h.agent.spool.Hourly("0421", "2026-11-20")
	if len(hours) != 1 || hours[0].Transactions != 4 || hours[0].NetSales.String() != "10.00" {
		t.Errorf("got report %s", mustJSON(hours))
	}
}

func TestControlAPIAnswersOnlyThisMachine(t *testing.T) {
	h := start(t, "", Options{})
	handler := h.agent.Handler(nil)
	for _, tc := range []struct {
		method, remote string
		want           int
	}{
		{"POST", "192.0.2.7:5000", 403},
		{"POST", "127.0.0.1:5000", 200},
		{"POST", "[::1]:5000", 200},
		{"GET", "192.0.2.7:5000", 200},
	} {
		path := "/api/deadletter/retry"
		if tc.method == "GET" {
			path = "/api/status"
		}
		req := httptest.NewRequest(tc.method, path, nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s from %s: got %d, want %d", tc.method, path, tc.remote, rec.Code, tc.want)
		}
	}
}
