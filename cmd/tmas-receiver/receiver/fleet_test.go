package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"
)

// report returns a valid status report of agent, changed by mods.
func report(agent string, healthy bool, mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"agent_id": agent, "version": "1.4.0", "os": "linux/amd64",
		"started_at": "2026-12-01T08:00:00Z", "sent_at": "2026-12-01T09:00:00Z",
		"interval_s": 300, "healthy": healthy, "problems": []string{},
		"buffer": map[string]any{"queued": 12, "oldest_queued_at": nil, "dead_letters": 0, "bytes": 4096, "max_bytes": 1 << 30, "full": false},
		"sources": []any{map[string]any{"name": "shopify", "state": "ok", "last_success_at": "2026-12-01T08:02:00Z",
			"next_run_at": "2026-12-01T09:02:00Z", "last_error": ""}},
		"files": map[string]any{"accepted": 3, "refused": 0}, "locations": []string{"0421"},
		"future_field": "ignored",
	}
	for _, f := range mods {
		f(m)
	}
	return m
}

// putStatus sends a status report; body is marshalled unless it is a string.
func putStatus(t *testing.T, url, token, pathAgent, headerAgent string, body any) answer {
	t.Helper()
	b, ok := body.(string)
	if !ok {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		b = string(j)
	}
	req, err := http.NewRequest(http.MethodPut, url+"/v1/agents/"+pathAgent+"/status", strings.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if headerAgent != "" {
		req.Header.Set("X-Agent-Id", headerAgent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(string(rb)), resp.Header}
}

var (
	bcryptOnce sync.Once
	bcryptHash string
)

// rotatedHash is a bcrypt hash of "tok-42-new" (computed once: bcrypt is slow).
func rotatedHash(t *testing.T) string {
	bcryptOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("tok-42-new"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		bcryptHash = string(h)
	})
	return bcryptHash
}

func agentTokens(t *testing.T) []AgentToken {
	return []AgentToken{
		{Agent: "store-042", Hash: HashToken("tok-42")},
		{Agent: "store-042", Hash: rotatedHash(t)}, // the rotation: both valid
		{Agent: "store-043", Hash: HashToken("tok-43")},
		{Agent: "store-044", Hash: HashToken("tok-44")}, // never heard of
	}
}

// testAgentTokens: a token bound to an agent works for it and gets 403 with
// another agent's id, on batches, ping and status; shared tokens work for any.
func testAgentTokens(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{Tokens: []string{"shared"}, AgentTokens: agentTokens(t)})
	body := ndjson(t, txn("k1", 1))
	for i, tc := range []struct {
		token, agent string
		status       int
		err          string
	}{
		{"tok-42", "store-042", 200, ""},
		{"tok-42-new", "store-042", 200, ""},
		{"tok-43", "store-043", 200, ""},
		{"shared", "store-099", 200, ""},
		{"tok-43", "store-042", 403, `this token is not agent "store-042"'s`},
		{"tok-42-new", "store-043", 403, `this token is not agent "store-043"'s`},
		{"tok-42", "store-099", 403, `this token is not agent "store-099"'s`},
		{"tok-45", "store-042", 401, "the token is missing, wrong or revoked"},
	} {
		a := send(t, nil, srv.URL, batch{idem: fmt.Sprintf("t-%d", i), agent: tc.agent, body: body,
			headers: map[string]string{"Authorization": "Bearer " + tc.token}})
		if a.status != tc.status {
			t.Errorf("batch %s as %s: got %d %s, want %d", tc.token, tc.agent, a.status, a.body, tc.status)
			continue
		}
		if tc.err != "" {
			if got := errText(t, a); got != tc.err {
				t.Errorf("batch %s as %s: got %q, want %q", tc.token, tc.agent, got, tc.err)
			}
		}
	}
	for _, tc := range []struct {
		token, agent string
		status       int
	}{
		{"tok-42", "", 204}, {"tok-42", "store-042", 204}, {"tok-43", "store-042", 403}, {"nope", "", 401},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/ping", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		if tc.agent != "" {
			req.Header.Set("X-Agent-Id", tc.agent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("ping %s as %q: got %d, want %d", tc.token, tc.agent, resp.StatusCode, tc.status)
		}
	}
	for _, tc := range []struct {
		token, agent string
		status       int
		err          string
	}{
		{"tok-42", "store-042", 204, ""},
		{"tok-43", "store-042", 403, `this token is not agent "store-042"'s`},
		{"tok-42-new", "store-043", 403, `this token is not agent "store-043"'s`},
		{"nope", "store-042", 401, "the token is missing, wrong or revoked"},
	} {
		a := putStatus(t, srv.URL, tc.token, tc.agent, tc.agent, report(tc.agent, true))
		if a.status != tc.status {
			t.Errorf("status %s as %s: got %d %s, want %d", tc.token, tc.agent, a.status, a.body, tc.status)
		} else if tc.err != "" && errText(t, a) != tc.err {
			t.Errorf("status %s as %s: got %q, want %q", tc.token, tc.agent, errText(t, a), tc.err)
		}
	}
	// The path names another agent while the header names the token's own.
	if a := putStatus(t, srv.URL, "tok-43", "store-042", "store-043", report("store-042", true)); a.status != 403 {
		t.Errorf("status of store-042 with store-043's token and header: got %d %s, want 403", a.status, a.body)
	}
	// Nothing of store-042 came from store-043's token.
	for _, rec := range r.Records() {
		if rec.AgentID != "store-042" && rec.AgentID != "store-043" && rec.AgentID != "store-099" {
			t.Errorf("record %s stored for %s", rec.Key, rec.AgentID)
		}
	}
}

// testStatusReports: PUT /v1/agents/{id}/status answers 204 for a report
// and 400 naming what is wrong, and keeps the latest report per agent.
func testStatusReports(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	for _, tc := range []struct {
		name        string
		path, agent string
		body        any
		status      int
		err         string
	}{
		{"good", "store-042", "store-042", report("store-042", true), 204, ""},
		{"second replaces", "store-042", "store-042", report("store-042", false, set("problems", []string{"source shopify has failed 3 runs in a row"})), 204, ""},
		{"not json", "store-042", "store-042", "{", 400, "status report: the body is not a JSON object: unexpected EOF"},
		{"an array", "store-042", "store-042", "[]", 400, "status report: the body is not a JSON object: json: cannot unmarshal array into Go value of type receiver.StatusReport"},
		{"two values", "store-042", "store-042", `{"agent_id":"store-042","interval_s":1,"healthy":true} {}`, 400, "status report: the body holds more than one JSON value"},
		{"missing fields", "store-042", "store-042", `{"version":"1"}`, 400, "status report: agent_id: missing\ninterval_s: missing\nhealthy: missing"},
		{"other agent in body", "store-042", "store-042", report("store-043", true), 400, `status report: agent_id: "store-043" is not the agent of the path, "store-042"`},
		{"interval zero", "store-042", "store-042", report("store-042", true, set("interval_s", 0)), 400, "status report: interval_s: 0 is not >= 1"},
		{"healthy a string", "store-042", "store-042", report("store-042", true, set("healthy", "yes")), 400, "status report: healthy: must be true or false, got a JSON string"},
		{"bad source state", "store-042", "store-042", report("store-042", true, set("sources", []any{map[string]any{"name": "x", "state": "broken"}})), 400, `status report: sources[0].state: "broken" is not ok, error, paused or disabled`},
		{"bad time", "store-042", "store-042", report("store-042", true, set("sent_at", "yesterday")), 400, ""},
		{"header differs", "store-042", "store-043", report("store-042", true), 400, `X-Agent-Id "store-043" is not the agent of the path, "store-042"`},
		{"no header", "store-042", "", report("store-042", true), 400, "X-Agent-Id is missing"},
	} {
		a := putStatus(t, srv.URL, testToken, tc.path, tc.agent, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.name, a.status, a.body, tc.status)
			continue
		}
		if tc.err != "" {
			if got := errText(t, a); got != tc.err {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.err)
			}
		}
	}
	f, err := r.Fleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Agents) != 1 || f.Agents[0].State != StateUnhealthy {
		t.Fatalf("fleet: got %+v, want store-042 unhealthy", f.Agents)
	}
	var kept map[string]any
	if err := json.Unmarshal(f.Agents[0].Report, &kept); err != nil {
		t.Fatal(err)
	}
	if got, want := kept["future_field"], "ignored"; got != want {
		t.Errorf("the kept report lost its unknown field: got %v, want %q", got, want)
	}
	if d := cmp.Diff([]string{"source shopify has failed 3 runs in a row"}, f.Agents[0].Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fleetFixture reports four agents at different times: store-a healthy
// just now, store-b unhealthy, store-c silent (20 min, interval 5 min),
// store-d in the tokens file only, store-e batches only.
func fleetFixture(t *testing.T, st testStore, cfg Config) (*Receiver, string) {
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	cfg.Tokens = []string{testToken}
	cfg.AgentTokens = []AgentToken{{Agent: "store-d", Hash: HashToken("tok-d")}}
	r, srv := start(t, st, cfg)
	if a := putStatus(t, srv.URL, testToken, "store-c", "store-c", report("store-c", true, set("version", "1.3.9"))); a.status != 204 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	clock.Add(20 * time.Minute)
	for _, rep := range []map[string]any{
		report("store-a", true, set("buffer", map[string]any{"queued": 0})),
		report("store-b", false, set("problems", []string{"the buffer is full", "headquarters refuses the token (401)"}),
			set("buffer", map[string]any{"queued": 90210, "full": true, "dead_letters": 2})),
	} {
		if a := putStatus(t, srv.URL, testToken, rep["agent_id"].(string), rep["agent_id"].(string), rep); a.status != 204 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	}
	if a := send(t, nil, srv.URL, batch{agent: "store-e", body: ndjson(t, txn("k1", 1))}); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	return r, srv.URL
}

func testFleet(t *testing.T, st testStore) {
	_, url := fleetFixture(t, st, Config{})
	a := get(t, url+"/v1/fleet", "")
	if a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	var f Fleet
	if err := json.Unmarshal([]byte(a.body), &f); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, State, Version string
		Problems           []string
		Queued             int64
		Batch              bool
	}
	var got []row
	for _, ag := range f.Agents {
		x := row{ID: ag.ID, State: ag.State, Problems: ag.Problems, Batch: ag.LastBatchAt != nil}
		if ag.LastReport != nil {
			x.Version, x.Queued = ag.LastReport.Version, ag.LastReport.Buffer.Queued
		}
		got = append(got, x)
	}
	want := []row{
		{"store-a", "healthy", "1.4.0", []string{}, 0, false},
		{"store-b", "unhealthy", "1.4.0", []string{"the buffer is full", "headquarters refuses the token (401)"}, 90210, false},
		{"store-c", "silent", "1.3.9", []string{"no report for 20m0s (expected every 300s)"}, 12, false},
		{"store-d", "never", "", []string{}, 0, false},
		{"store-e", "never", "", []string{}, 0, true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fleet (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"healthy": 1, "unhealthy": 1, "silent": 1, "never": 2}, f.States); d != "" {
		t.Errorf("states (-want +got):\n%s", d)
	}

	// --silent-after overrides 3 × the interval.
	_, url2 := fleetFixture(t, st, Config{SilentAfter: time.Hour})
	var f2 Fleet
	if err := json.Unmarshal([]byte(get(t, url2+"/v1/fleet", "").body), &f2); err != nil {
		t.Fatal(err)
	}
	if got := f2.States; got["silent"] != 0 || got["healthy"] != 2 {
		t.Errorf("states with SilentAfter 1h: got %v, want store-c healthy", got)
	}
}

func testMetrics(t *testing.T, st testStore) {
	_, url := fleetFixture(t, st, Config{})
	// A replay, a 409 and a 422 of two lines.
	body := ndjson(t, txn("k1", 1))
	send(t, nil, url, batch{agent: "store-e", body: body})
	send(t, nil, url, batch{agent: "store-e", body: ndjson(t, txn("k1", 2))})
	send(t, nil, url, batch{idem: "bad", body: ndjson(t, txn("k2", 1, del("kind")), txn("k3", 1, del("rev")), txn("k4", 1))})
	a := get(t, url+"/metrics", "")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(a.body + "\n"))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, a.body)
	}
	got := map[string]float64{}
	for name, fam := range fams {
		if !strings.HasPrefix(name, "tmas_") {
			continue
		}
		for _, m := range fam.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			if m.GetGauge() != nil {
				got[key] = m.GetGauge().GetValue()
			} else {
				got[key] = m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{
		"tmas_agents{state=healthy}": 1, "tmas_agents{state=unhealthy}": 1, "tmas_agents{state=silent}": 1, "tmas_agents{state=never}": 2,
		"tmas_batches_accepted_total": 1, "tmas_records_accepted_total": 1, "tmas_batch_replays_total": 1,
		"tmas_batch_conflicts_total": 1, "tmas_lines_rejected_total": 2,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
}

func TestParseTokens(t *testing.T) {
	h := HashToken("x")
	in := "# agent id, hash\n\nstore-042 " + h + "\nstore-042   " + h + "  \nstore-043\nstore-044 md5:abc\nstore-045 sha256:12\n"
	got, err := ParseTokens(strings.NewReader(in))
	want := "line 5: want AGENT_ID HASH, got 1 fields\n" +
		"line 6: agent store-044: the hash must start with sha256: or be a bcrypt hash ($2a$, $2b$, $2y$)\n" +
		"line 7: agent store-045: sha256: wants 64 hex digits"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if d := cmp.Diff([]AgentToken{{"store-042", h}, {"store-042", h}}, got); d != "" {
		t.Errorf("tokens (-want +got):\n%s", d)
	}
	if _, err := ParseTokens(bytes.NewReader(nil)); err != nil {
		t.Errorf("empty file: got %v, want nil", err)
	}
}
