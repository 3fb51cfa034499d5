package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
)

func testStatusFaults(t *testing.T, st testStore) {
	date := "Wed, 21 Oct 2026 07:28:00 GMT"
	for _, tc := range []struct {
		name       string
		f          Faults
		wantStatus []int // statuses of successive requests
		wantRetry  string
	}{
		{"503 twice with seconds", Faults{Status: 503, Count: 2, RetryAfter: "120"}, []int{503, 503, 200}, "120"},
		{"429 once with a date", Faults{Status: 429, Count: 1, RetryAfter: date}, []int{429, 200}, date},
		{"500 once", Faults{Status: 500, Count: 1}, []int{500, 200}, ""},
		{"502 until cleared", Faults{Status: 502}, []int{502, 502, 502, 502}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := start(t, st, Config{})
			if err := r.SetFaults(tc.f); err != nil {
				t.Fatal(err)
			}
			body := ndjson(t, txn("k1", 1))
			var got []int
			for i := range tc.wantStatus {
				a := send(t, nil, srv.URL, batch{body: body})
				got = append(got, a.status)
				if a.status != 200 {
					if h := a.header.Get("Retry-After"); h != tc.wantRetry {
						t.Errorf("request %d: Retry-After %q, want %q", i, h, tc.wantRetry)
					}
					if e, want := errText(t, a), "injected fault: "+http.StatusText(a.status); e != want {
						t.Errorf("request %d: got %q, want %q", i, e, want)
					}
				}
			}
			if d := cmp.Diff(tc.wantStatus, got); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
			// Pings are never answered with an injected status.
			if a := get(t, srv.URL+"/v1/ping", testToken); a.status != 204 {
				t.Errorf("ping: got %d, want 204", a.status)
			}
		})
	}
}

func testFaultsRefusedOutsideTheContract(t *testing.T, st testStore) {
	r, _ := start(t, st, Config{})
	for _, tc := range []struct {
		f    Faults
		want string
	}{
		{Faults{Status: 404}, "faults: status: 404 is not 429 or 5xx"},
		{Faults{Status: 200}, "faults: status: 200 is not 429 or 5xx"},
		{Faults{Status: 500, RetryAfter: "5"}, "faults: retry_after: the contract allows it with 429 and 503 only, not 500"},
		{Faults{Status: 503, RetryAfter: "soon"}, `faults: retry_after: "soon" is neither seconds nor an HTTP date`},
		{Faults{Status: 503, RetryAfter: "-1"}, `faults: retry_after: "-1" is neither seconds nor an HTTP date`},
		{Faults{Count: 3}, "faults: count, retry_after: need a status"},
		{Faults{Delay: record.Duration(-time.Second), ResetAfterStore: -1, MaxLines: -2, RejectKeys: map[string]string{"": "x"}},
			"faults: delay: -1s is negative\nreset_after_store: -1 is negative\nmax_lines: -2 is negative\nreject_keys: empty key"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := r.SetFaults(tc.f)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if d := cmp.Diff(Faults{}, r.Faults()); d != "" {
				t.Errorf("faults changed (-want +got):\n%s", d)
			}
		})
	}
}

func testDelayFault(t *testing.T, st testStore) {
	t.Run("answers after the delay", func(t *testing.T) {
		r, srv := start(t, st, Config{})
		if err := r.SetFaults(Faults{Delay: record.Duration(time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))}); a.status != 200 || a.body != `{"accepted":1,"duplicates":0}` {
			t.Errorf("got %d %s, want 200", a.status, a.body)
		}
		if a := get(t, srv.URL+"/v1/ping", testToken); a.status != 204 {
			t.Errorf("ping: got %d, want 204", a.status)
		}
	})
	t.Run("the batch is stored before the delay", func(t *testing.T) {
		r, srv := start(t, st, Config{})
		if err := r.SetFaults(Faults{Delay: record.Duration(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		b := batch{idem: "slow-1", body: ndjson(t, txn("k1", 1))}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		errc := make(chan error, 1)
		go func() {
			_, err := trySendCtx(ctx, client, srv.URL, b)
			errc <- err
		}()
		for r.Stats().BatchesAccepted == 0 {
			time.Sleep(time.Millisecond) // wait for the store, not a timing assertion
		}
		cancel() // the agent gives up waiting
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the client's cancellation", err)
		}
		if err := r.SetFaults(Faults{}); err != nil {
			t.Fatal(err)
		}
		if a := send(t, client, srv.URL, b); a.status != 200 || a.body != `{"accepted":1,"duplicates":0}` {
			t.Errorf("resend: got %d %s, want 200 with the original counts", a.status, a.body)
		}
		if s := r.Stats(); s.BatchesAccepted != 1 || s.DuplicateBatches != 1 {
			t.Errorf("got %d batches accepted and %d duplicate, want 1 and 1", s.BatchesAccepted, s.DuplicateBatches)
		}
	})
	t.Run("close ends a long delay with 503", func(t *testing.T) {
		r, srv := start(t, st, Config{})
		if err := r.SetFaults(Faults{Delay: record.Duration(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))})
		if a.status != 503 || errText(t, a) != "headquarters is shutting down" {
			t.Errorf("got %d %s, want 503", a.status, a.body)
		}
	})
}

func testResetAfterStoreFault(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	if err := r.SetFaults(Faults{ResetAfterStore: 1}); err != nil {
		t.Fatal(err)
	}
	// A fresh connection per request, so the client's transport cannot
	// silently resend on a reused one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	b := batch{idem: "reset-1", body: ndjson(t, txn("k1", 1), txn("k2", 1))}
	if a, err := trySend(client, srv.URL, b); err == nil {
		t.Fatalf("got %d %s, want a dropped connection", a.status, a.body)
	}
	if got, want := keyRevs(r.Records()), map[string]int64{"k1": 1, "k2": 1}; !cmp.Equal(got, want) {
		t.Errorf("stored before the reset: %v, want %v", got, want)
	}
	a := send(t, client, srv.URL, b)
	if a.status != 200 || a.body != `{"accepted":2,"duplicates":0}` {
		t.Errorf("resend: got %d %s, want 200 with the original counts", a.status, a.body)
	}
	want := Stats{BatchesAccepted: 1, LinesAccepted: 2, Keys: 2, DuplicateBatches: 1, Resets: 1, Responses: map[int]int64{200: 1}}
	if d := cmp.Diff(want, r.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if f := r.Faults(); f.ResetAfterStore != 0 {
		t.Errorf("reset_after_store left: got %d, want 0", f.ResetAfterStore)
	}
}

func testMaxLinesFault(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{MaxLines: 5})
	body := ndjson(t, txn("k1", 1), txn("k2", 1), txn("k3", 1))
	for _, tc := range []struct {
		max    int
		status int
		err    string
	}{
		{2, 413, "the batch has 3 lines, more than 2"},
		{3, 200, ""},
		{50, 200, ""}, // a fault never raises the configured limit
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			if err := r.SetFaults(Faults{MaxLines: tc.max}); err != nil {
				t.Fatal(err)
			}
			a := send(t, nil, srv.URL, batch{idem: fmt.Sprintf("m-%d", tc.max), body: body})
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.err != "" && errText(t, a) != tc.err {
				t.Errorf("got %q, want %q", errText(t, a), tc.err)
			}
		})
	}
	if err := r.SetFaults(Faults{MaxLines: 1}); err != nil {
		t.Fatal(err)
	}
	// A replay of a stored batch is still recognised.
	if a := send(t, nil, srv.URL, batch{idem: "m-3", body: body}); a.status != 200 || a.body != `{"accepted":3,"duplicates":0}` {
		t.Errorf("replay: got %d %s, want 200", a.status, a.body)
	}
	if a := send(t, nil, srv.URL, batch{idem: "m-4", body: ndjson(t, txn("k1", 1), txn("k2", 1), txn("k3", 1), txn("k4", 1), txn("k5", 1), txn("k6", 1))}); a.status != 413 {
		t.Errorf("6 lines with MaxLines 5: got %d, want 413", a.status)
	}
}

func testRejectKeysFault(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	if err := r.SetFaults(Faults{RejectKeys: map[string]string{"k2": "unknown product in line 1", "k4": ""}}); err != nil {
		t.Fatal(err)
	}
	a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1), txn("k2", 1), txn("k3", 1), txn("k4", 1, set("rev", 0)))})
	want := `{"rejected":[{"line":2,"error":"unknown product in line 1"},{"line":4,"error":"rev: 0 is not \u003e= 1; refused by headquarters"}]}`
	if a.status != 422 || a.body != want {
		t.Errorf("got %d %s, want 422 %s", a.status, a.body, want)
	}
	if n := len(r.Records()); n != 0 {
		t.Errorf("got %d records stored, want 0", n)
	}
}

func testRevokedFault(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	if err := r.SetFaults(Faults{Revoked: true}); err != nil {
		t.Fatal(err)
	}
	if a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))}); a.status != 401 {
		t.Errorf("batch: got %d, want 401", a.status)
	}
	if a := get(t, srv.URL+"/v1/ping", testToken); a.status != 401 {
		t.Errorf("ping: got %d, want 401", a.status)
	}
	if err := r.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if a := get(t, srv.URL+"/v1/ping", testToken); a.status != 204 {
		t.Errorf("ping after clearing: got %d, want 204", a.status)
	}
}

func adminPost(t *testing.T, url, body string) answer {
	t.Helper()
	resp, err := http.Post(url+"/_admin/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(b.String()), resp.Header}
}

func testAdminEndpoints(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{Admin: true})
	a := adminPost(t, srv.URL, `{"status":503,"count":1,"retry_after":"7","delay":"1ms","reject_keys":{"bad":"nope"}}`)
	wantFaults := `{"status":503,"count":1,"retry_after":"7","delay":"1ms","reject_keys":{"bad":"nope"}}`
	if a.status != 200 || a.body != wantFaults {
		t.Fatalf("set faults: got %d %s, want 200 %s", a.status, a.body, wantFaults)
	}
	if got := get(t, srv.URL+"/_admin/faults", ""); got.body != wantFaults {
		t.Errorf("get faults: got %s, want %s", got.body, wantFaults)
	}
	if a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))}); a.status != 503 || a.header.Get("Retry-After") != "7" {
		t.Errorf("got %d Retry-After %q, want 503 7", a.status, a.header.Get("Retry-After"))
	}
	if a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))}); a.status != 200 {
		t.Errorf("got %d %s, want 200", a.status, a.body)
	}
	for _, tc := range []struct{ body, err string }{
		{`{"status":404}`, "faults: status: 404 is not 429 or 5xx"},
		{`{"stauts":503}`, `faults: json: unknown field "stauts"`},
		{`{"delay":"soon"}`, `faults: "soon" is not a duration (use 90s, 15m, 48h or 7d)`},
	} {
		a := adminPost(t, srv.URL, tc.body)
		if a.status != 400 || errText(t, a) != tc.err {
			t.Errorf("%s: got %d %s, want 400 %q", tc.body, a.status, a.body, tc.err)
		}
	}
	if a := adminPost(t, srv.URL, `{}`); a.status != 200 || a.body != `{}` {
		t.Errorf("clear: got %d %s, want 200 {}", a.status, a.body)
	}

	recs := get(t, srv.URL+"/_admin/records", "")
	var gotRecs []StoredRecord
	if err := json.Unmarshal([]byte(recs.body), &gotRecs); err != nil {
		t.Fatalf("records %s: %v", recs.body, err)
	}
	if len(gotRecs) != 1 || gotRecs[0].Key != "k1" || gotRecs[0].Rev != 1 || gotRecs[0].AgentID != testAgent || gotRecs[0].Batch != "b-1" {
		t.Errorf("records: got %s", recs.body)
	}
	stats := get(t, srv.URL+"/_admin/stats", "")
	wantStats := `{"batches_accepted":1,"lines_accepted":1,"lines_ignored":0,"redelivered_lines":0,"keys":1,"duplicate_batches":0,"resets":0,"responses":{"200":1,"503":1}}`
	if stats.body != wantStats {
		t.Errorf("stats: got %s, want %s", stats.body, wantStats)
	}
	if d := cmp.Diff(Faults{}, r.Faults()); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
}

func testAdminDisabledByDefault(t *testing.T, st testStore) {
	_, srv := start(t, st, Config{})
	for _, p := range []string{"/_admin/faults", "/_admin/records", "/_admin/stats"} {
		if a := get(t, srv.URL+p, testToken); a.status != 404 {
			t.Errorf("%s: got %d, want 404", p, a.status)
		}
	}
	if a := adminPost(t, srv.URL, `{"revoked":true}`); a.status != 404 {
		t.Errorf("POST faults: got %d, want 404", a.status)
	}
}
