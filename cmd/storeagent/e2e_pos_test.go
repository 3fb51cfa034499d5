package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tmas/storeagent/importers/shopify/shopifytest"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// TestPOSSourcesEndToEnd runs the agent binary against the Shopify and
// Lightspeed doubles (paced by Shopify's cost bucket), kills it in the
// middle of the paginated first import a few times, and checks that
// headquarters ends with every POS sale exactly once with its exact net
// sales, that `report` agrees with headquarters, and that `locations`
// shows the mapping.
func TestPOSSourcesEndToEnd(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	toronto := mustZone("America/Toronto")
	now := time.Now()

	// Shopify: POS sales at the mapped location, web orders and a test
	// order that must not count. A small bucket makes the import take
	// several seconds, so that kills land mid-pagination.
	shop := shopifytest.NewServer(t, shopifytest.Options{BucketSize: 2000, RestoreRate: 400, SearchLag: -1})
	shop.AddToken("shpat_e2e")
	loc := shop.AddLocation("Toronto Queen St", true)
	other := shop.AddLocation("Warehouse", false)
	want := map[string]string{} // key -> net_sales
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 120 {
		at := now.Add(-time.Duration(1+rng.IntN(4*24*60)) * time.Minute)
		qty := 1 + i%3
		id := shop.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: at,
			Lines: []shopifytest.Line{{Title: "Mug", SKU: "MUG-1", Qty: qty, Price: "10.00", Tax: fmt.Sprintf("%d.30", qty)}}})
		want["shopify:acme:order:"+strings.TrimPrefix(id, "gid://shopify/Order/")] = decimal.NewFromInt(int64(qty * 10)).StringFixed(2)
	}
	for range 20 {
		shop.AddOrder(shopifytest.Order{Source: "web", ProcessedAt: now.Add(-time.Hour), Lines: []shopifytest.Line{{Title: "Mug", Qty: 1, Price: "10.00"}}})
	}
	shop.AddOrder(shopifytest.Order{Location: loc, Test: true, ProcessedAt: now.Add(-time.Hour), Lines: []shopifytest.Line{{Title: "Mug", Qty: 1, Price: "10.00"}}})
	_ = other

	// Lightspeed: closed sales at the mapped outlet, a parked one that
	// must not count.
	v := vendtest.NewServer(t, vendtest.WithPersonalToken("vend-e2e"), vendtest.WithNow(now))
	outlet := v.AddOutlet(vendtest.Outlet{Name: "Main", TimeZone: "America/Toronto", Currency: "CAD"})
	user := v.AddUser(vendtest.User{Username: "ana", DisplayName: "Ana", RestrictedOutletIDs: []string{outlet}})
	for i := range 60 {
		id := v.AddSale(vendtest.Sale{OutletID: outlet, UserID: user, Receipt: fmt.Sprint(5000 + i), Status: "CLOSED",
			SaleDate: now.Add(-time.Duration(1+rng.IntN(3*24*60)) * time.Minute),
			Lines:    []vendtest.Line{{ProductID: "p1", Qty: "2", UnitPrice: "7.25", TaxRate: "0.13"}}})
		want["vend:acme:sale:"+id] = "14.50"
	}
	v.AddSale(vendtest.Sale{OutletID: outlet, UserID: user, Receipt: "parked", Status: "SAVED", SaleDate: now.Add(-time.Hour),
		Lines: []vendtest.Line{{ProductID: "p1", Qty: "1", UnitPrice: "7.25"}}})

	s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, ", retry_min: 50ms, retry_max: 300ms", fmt.Sprintf(`shopify: {shop: acme, token: shpat_e2e, base_url: %q, page_size: 5, backfill_days: 5, schedule: "0 0 1 1 *", spread: 1s}
vend: {domain_prefix: acme, token: vend-e2e, base_url: %q, backfill_days: 5, page_size: 20, schedule: "0 0 1 1 *", spread: 1s, staff: false}
`, shop.URL, v.URL))
	// Map the location: the agent's location list from the POS itself.
	rewriteLocations(t, s, fmt.Sprintf(`  "0421": {timezone: America/Toronto, shopify: %q, vend: %q}`, loc, outlet[len(outlet)-8:]))

	out, code := cli(t, agentBin, "locations", "shopify", "--config", s.config)
	if code != 0 || !strings.Contains(out, loc) || !strings.Contains(out, "Toronto Queen St") || !strings.Contains(out, "0421") || !strings.Contains(out, other) {
		t.Errorf("locations shopify: exit %d\n%s", code, out)
	}

	// Kill the agent during its first, paginated import.
	for i := range 3 {
		p := startAgent(t, agentBin, s)
		time.Sleep(time.Duration(1500+rng.IntN(2500)) * time.Millisecond)
		p.kill()
		t.Logf("kill %d: headquarters holds %d records", i, len(h.records(t)))
	}
	p := startAgent(t, agentBin, s)
	defer func() {
		if t.Failed() {
			t.Logf("agent status: %v\nagent output (tail): %s", s.status(), tail(p.out.String(), 3000))
		}
	}()
	waitFor(t, "both sources to finish and the queue to drain", 40*time.Second, func() bool {
		st := s.status()
		srcs, _ := st["sources"].([]any)
		for _, x := range srcs {
			if m, _ := x.(map[string]any); m["state"] != "ok" {
				return false
			}
		}
		buf, _ := st["buffer"].(map[string]any)
		return len(srcs) == 2 && buf["queued"] == 0.0
	})
	p.stop(t)

	got := map[string]string{}
	byDay := map[string]decimal.Decimal{}
	for k, r := range h.records(t) {
		f := fields(t, r.Line)
		got[k], _ = f["net_sales"].(string)
		occurred, _ := time.Parse(time.RFC3339, f["occurred_at"].(string))
		n, _ := decimal.NewFromString(got[k])
		day := occurred.In(toronto).Format(time.DateOnly)
		byDay[day] = byDay[day].Add(n)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sales at headquarters (-want +got):\n%s", diff)
	}
	if st := h.stats(t); st.RedeliveredLines != 0 {
		t.Errorf("got %d lines sent twice under different batches", st.RedeliveredLines)
	}
	// The agent's own report agrees with headquarters, day by day.
	for day, total := range byDay {
		out, code := cli(t, agentBin, "report", "--location", "0421", "--date", day, "--config", s.config)
		wantTotal := "total  " + total.StringFixed(2)
		if code != 0 || !strings.Contains(strings.Join(strings.Fields(lastLine(out)), "  "), wantTotal) {
			t.Errorf("report for %s: exit %d, want %q in the last line:\n%s", day, code, wantTotal, out)
		}
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// rewriteLocations replaces the locations block of a test configuration.
func rewriteLocations(t *testing.T, s agentSetup, block string) {
	t.Helper()
	raw := readFile(t, s.config)
	start := strings.Index(raw, "locations:\n")
	end := strings.Index(raw, "inbox:")
	raw = raw[:start] + "locations:\n" + block + "\n" + raw[end:]
	writeFile(t, s.config, raw)
}
