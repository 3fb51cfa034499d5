package woocommercetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func get(t *testing.T, s *Server, path string) (*http.Response, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.SetBasicAuth("ck_k", "cs_s")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []map[string]any
	_ = json.Unmarshal(b, &out)
	return resp, out
}

func ids(list []map[string]any) []string {
	var out []string
	for _, o := range list {
		out = append(out, fmt.Sprint(o["id"]))
	}
	return out
}

func TestDoubleBehavesLikeWooCommerce(t *testing.T) {
	s := NewServer(t, Options{SiteZone: time.FixedZone("CET", 3600)})
	s.AddKey("ck_k", "cs_s", Read)
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var all []int64
	for k := range 5 {
		all = append(all, s.AddOrder(Order{Created: base.Add(time.Duration(k) * time.Hour), Lines: []Line{{Name: "Mug", Qty: 2, Price: "10.00", Tax: "2.60"}}}))
	}
	s.Trash(all[4], base.Add(6*time.Hour))
	r := s.AddRefund(all[0], Refund{At: base.Add(7 * time.Hour), Lines: []RefundLine{{Line: 0, Qty: 1}}})

	// Pagination headers; trash is not in "any"; ascending by creation.
	resp, list := get(t, s, "/wp-json/wc/v3/orders?per_page=2&page=1&order=asc&orderby=date")
	if got := []string{resp.Header.Get("X-WP-Total"), resp.Header.Get("X-WP-TotalPages"), fmt.Sprint(ids(list))}; !cmp.Equal(got, []string{"4", "2", "[101 102]"}) {
		t.Errorf("got %v", got)
	}
	if l := resp.Header.Get("Link"); l == "" || !strings.Contains(l, `rel="next"`) {
		t.Errorf("no next link: %q", l)
	}
	// modified_after is strict, in GMT with dates_are_gmt, else site time.
	_, list = get(t, s, "/wp-json/wc/v3/orders?order=asc&dates_are_gmt=true&modified_after=2026-11-20T12:00:00")
	if got := fmt.Sprint(ids(list)); got != "[101 104]" { // 101 by its refund, 104 created at 13:00
		t.Errorf("modified_after GMT: got %s", got)
	}
	_, list = get(t, s, "/wp-json/wc/v3/orders?order=asc&modified_after=2026-11-20T13:00:00") // 12:00 GMT
	if got := fmt.Sprint(ids(list)); got != "[101 104]" {
		t.Errorf("modified_after site time: got %s", got)
	}
	_, list = get(t, s, "/wp-json/wc/v3/orders?status=trash")
	if got := fmt.Sprint(ids(list)); got != "[105]" {
		t.Errorf("trash: got %s", got)
	}
	_, list = get(t, s, "/wp-json/wc/v3/orders?order=asc&per_page=1")
	o := list[0]
	if got := []any{o["date_created"], o["date_created_gmt"], o["total"], o["refunds"].([]any)[0].(map[string]any)["total"]}; !cmp.Equal(got, []any{"2026-11-20T11:00:00", "2026-11-20T10:00:00", "22.60", "-11.30"}) {
		t.Errorf("order fields: got %v", got)
	}
	_, rs := get(t, s, fmt.Sprintf("/wp-json/wc/v3/orders/%d/refunds", all[0]))
	line := rs[0]["line_items"].([]any)[0].(map[string]any)
	if got := []any{rs[0]["id"], rs[0]["amount"], line["quantity"], line["total"], line["total_tax"]}; !cmp.Equal(got, []any{float64(r), "11.30", float64(-1), "-10.00", "-1.30"}) {
		t.Errorf("refund: got %v", got)
	}
	// Refusals as WooCommerce words them.
	resp, _ = get(t, s, "/wp-json/wc/v3/orders?per_page=101")
	if resp.StatusCode != 400 {
		t.Errorf("per_page=101: got %d", resp.StatusCode)
	}
	resp, _ = get(t, s, "/wp-json/wc/v3/orders?orderby=modified")
	if resp.StatusCode != 400 {
		t.Errorf("orderby=modified: got %d", resp.StatusCode)
	}
}
