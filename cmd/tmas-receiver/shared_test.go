package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore/pgtest"
)

// hqLine is the line of key at rev: the same bytes whichever batch carries it.
func hqLine(key string, rev int) string {
	return fmt.Sprintf(`{"type":"shift","key":%q,"rev":%d,"source":"csv","location_id":"0421","observed_at":"2026-11-20T18:00:00Z","employee_id":"E%d","clock_in":"2026-11-20T09:00:00-05:00","clock_out":null,"hours":"7.50"}`, key, rev, rev)
}

type hqAnswer struct {
	status int
	body   string
}

func hqDo(t *testing.T, method, url, token, agent, idem, ctype, body string) hqAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Agent-Id", agent)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return hqAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return hqAnswer{resp.StatusCode, strings.TrimSpace(string(b))}
}

// TestTwoReceiversOnePostgres runs two tmas-receiver processes on one
// PostgreSQL database: 20 agents send batches, each resent through either
// instance at random, some to both at the same moment. Every batch is
// answered 200 (a replay never 409), every key is stored once at its
// highest rev, each batch counts once, and a token used with another
// agent's id gets 403 from both instances, on batches and on status.
func TestTwoReceiversOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	bin := buildReceiver(t, dir)

	const agents, batchesPerAgent, keysPerAgent = 20, 15, 25
	tokensFile := writeAgentTokens(t, dir, agents)
	var urls []string
	for range 2 {
		urls = append(urls, startSharedReceiver(t, bin, dsn, tokensFile))
	}

	rng := rand.New(rand.NewPCG(13, 11))
	plan, want := planBatches(rng, agents, batchesPerAgent, keysPerAgent)
	answers := sendPlan(t, rng, urls, plan)

	for i, u := range urls {
		checkInstance(t, i, u, want, agents*batchesPerAgent)
	}
	t.Logf("answers by status: %v", answers)

	checkForeignToken(t, urls)
	// The report sent to one instance is seen by the other.
	resp, err := http.Get(urls[0] + "/v1/fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f receiver.Fleet
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"healthy": 1, "never": agents - 1, "silent": 0, "unhealthy": 0}, f.States); d != "" {
		t.Errorf("fleet states (-want +got):\n%s", d)
	}
}

// writeAgentTokens writes the tokens file of agents store-00... with the
// tokens token-00... and returns its path.
func writeAgentTokens(t *testing.T, dir string, agents int) string {
	t.Helper()
	var tokens bytes.Buffer
	for a := range agents {
		fmt.Fprintf(&tokens, "store-%02d %s\n", a, receiver.HashToken(fmt.Sprintf("token-%02d", a)))
	}
	tokensFile := filepath.Join(dir, "agents.tokens")
	if err := os.WriteFile(tokensFile, tokens.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return tokensFile
}

// startSharedReceiver starts bin on the database dsn, stopped at cleanup,
// and returns its URL.
func startSharedReceiver(t *testing.T, bin, dsn, tokensFile string) string {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--store", dsn, "--tokens-file", tokensFile, "--admin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("receiver stderr:\n%s", stderr.String())
		}
	})
	return listening(t, stdout)
}

type hqBatch struct {
	idem string
	body string
}

// planBatches makes each agent's batches: random keys of its own at random
// revs. want is the highest rev of every key.
func planBatches(rng *rand.Rand, agents, batchesPerAgent, keysPerAgent int) (plan [][]hqBatch, want map[string]int64) {
	want = map[string]int64{}
	plan = make([][]hqBatch, agents)
	for a := range agents {
		for b := range batchesPerAgent {
			var body strings.Builder
			for range 1 + rng.IntN(12) {
				key := fmt.Sprintf("csv:%02d:E%d:2026-11-20T09:00", a, rng.IntN(keysPerAgent))
				rev := 1 + rng.IntN(6)
				want[key] = max(want[key], int64(rev))
				body.WriteString(hqLine(key, rev) + "\n")
			}
			plan[a] = append(plan[a], hqBatch{fmt.Sprintf("store-%02d-b%d", a, b), body.String()})
		}
	}
	return plan, want
}

// sendPlan sends every agent's batches at once, each resent through either
// instance at random, some to both at the same moment; every answer must
// be 200. It returns the count of answers by status.
func sendPlan(t *testing.T, rng *rand.Rand, urls []string, plan [][]hqBatch) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[int]int{}
	for a := range plan {
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			agent, token := fmt.Sprintf("store-%02d", a), fmt.Sprintf("token-%02d", a)
			post := func(url string, b hqBatch) {
				ans := hqDo(t, http.MethodPost, url+"/v1/batches", token, agent, b.idem, "application/x-ndjson", b.body)
				mu.Lock()
				answers[ans.status]++
				mu.Unlock()
				if ans.status != 200 {
					t.Errorf("%s %s via %s: got %d %s, want 200", agent, b.idem, url, ans.status, ans.body)
				}
			}
			for _, b := range plan[a] {
				for range 1 + r.IntN(3) {
					if r.IntN(3) == 0 {
						// The same batch to both instances at once.
						var both sync.WaitGroup
						for _, u := range urls {
							both.Add(1)
							go func() { defer both.Done(); post(u, b) }()
						}
						both.Wait()
					} else {
						post(urls[r.IntN(2)], b)
					}
				}
			}
		}()
	}
	wg.Wait()
	return answers
}

// checkInstance checks that instance i at u holds every key once at its
// highest rev (want) with that rev's line, and counts batches once.
func checkInstance(t *testing.T, i int, u string, want map[string]int64, batches int64) {
	t.Helper()
	resp, err := http.Get(u + "/_admin/records")
	if err != nil {
		t.Fatal(err)
	}
	var recs []receiver.StoredRecord
	err = json.NewDecoder(resp.Body).Decode(&recs)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, rec := range recs {
		if _, dup := got[rec.Key]; dup {
			t.Errorf("instance %d: key %s stored twice", i, rec.Key)
		}
		got[rec.Key] = rec.Rev
		if string(rec.Line) != hqLine(rec.Key, int(rec.Rev)) {
			t.Errorf("instance %d: key %s holds %s, want the line of rev %d", i, rec.Key, rec.Line, rec.Rev)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("instance %d: records key -> rev (-want +got):\n%s", i, d)
	}
	resp, err = http.Get(u + "/_admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st receiver.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.BatchesAccepted != batches || st.Keys != int64(len(want)) {
		t.Errorf("instance %d: %d batches and %d keys stored, want %d and %d", i, st.BatchesAccepted, st.Keys, batches, len(want))
	}
}

// checkForeignToken checks that another agent's token gets 403 from every
// instance, on batches and on status, and the agent's own token 204.
func checkForeignToken(t *testing.T, urls []string) {
	t.Helper()
	status := `{"agent_id":"store-01","version":"1","os":"linux/amd64","interval_s":300,"healthy":true,"problems":[]}`
	for _, u := range urls {
		if a := hqDo(t, http.MethodPost, u+"/v1/batches", "token-00", "store-01", "x-1", "application/x-ndjson", hqLine("csv:01:E1:x", 9)+"\n"); a.status != 403 {
			t.Errorf("batch with store-00's token as store-01: got %d %s, want 403", a.status, a.body)
		}
		if a := hqDo(t, http.MethodPut, u+"/v1/agents/store-01/status", "token-00", "store-01", "", "application/json", status); a.status != 403 {
			t.Errorf("status with store-00's token as store-01: got %d %s, want 403", a.status, a.body)
		}
		if a := hqDo(t, http.MethodPut, u+"/v1/agents/store-01/status", "token-01", "store-01", "", "application/json", status); a.status != 204 {
			t.Errorf("status with store-01's own token: got %d %s, want 204", a.status, a.body)
		}
	}
}
