package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/woocommerce/woocommercetest"
)

// TestWooCommerceEndToEnd runs the agent binary against the WooCommerce
// double (HTTPS, trusted through ca_file, slow enough that kills land in
// the middle of the paginated first import), kills it a few times, and
// checks that headquarters ends with every web order's sale, return or
// void exactly once by key with its exact net sales, and that `locations`
// and `doctor` speak of the shop.
func TestWooCommerceEndToEnd(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	now := time.Now().UTC()

	shop := woocommercetest.NewServer(t, woocommercetest.Options{SiteZone: mustZone("Europe/Paris"), Latency: 100 * time.Millisecond})
	shop.AddKey("ck_e2e", "cs_e2e", woocommercetest.Read)
	ca := filepath.Join(dir, "shop-ca.pem")
	writeFile(t, ca, string(shop.Certificate()))
	key := func(kind string, id int64) string { return fmt.Sprintf("woocommerce:shop.example.com:%s:%d", kind, id) }
	want := map[string]string{} // key -> kind and net_sales
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 150 {
		created := now.Add(-time.Duration(60+rng.IntN(4*24*60)) * time.Minute)
		qty := 1 + i%3
		id := shop.AddOrder(woocommercetest.Order{Status: "completed", Created: created, Paid: created,
			Lines: []woocommercetest.Line{{Name: "Mug", SKU: "MUG-1", Qty: qty, Price: "10.00", Tax: fmt.Sprintf("%d.30", qty)}}})
		want[key("order", id)] = fmt.Sprintf("sale %d.00", qty*10)
		switch {
		case i%10 == 3 && qty > 1:
			r := shop.AddRefund(id, woocommercetest.Refund{At: created.Add(30 * time.Minute), Lines: []woocommercetest.RefundLine{{Line: 0, Qty: 1}}})
			want[key("refund", r)] = "return -10.00"
		case i%10 == 7:
			shop.SetStatus(id, "cancelled", created.Add(20*time.Minute))
			want[key("order", id)] = "void 0.00"
		}
	}

	s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, ", retry_min: 50ms, retry_max: 300ms", fmt.Sprintf(
		`woocommerce: {url: "https://shop.example.com", base_url: %q, ca_file: %q, consumer_key: ck_e2e, consumer_secret: cs_e2e, location: "0421", page_size: 5, backfill_days: 5, schedule: "0 0 1 1 *", spread: 1s}
`, shop.URL, ca))

	// The mapping is in the section: MAPPED TO and the note come from it.
	out, code := cli(t, agentBin, "locations", "woocommerce", "--config", s.config)
	wantLocs := "ID                NAME                      TIME ZONE  ACTIVE  MAPPED TO  NOTE\n" +
		"shop.example.com  https://shop.example.com  -          true    0421       all web orders are counted at TMAS location 0421\n"
	if code != 0 || out != wantLocs {
		t.Errorf("locations woocommerce: exit %d, got\n%s\nwant\n%s", code, out, wantLocs)
	}

	for i := range 3 {
		p := startAgent(t, agentBin, s)
		time.Sleep(time.Duration(800+rng.IntN(2000)) * time.Millisecond)
		p.kill()
		t.Logf("kill %d: headquarters holds %d records", i, len(h.records(t)))
	}
	p := startAgent(t, agentBin, s)
	defer func() {
		if t.Failed() {
			t.Logf("agent status: %v\nagent output (tail): %s", s.status(), tail(p.out.String(), 3000))
		}
	}()
	waitFor(t, "the woocommerce source to finish and the queue to drain", 60*time.Second, func() bool {
		st := s.status()
		srcs, _ := st["sources"].([]any)
		for _, x := range srcs {
			if m, _ := x.(map[string]any); m["state"] != "ok" {
				return false
			}
		}
		buf, _ := st["buffer"].(map[string]any)
		return len(srcs) == 1 && buf["queued"] == 0.0
	})
	p.stop(t)

	got := map[string]string{}
	for k, r := range h.records(t) {
		f := fields(t, r.Line)
		got[k] = fmt.Sprintf("%s %s", f["kind"], f["net_sales"])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("web orders at headquarters (-want +got):\n%s", diff)
	}
	if st := h.stats(t); st.RedeliveredLines != 0 {
		t.Errorf("got %d lines sent twice under different batches", st.RedeliveredLines)
	}

	// The agent's own report of each day equals, hour by hour and to the
	// cent, what the shop's own data gives (the double's ground truth).
	toronto := mustZone("America/Toronto")
	days := 0
	for d := now.In(toronto).AddDate(0, 0, -5); !d.After(now); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		truth := map[string]string{}
		for at, b := range shop.Truth(toronto, d, []string{"completed", "processing"}) {
			truth[at.Format("2006-01-02T15:04-07:00")] = fmt.Sprintf("%s %d %d", b.Net, b.Transactions, b.Items)
		}
		out, code := cli(t, agentBin, "report", "--location", "0421", "--date", day, "--json", "--config", s.config)
		var hours []struct {
			Hour         string `json:"hour"`
			NetSales     string `json:"net_sales"`
			Transactions int64  `json:"transactions"`
			Items        int64  `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &hours); code != 0 || err != nil {
			t.Fatalf("report %s: exit %d, %v:\n%s", day, code, err, out)
		}
		report := map[string]string{}
		for _, h := range hours {
			if h.NetSales != "0.00" || h.Transactions != 0 || h.Items != 0 { // an hour whose only sale was voided
				report[h.Hour] = fmt.Sprintf("%s %d %d", h.NetSales, h.Transactions, h.Items)
			}
		}
		if diff := cmp.Diff(truth, report); diff != "" {
			t.Errorf("report --date %s (-truth +report):\n%s", day, diff)
		}
		if len(truth) > 0 {
			days++
		}
	}
	if days < 4 {
		t.Errorf("got %d days with web orders, want at least 4", days)
	}

	// doctor speaks of the shop; a key without Read permission is explained.
	out, _ = cli(t, agentBin, "doctor", "--config", s.config)
	if !strings.Contains(out, "woocommerce orders") || !strings.Contains(out, "the key reads orders (150 in the shop)") {
		t.Errorf("doctor:\n%s", out)
	}
}

// TestWooCommerceBackfillProgress: `backfill woocommerce` while the agent
// is stopped reads the window page by page, and its progress line says
// how far it has read (the importer's Page.Reached): at the end, the
// window's end.
func TestWooCommerceBackfillProgress(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Minute)
	shop := woocommercetest.NewServer(t, woocommercetest.Options{})
	shop.AddKey("ck_cli", "cs_cli", woocommercetest.Read)
	ca := filepath.Join(dir, "shop-ca.pem")
	writeFile(t, ca, string(shop.Certificate()))
	for i := range 12 {
		created := now.Add(-time.Duration(2+i*7) * time.Hour)
		shop.AddOrder(woocommercetest.Order{Status: "completed", Created: created, Paid: created,
			Lines: []woocommercetest.Line{{Name: "Mug", SKU: "MUG-1", Qty: 1, Price: "10.00"}}})
	}
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(`agent: {id: cli-store, data_dir: data, timezone: America/Toronto}
upstream: {url: "http://127.0.0.1:1", token: t}
locations: {"0421": {timezone: America/Toronto}}
woocommerce: {url: "https://shop.example.com", base_url: %q, ca_file: %q, consumer_key: ck_cli, consumer_secret: cs_cli, location: "0421", page_size: 5}
status: {listen: %q}
`, shop.URL, ca, freeAddr(t)))

	toronto := mustZone("America/Toronto")
	since, until := now.AddDate(0, 0, -6).In(toronto), now.Add(-time.Hour).In(toronto)
	out, code := runCLI(t, "backfill", "woocommerce", "--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--config", path)
	// Each page starts a second before the last order read: pages overlap
	// by one order, so 12 orders are 14 records read, 12 new.
	want := fmt.Sprintf("14 records read (12 new) in 4 pages, read up to %s", until.Format("2006-01-02 15:04"))
	if code != 0 || !strings.Contains(out, "backfill done: ") || !strings.Contains(out, want) {
		t.Fatalf("backfill: exit %d, want %q in\n%s", code, want, out)
	}
}
