package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/shopify/shopifytest"
)

// fleetAgent is the part of GET /v1/fleet this test reads.
type fleetAgent struct {
	ID       string   `json:"id"`
	State    string   `json:"state"`
	Problems []string `json:"problems"`
}

func fleetState(t *testing.T, hqURL, id string) fleetAgent {
	t.Helper()
	resp, err := http.Get(hqURL + "/v1/fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct{ Agents []fleetAgent }
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.Agents {
		if a.ID == id {
			return a
		}
	}
	return fleetAgent{ID: id, State: "absent"}
}

// TestFleetSeesTheAgent: headquarters' fleet view follows a real agent
// binary through its status reports: healthy once started; unhealthy, with
// the cause, as soon as Shopify revokes its token; silent after the agent is
// killed (SIGKILL: no goodbye); healthy again once restarted with a token
// that works. The agent's token is bound to its id in a tokens file.
func TestFleetSeesTheAgent(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("agent-token"))
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# agent id, token hash\ne2e-store sha256:"+hex.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, hqBin, "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "hq.db"), "--tokens-file", tokens, "--silent-after", "15s")
	var hqURL string
	waitFor(t, "the receiver", 20*time.Second, func() bool {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if addr, ok := strings.CutPrefix(line, "listening on "); ok {
				hqURL = strings.TrimSpace(addr)
			}
		}
		return hqURL != ""
	})

	shop := shopifytest.NewServer(t, shopifytest.Options{SearchLag: -1})
	shop.AddToken("shpat_fleet")
	loc := shop.AddLocation("Toronto", true)
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), hqURL, ", status_interval: 10s", fmt.Sprintf(
		`shopify: {shop: acme, token: shpat_fleet, base_url: %q, schedule: "0 0 1 1 *", spread: 1s}
`, shop.URL))
	rewriteLocations(t, s, fmt.Sprintf(`  "0421": {timezone: America/Toronto, shopify: %q}`, loc))

	a := startAgent(t, agentBin, s)
	waitFor(t, "the agent healthy in the fleet view", 30*time.Second, func() bool {
		return fleetState(t, hqURL, "e2e-store").State == "healthy"
	})

	shop.RevokeToken("shpat_fleet")
	cli(t, agentBin, "sync", "shopify", "--config", s.config) // fails: the token was revoked
	var got fleetAgent
	waitFor(t, "the agent unhealthy, with the cause", 15*time.Second, func() bool {
		got = fleetState(t, hqURL, "e2e-store")
		return got.State == "unhealthy"
	})
	if len(got.Problems) == 0 || !strings.Contains(strings.Join(got.Problems, "\n"), "shopify") ||
		!strings.Contains(strings.Join(got.Problems, "\n"), "access token was rejected") {
		t.Errorf("got problems %q, want the Shopify source's refused token", got.Problems)
	}
	if strings.Contains(fmt.Sprint(got), "shpat_fleet") {
		t.Errorf("the fleet view shows the Shopify token: %v", got)
	}

	a.kill()
	waitFor(t, "the killed agent silent", 40*time.Second, func() bool {
		return fleetState(t, hqURL, "e2e-store").State == "silent"
	})

	shop.AddToken("shpat_fleet")
	a = startAgent(t, agentBin, s)
	defer a.stop(t)
	waitFor(t, "the restarted agent healthy", 30*time.Second, func() bool {
		return fleetState(t, hqURL, "e2e-store").State == "healthy"
	})
}
