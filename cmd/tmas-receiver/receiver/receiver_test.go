package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func errText(t *testing.T, a answer) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("answer %d %q is not an error object: %v", a.status, a.body, err)
	}
	return e.Error
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{}, "receiver config: tokens: at least one token is required"},
		{"blank token and location", Config{Tokens: []string{" "}, Locations: []string{""}, MaxLines: -1},
			"receiver config: tokens[0]: empty\nlocations[0]: empty\nmax_lines: -1 is negative"},
		{"locked db", Config{Tokens: []string{"x"}, DBPath: filepath.Join(t.TempDir(), "missing", "hq.db")},
			"open store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg)
			if err == nil {
				r.Close()
				t.Fatalf("got no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %q, want %q", err, tc.want)
			}
		})
	}
}

func testAuth(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{Tokens: []string{testToken, "second-token"}})
	body := ndjson(t, txn("k1", 1))
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"missing", "-", 401},
		{"not bearer", "Basic " + testToken, 401},
		{"wrong token", "Bearer nope", 401},
		{"prefix of token", "Bearer " + testToken[:5], 401},
		{"empty bearer", "Bearer ", 401},
		{"good", "Bearer " + testToken, 200},
		{"second token", "bearer second-token", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, nil, srv.URL, batch{idem: "auth-" + strings.ReplaceAll(tc.name, " ", "-"), body: body,
				headers: map[string]string{"Authorization": tc.auth}})
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.status == 401 {
				if got, want := errText(t, a), "the token is missing, wrong or revoked"; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				if got, want := a.header.Get("WWW-Authenticate"), `Bearer realm="tmas"`; got != want {
					t.Errorf("WWW-Authenticate: got %q, want %q", got, want)
				}
				if strings.Contains(a.body, testToken) {
					t.Errorf("the answer %q echoes the token", a.body)
				}
			}
		})
	}
	t.Run("ping", func(t *testing.T) {
		for _, tc := range []struct {
			token  string
			status int
		}{{testToken, 204}, {"second-token", 204}, {"wrong", 401}, {"", 401}} {
			if a := get(t, srv.URL+"/v1/ping", tc.token); a.status != tc.status {
				t.Errorf("ping with %q: got %d, want %d", tc.token, a.status, tc.status)
			}
		}
	})
	got := r.Stats().Responses
	want := map[int]int64{200: 2, 204: 2, 401: 7}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("responses (-want +got):\n%s", d)
	}
}

func testHeaders(t *testing.T, st testStore) {
	_, srv := start(t, st, Config{})
	body := ndjson(t, txn("k1", 1))
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		err     string
	}{
		{"no content type", map[string]string{"Content-Type": "-"}, 400, "Content-Type is missing: want application/x-ndjson"},
		{"json content type", map[string]string{"Content-Type": "application/json"}, 400, `Content-Type "application/json" is not application/x-ndjson`},
		{"content type with charset", map[string]string{"Content-Type": "application/x-ndjson; charset=utf-8"}, 200, ""},
		{"brotli", map[string]string{"Content-Encoding": "br"}, 400, `Content-Encoding "br" is not gzip or identity`},
		{"identity", map[string]string{"Content-Encoding": "identity"}, 200, ""},
		{"no idempotency key", map[string]string{"Idempotency-Key": "-"}, 400, "Idempotency-Key is missing"},
		{"idempotency key too long", map[string]string{"Idempotency-Key": long}, 400, "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:-]"},
		{"idempotency key with slash", map[string]string{"Idempotency-Key": "a/b"}, 400, "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:-]"},
		{"idempotency key with space", map[string]string{"Idempotency-Key": "a b"}, 400, "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:-]"},
		{"idempotency key of 128 with every class", map[string]string{"Idempotency-Key": "aZ09._:-" + long[:120]}, 200, ""},
		{"no agent id", map[string]string{"X-Agent-Id": "-"}, 400, "X-Agent-Id is missing"},
		{"agent id too long", map[string]string{"X-Agent-Id": strings.Repeat("s", 257)}, 400, "X-Agent-Id must be 1-256 printable characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Idempotency-Key": "h-" + strings.ReplaceAll(tc.name, " ", "-")}
			for k, v := range tc.headers {
				h[k] = v
			}
			a := send(t, nil, srv.URL, batch{body: body, headers: h})
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.err != "" {
				if got := errText(t, a); got != tc.err {
					t.Errorf("got %q, want %q", got, tc.err)
				}
			}
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		if a := get(t, srv.URL+"/v1/batches", testToken); a.status != http.StatusMethodNotAllowed {
			t.Errorf("got %d, want 405", a.status)
		}
	})
}

func testBodyDecoding(t *testing.T, st testStore) {
	lines := []any{txn("k1", 1), shift("s1", 3)}
	plain := ndjson(t, lines...)
	crlf := bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n"))
	noFinal := bytes.TrimSuffix(plain, []byte("\n"))
	truncated := gz(t, plain)
	truncated = truncated[:len(truncated)-6]
	for _, tc := range []struct {
		name   string
		b      batch
		status int
		answer string // the body for 200, the error text otherwise
	}{
		{"identity", batch{body: plain}, 200, `{"accepted":2,"duplicates":0}`},
		{"gzip", gzipped(t, batch{body: plain}), 200, `{"accepted":2,"duplicates":0}`},
		{"gzip upper case", batch{body: gz(t, plain), headers: map[string]string{"Content-Encoding": "GZIP"}}, 200, `{"accepted":2,"duplicates":0}`},
		{"crlf", batch{body: crlf}, 200, `{"accepted":2,"duplicates":0}`},
		{"no final newline", batch{body: noFinal}, 200, `{"accepted":2,"duplicates":0}`},
		{"gzip header but plain body", batch{body: plain, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "the body is not valid gzip"},
		{"truncated gzip", batch{body: truncated, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "the body is not valid gzip"},
		{"empty body", batch{body: nil}, 400, "the body holds no records"},
		{"only a newline", batch{body: []byte("\n")}, 400, "the body holds no records"},
		{"empty line inside", batch{body: ndjson(t, txn("k1", 1), "", txn("k2", 1))}, 400, "line 2 is empty"},
		{"not json", batch{body: ndjson(t, txn("k1", 1), `{"type":`)}, 400, "line 2 is not JSON: unexpected EOF"},
		{"two values on a line", batch{body: ndjson(t, `{"a":1} {"b":2}`)}, 400, "line 1 is not JSON: more than one JSON value on the line"},
		{"a JSON array body", batch{body: []byte(`[{"type":"shift"}, {"type":"shift"}]`)}, 422, ""},
		{"not utf-8", batch{body: append(ndjson(t, txn("k1", 1)), 0xff, 0xfe, '\n')}, 400, "the body is not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := start(t, st, Config{})
			a := send(t, nil, srv.URL, tc.b)
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			switch tc.status {
			case 200:
				if a.body != tc.answer {
					t.Errorf("got %s, want %s", a.body, tc.answer)
				}
				if got, want := keyRevs(r.Records()), map[string]int64{"k1": 1, "s1": 3}; !cmp.Equal(got, want) {
					t.Errorf("stored %v, want %v", got, want)
				}
			case 400:
				if got := errText(t, a); got != tc.answer {
					t.Errorf("got %q, want %q", got, tc.answer)
				}
				if n := len(r.Records()); n != 0 {
					t.Errorf("got %d records stored, want 0", n)
				}
			}
		})
	}
}

func testStoredRecordFields(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	line := ndjson(t, txn("k1", 4, set("extra", "kept")))
	if a := send(t, nil, srv.URL, batch{idem: "f-1", body: line}); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	got := r.Records()
	want := []StoredRecord{{
		Key: "k1", Rev: 4, Line: json.RawMessage(bytes.TrimSuffix(line, []byte("\n"))), AgentID: testAgent, Batch: "f-1",
		Fields: map[string]any{
			"type": "transaction", "key": "k1", "rev": json.Number("4"), "source": "shopify", "location_id": "0421",
			"observed_at": "2026-11-20T18:00:00Z", "kind": "sale", "occurred_at": "2026-11-20T09:15:00-05:00",
			"receipt": "#1001", "net_sales": "12.50", "tax": "1.63", "shipping": "0.00", "tips": "0.00",
			"discounts": "0.00", "currency": "CAD", "items": json.Number("2"), "paid": true, "extra": "kept",
		},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func testTooLarge(t *testing.T, st testStore) {
	three := ndjson(t, txn("k1", 1), txn("k2", 1), txn("k3", 1))
	four := ndjson(t, txn("k1", 1), txn("k2", 1), txn("k3", 1), txn("k4", 1))
	// One more byte than three: a space before the last newline.
	threePlus := append(bytes.Clone(three[:len(three)-1]), ' ', '\n')
	limit := int64(len(three))
	byLines := Config{MaxLines: 3}
	byBytes := Config{MaxBytes: limit}
	tooLarge := fmt.Sprintf("the body is larger than %d bytes", limit)
	for _, tc := range []struct {
		name   string
		cfg    Config
		b      batch
		status int
		err    string
	}{
		{"lines at the limit", byLines, batch{body: three}, 200, ""},
		{"one line too many", byLines, batch{body: four}, 413, "the batch has 4 lines, more than 3"},
		{"gzip, one line too many", byLines, gzipped(t, batch{body: four}), 413, "the batch has 4 lines, more than 3"},
		{"bytes at the limit", byBytes, batch{body: three}, 200, ""},
		{"one byte over the limit", byBytes, batch{body: threePlus}, 413, tooLarge},
		{"gzip small but large inflated", byBytes, gzipped(t, batch{body: threePlus}), 413, tooLarge},
		{"gzip at the limit", byBytes, gzipped(t, batch{body: three}), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := start(t, st, tc.cfg)
			a := send(t, nil, srv.URL, tc.b)
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.err != "" {
				if got := errText(t, a); got != tc.err {
					t.Errorf("got %q, want %q", got, tc.err)
				}
				if n := len(r.Records()); n != 0 {
					t.Errorf("got %d records stored, want 0", n)
				}
			}
		})
	}
}

func testIdempotency(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	first := ndjson(t, txn("k1", 1), txn("k2", 1))
	steps := []struct {
		name   string
		b      batch
		status int
		answer string
	}{
		{"first", batch{idem: "b-1", body: first}, 200, `{"accepted":2,"duplicates":0}`},
		{"second batch", batch{idem: "b-2", body: ndjson(t, txn("k2", 1), txn("k3", 1))}, 200, `{"accepted":1,"duplicates":1}`},
		{"replay of the first", batch{idem: "b-1", body: first}, 200, `{"accepted":2,"duplicates":0}`},
		{"replay gzipped", gzipped(t, batch{idem: "b-1", body: first}), 200, `{"accepted":2,"duplicates":0}`},
		{"replay of the second", batch{idem: "b-2", body: ndjson(t, txn("k2", 1), txn("k3", 1))}, 200, `{"accepted":1,"duplicates":1}`},
		{"same key, other lines", batch{idem: "b-1", body: ndjson(t, txn("k1", 2), txn("k2", 1))}, 409, `Idempotency-Key "b-1" was used before with different content`},
		{"same key, one line less", batch{idem: "b-1", body: ndjson(t, txn("k1", 1))}, 409, `Idempotency-Key "b-1" was used before with different content`},
		{"same key, other agent", batch{idem: "b-1", agent: "store-043", body: ndjson(t, txn("k9", 1))}, 200, `{"accepted":1,"duplicates":0}`},
	}
	for _, s := range steps {
		a := send(t, nil, srv.URL, s.b)
		if a.status != s.status {
			t.Fatalf("%s: got %d %s, want %d", s.name, a.status, a.body, s.status)
		}
		got := a.body
		if s.status != 200 {
			got = errText(t, a)
		}
		if got != s.answer {
			t.Errorf("%s: got %s, want %s", s.name, got, s.answer)
		}
	}
	if got, want := keyRevs(r.Records()), map[string]int64{"k1": 1, "k2": 1, "k3": 1, "k9": 1}; !cmp.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	want := Stats{BatchesAccepted: 3, LinesAccepted: 4, LinesIgnored: 1, RedeliveredLines: 1, Keys: 4,
		DuplicateBatches: 3, Responses: map[int]int64{200: 6, 409: 2}}
	if d := cmp.Diff(want, r.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
}

func testRevOrdering(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	steps := []struct {
		lines  []any
		answer string
	}{
		{[]any{txn("a", 2), shift("s", 1)}, `{"accepted":2,"duplicates":0}`},
		{[]any{txn("a", 1, set("receipt", "#old"))}, `{"accepted":0,"duplicates":1}`},              // lower: ignored
		{[]any{txn("a", 2, set("receipt", "#same"))}, `{"accepted":0,"duplicates":1}`},             // equal: ignored, redelivered
		{[]any{txn("a", 3, set("receipt", "#new")), txn("a", 3)}, `{"accepted":1,"duplicates":1}`}, // higher replaces, then equal in the same batch
		{[]any{shift("s", 5), shift("s", 4), shift("s", 6)}, `{"accepted":2,"duplicates":1}`},
		{[]any{txn("a", 3), shift("s", 6), txn("b", 1)}, `{"accepted":1,"duplicates":2}`}, // a@3 and s@6 redelivered
	}
	for i, s := range steps {
		a := send(t, nil, srv.URL, batch{idem: fmt.Sprintf("r-%d", i), body: ndjson(t, s.lines...)})
		if a.status != 200 || a.body != s.answer {
			t.Fatalf("step %d: got %d %s, want 200 %s", i, a.status, a.body, s.answer)
		}
	}
	type kept struct {
		Key         string
		Rev         int64
		Receipt     any
		Batch       string
		Redelivered int64
	}
	var got []kept
	for _, rec := range r.Records() {
		got = append(got, kept{rec.Key, rec.Rev, rec.Fields["receipt"], rec.Batch, rec.Redelivered})
	}
	want := []kept{
		{"a", 3, "#new", "r-3", 2},
		{"b", 1, "#1001", "r-5", 0},
		{"s", 6, nil, "r-4", 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	wantStats := Stats{BatchesAccepted: 6, LinesAccepted: 6, LinesIgnored: 6, RedeliveredLines: 3, Keys: 3,
		Responses: map[int]int64{200: 6}}
	if d := cmp.Diff(wantStats, r.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
}

func testPersistence(t *testing.T, st testStore) {
	open := st.storage(t)
	b1 := batch{idem: "p-1", body: ndjson(t, txn("k1", 1), shift("s1", 2))}
	b2 := batch{idem: "p-2", body: ndjson(t, txn("k1", 2), shift("s1", 2))}

	r1, err := New(Config{Store: open(), Tokens: []string{testToken}})
	if err != nil {
		t.Fatal(err)
	}
	srv1 := httptest.NewServer(r1.Handler())
	for _, b := range []batch{b1, b2} {
		if a := send(t, nil, srv1.URL, b); a.status != 200 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	}
	wantRecs, wantStats := r1.Records(), r1.Stats()
	srv1.Close()
	if err := r1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	r2, srv2 := start(t, st, Config{Store: open()})
	if d := cmp.Diff(wantRecs, r2.Records()); d != "" {
		t.Errorf("records after reopen (-want +got):\n%s", d)
	}
	gotStats := r2.Stats()
	want := Stats{BatchesAccepted: 2, LinesAccepted: 3, LinesIgnored: 1, RedeliveredLines: 1, Keys: 2, Responses: map[int]int64{}}
	if d := cmp.Diff(want, gotStats); d != "" {
		t.Errorf("stats after reopen (-want +got):\n%s", d)
	}
	if wantStats.LinesAccepted != gotStats.LinesAccepted {
		t.Errorf("lines accepted: got %d, want %d", gotStats.LinesAccepted, wantStats.LinesAccepted)
	}
	if a := send(t, nil, srv2.URL, b2); a.status != 200 || a.body != `{"accepted":1,"duplicates":1}` {
		t.Errorf("replay after reopen: got %d %s, want 200 with the original counts", a.status, a.body)
	}
	if a := send(t, nil, srv2.URL, batch{idem: "p-1", body: ndjson(t, txn("k1", 9))}); a.status != 409 {
		t.Errorf("other content after reopen: got %d %s, want 409", a.status, a.body)
	}
}

func testClosedReceiverAnswers503(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("k1", 1))})
	if a.status != 503 || errText(t, a) != "headquarters is shutting down" {
		t.Errorf("got %d %s, want 503 headquarters is shutting down", a.status, a.body)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	r, err := New(Config{Tokens: []string{testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	if a := send(t, nil, url, batch{body: ndjson(t, txn("k1", 1))}); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("the listener still accepts after Run returned")
	}
}
