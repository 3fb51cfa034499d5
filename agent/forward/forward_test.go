package forward

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
)

// hq is a headquarters double that follows the upstream contract: it stores
// batches by Idempotency-Key and records by key/rev, and answers what its
// script says first.
type hq struct {
	mu       sync.Mutex
	script   []func(w http.ResponseWriter, r *http.Request, lines []string) bool // true = handled
	batches  map[string]string
	records  map[string]int64
	keysSeen []string
	requests []request
}

type request struct {
	Key   string
	Lines int
	Agent string
	Auth  string
}

func newHQ() *hq { return &hq{batches: map[string]string{}, records: map[string]int64{}} }

func (h *hq) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	zr, err := gzip.NewReader(r.Body)
	if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "not gzip", 400)
		return
	}
	var lines []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	key := r.Header.Get("Idempotency-Key")
	h.mu.Lock()
	h.requests = append(h.requests, request{key, len(lines), r.Header.Get("X-Agent-Id"), r.Header.Get("Authorization")})
	var step func(w http.ResponseWriter, r *http.Request, lines []string) bool
	if len(h.script) > 0 {
		step, h.script = h.script[0], h.script[1:]
	}
	h.mu.Unlock()
	if step != nil && step(w, r, lines) {
		return
	}
	h.store(w, key, lines)
}

func (h *hq) store(w http.ResponseWriter, key string, lines []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	body := strings.Join(lines, "\n")
	if prev, ok := h.batches[key]; ok {
		if prev != body {
			w.WriteHeader(409)
			return
		}
		fmt.Fprintf(w, `{"accepted":0,"duplicates":%d}`, len(lines))
		return
	}
	h.batches[key] = body
	dups := 0
	for _, l := range lines {
		var rec struct {
			Key string `json:"key"`
			Rev int64  `json:"rev"`
		}
		json.Unmarshal([]byte(l), &rec)
		if h.records[rec.Key] >= rec.Rev {
			dups++
			continue
		}
		h.records[rec.Key] = rec.Rev
		h.keysSeen = append(h.keysSeen, rec.Key)
	}
	fmt.Fprintf(w, `{"accepted":%d,"duplicates":%d}`, len(lines)-dups, dups)
}

func (h *hq) answer(code int, header map[string]string, body string) func(http.ResponseWriter, *http.Request, []string) bool {
	return func(w http.ResponseWriter, _ *http.Request, _ []string) bool {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		fmt.Fprint(w, body)
		return true
	}
}

func setup(t *testing.T, n int, h *hq, tweak func(*Config)) (*spool.Spool, *Forwarder) {
	t.Helper()
	sp, _, err := spool.Open(spool.Options{Path: filepath.Join(t.TempDir(), "buffer.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var rs []record.Record
	at := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	for i := range n {
		rs = append(rs, record.Record{Type: record.TypeTransaction, Key: fmt.Sprintf("k%03d", i), Source: "shopify", LocationID: "0421",
			Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: at, Receipt: "#1", NetSales: record.MustMoney("1"), Currency: "CAD", Items: 1}})
	}
	if _, err := sp.Commit(spool.Change{Records: rs}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL, Token: record.NewSecret("s3cret-token"), AgentID: "store-042", MaxLines: 10,
		MaxAge: time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, PausedRetry: 30 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	f, err := New(cfg, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sp, f
}

// drain runs the forwarder until the queue is empty or the deadline passes.
func drain(t *testing.T, sp *spool.Spool, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for sp.Stats().Queued > 0 && ctx.Err() == nil {
		f.Wake()
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q := sp.Stats().Queued; q > 0 {
		t.Fatalf("got %d records still queued, want all delivered", q)
	}
}

func wantKeys(n int, skip ...string) []string {
	var out []string
	for i := range n {
		k := fmt.Sprintf("k%03d", i)
		if !contains(skip, k) {
			out = append(out, k)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestHeadersAndHappyPath(t *testing.T) {
	h := newHQ()
	sp, f := setup(t, 25, h, nil)
	drain(t, sp, f)
	if diff := cmp.Diff(wantKeys(25), h.keysSeen); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if len(h.requests) != 3 || h.requests[0].Lines != 10 || h.requests[2].Lines != 5 {
		t.Errorf("got requests %+v, want 10+10+5 lines", h.requests)
	}
	r := h.requests[0]
	if r.Agent != "store-042" || r.Auth != "Bearer s3cret-token" || !strings.HasPrefix(r.Key, "b."+sp.Instance()+".") {
		t.Errorf("got request %+v", r)
	}
	if st := f.Status(); st.Batches != 3 || st.Records != 25 || st.Failures != 0 {
		t.Errorf("got status %+v", st)
	}
}

func TestTransientFailuresResendSameBatch(t *testing.T) {
	h := newHQ()
	resetAfterStore := func(w http.ResponseWriter, r *http.Request, lines []string) bool {
		h.store(httptest.NewRecorder(), r.Header.Get("Idempotency-Key"), lines)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // stored, but the agent never hears it
		return true
	}
	h.script = append(h.script,
		h.answer(503, map[string]string{"Retry-After": "0"}, "maintenance"),
		h.answer(429, map[string]string{"Retry-After": time.Now().Add(-time.Second).UTC().Format(http.TimeFormat)}, ""),
		h.answer(500, nil, "oops"),
		resetAfterStore,
		h.answer(502, nil, ""),
	)
	sp, f := setup(t, 12, h, nil)
	drain(t, sp, f)
	if diff := cmp.Diff(wantKeys(12), sorted(h.keysSeen)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	// The first batch was tried five times and then stored: always one key.
	keys := map[string]int{}
	for _, r := range h.requests {
		keys[r.Key]++
	}
	first := h.requests[0].Key
	if keys[first] != 6 {
		t.Errorf("got %d attempts under the first key, want 6 (5 failures + 1): %+v", keys[first], h.requests)
	}
	if st := f.Status(); st.Duplicates != 10 || st.ResponsesByCode["503"] != 1 || st.ResponsesByCode["429"] != 1 {
		t.Errorf("got status %+v, want the resend after the reset counted as 10 duplicates", st)
	}
}

func TestSplitOn413(t *testing.T) {
	h := newHQ()
	tooBig := func(w http.ResponseWriter, _ *http.Request, lines []string) bool {
		if len(lines) > 3 {
			w.WriteHeader(413)
			return true
		}
		return false
	}
	for range 20 {
		h.script = append(h.script, tooBig)
	}
	sp, f := setup(t, 10, h, nil)
	drain(t, sp, f)
	if diff := cmp.Diff(wantKeys(10), h.keysSeen); diff != "" {
		t.Errorf("records (-want +got), in order:\n%s", diff)
	}
	var sizes []int
	for _, r := range h.requests {
		sizes = append(sizes, r.Lines)
	}
	if diff := cmp.Diff([]int{10, 5, 2, 3, 5, 2, 3}, sizes); diff != "" {
		t.Errorf("request sizes (-want +got):\n%s", diff)
	}
}

func TestRejectOn422(t *testing.T) {
	h := newHQ()
	h.script = append(h.script, h.answer(422, nil, `{"rejected":[{"line":2,"error":"location_id: unknown location 0421"},{"line":7,"error":"net_sales: not a decimal"}]}`))
	sp, f := setup(t, 10, h, nil)
	drain(t, sp, f)
	if diff := cmp.Diff(wantKeys(10, "k001", "k006"), h.keysSeen); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	dead, _ := sp.DeadLetters()
	var got []string
	for _, d := range dead {
		var r struct{ Key string }
		json.Unmarshal([]byte(d.Line), &r)
		got = append(got, r.Key+": "+d.Reason)
	}
	want := []string{"k001: location_id: unknown location 0421", "k006: net_sales: not a decimal"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	if h.requests[0].Key == h.requests[1].Key {
		t.Errorf("the rest of a 422 batch was resent under the same key %s; the contract wants a new batch", h.requests[0].Key)
	}
}

func TestPauseOn401KeepsEverything(t *testing.T) {
	h := newHQ()
	h.script = append(h.script, h.answer(401, nil, ""), h.answer(403, nil, ""))
	sp, f := setup(t, 5, h, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.Status().State != StatePaused && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st := f.Status()
	want := "headquarters refused the agent token (HTTP 401): check upstream.token; forwarding is paused and everything is kept"
	if st.State != StatePaused || st.LastError != want {
		t.Errorf("got %s %q, want paused with %q", st.State, st.LastError, want)
	}
	if strings.Contains(fmt.Sprintf("%+v", st), "s3cret") {
		t.Error("the token appears in the status")
	}
	if q := sp.Stats().Queued; q != 5 {
		t.Errorf("got %d queued while paused, want 5", q)
	}
	cancel()
	<-done
	drain(t, sp, f)
	if diff := cmp.Diff(wantKeys(5), h.keysSeen); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestConflictIsDeadLetteredLoudly(t *testing.T) {
	h := newHQ()
	h.script = append(h.script, h.answer(409, nil, `{"error":"key reused"}`))
	sp, f := setup(t, 3, h, nil)
	drain(t, sp, f)
	dead, _ := sp.DeadLetters()
	if len(dead) != 3 || dead[0].Reason != `headquarters answered 409 (idempotency key reused with other content): {"error":"key reused"}` {
		t.Fatalf("got dead letters %+v", dead)
	}
}
