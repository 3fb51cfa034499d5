package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	testToken = "agent-token-0421"
	testAgent = "store-042"
)

// start returns a Receiver with cfg (the test token added, and a fresh
// store of st's kind unless cfg names one) behind an httptest server, both
// closed at the end of the test.
func start(t *testing.T, st testStore, cfg Config) (*Receiver, *httptest.Server) {
	t.Helper()
	if cfg.Tokens == nil && cfg.AgentTokens == nil {
		cfg.Tokens = []string{testToken}
	}
	if cfg.Store == nil && cfg.DBPath == "" {
		cfg.Store = st.storage(t)()
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, srv
}

// txn returns a valid transaction line as a map, changed by mods.
func txn(key string, rev int, mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"type": "transaction", "key": key, "rev": rev, "source": "shopify", "location_id": "0421",
		"observed_at": "2026-11-20T18:00:00Z", "kind": "sale", "occurred_at": "2026-11-20T09:15:00-05:00",
		"receipt": "#1001", "net_sales": "12.50", "tax": "1.63", "shipping": "0.00", "tips": "0.00",
		"discounts": "0.00", "currency": "CAD", "items": 2, "paid": true,
	}
	for _, f := range mods {
		f(m)
	}
	return m
}

// shift returns a valid shift line as a map, changed by mods.
func shift(key string, rev int, mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"type": "shift", "key": key, "rev": rev, "source": "csv", "location_id": "0421",
		"observed_at": "2026-11-20T18:00:00Z", "employee_id": "E017",
		"clock_in": "2026-11-20T09:00:00-05:00", "clock_out": "2026-11-20T17:30:00-05:00", "hours": "8.00",
	}
	for _, f := range mods {
		f(m)
	}
	return m
}

func set(field string, v any) func(map[string]any) {
	return func(m map[string]any) { m[field] = v }
}

func del(field string) func(map[string]any) {
	return func(m map[string]any) { delete(m, field) }
}

// ndjson renders lines: maps are marshalled, strings are taken as they are.
func ndjson(t testing.TB, lines ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		switch v := l.(type) {
		case string:
			b.WriteString(v)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// batch is one POST /v1/batches.
type batch struct {
	idem    string
	agent   string
	body    []byte
	headers map[string]string // set, or delete when the value is "-"
}

type answer struct {
	status int
	body   string
	header http.Header
}

func send(t *testing.T, c *http.Client, url string, b batch) answer {
	t.Helper()
	a, err := trySend(c, url, b)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return a
}

func trySend(c *http.Client, url string, b batch) (answer, error) {
	return trySendCtx(context.Background(), c, url, b)
}

func trySendCtx(ctx context.Context, c *http.Client, url string, b batch) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/batches", bytes.NewReader(b.body))
	if err != nil {
		return answer{}, err
	}
	if b.idem == "" {
		b.idem = "b-1"
	}
	if b.agent == "" {
		b.agent = testAgent
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Idempotency-Key", b.idem)
	req.Header.Set("X-Agent-Id", b.agent)
	for k, v := range b.headers {
		if v == "-" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, strings.TrimSpace(string(rb)), resp.Header}, nil
}

// gzipped returns b with a gzip body.
func gzipped(t *testing.T, b batch) batch {
	t.Helper()
	b.body = gz(t, b.body)
	h := map[string]string{"Content-Encoding": "gzip"}
	for k, v := range b.headers {
		h[k] = v
	}
	b.headers = h
	return b
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(string(rb)), resp.Header}
}

// keyRevs summarises stored records as key -> rev.
func keyRevs(recs []StoredRecord) map[string]int64 {
	out := map[string]int64{}
	for _, r := range recs {
		out[r.Key] = r.Rev
	}
	return out
}
