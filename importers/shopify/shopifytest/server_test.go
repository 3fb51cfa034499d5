package shopifytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type answer struct {
	status  int
	version string
	body    map[string]any
	raw     string
}

func post(t *testing.T, s *Server, token, query string, vars map[string]any) answer {
	t.Helper()
	return postVersion(t, s, "2026-10", token, query, vars)
}

func postVersion(t *testing.T, s *Server, version, token, query string, vars map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/api/"+version+"/graphql.json", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, version: resp.Header.Get("X-Shopify-Api-Version"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) cost(t *testing.T) (requested, actual, available float64) {
	t.Helper()
	ext, _ := a.body["extensions"].(map[string]any)
	c, _ := ext["cost"].(map[string]any)
	if c == nil {
		t.Fatalf("no cost in %s", a.raw)
	}
	ts := c["throttleStatus"].(map[string]any)
	requested = c["requestedQueryCost"].(float64)
	if v, ok := c["actualQueryCost"].(float64); ok {
		actual = v
	}
	return requested, actual, ts["currentlyAvailable"].(float64)
}

func newTestServer(t *testing.T, opts Options) (*Server, *VirtualClock) {
	clk := NewVirtualClock(t0)
	opts.Clock = clk
	s := NewServer(t, opts)
	s.AddToken("shpat_test")
	return s, clk
}

func TestParseErrorsAndUnknownFields(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, tc := range []struct{ name, query, want string }{
		{"syntax", `{ shop { name }`, `{"errors":[{"message":"Parse error on \"end of file\"","locations":[{"line":1,"column":16}],"extensions":{"code":"parseError"}}]}`},
		{"unknown field", `{ shop { name planName } }`, `{"errors":[{"message":"Field 'planName' doesn't exist on type 'Shop'","locations":[{"line":1,"column":15}],"path":["shop"],"extensions":{"code":"undefinedField","fieldName":"planName","typeName":"Shop"}}]}`},
		{"no page size", `{ orders { nodes { id } } }`, `{"errors":[{"message":"you must provide one of first or last","locations":[{"line":1,"column":3}],"path":["orders"],"extensions":{"code":"missingRequiredArguments"}}]}`},
		{"scalar with selection", `{ shop { name { x } } }`, `{"errors":[{"message":"Selections can't be made on scalars (field 'name' returns String but has selections)","locations":[{"line":1,"column":10}],"path":["shop"],"extensions":{"code":"selectionMismatch"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, s, "shpat_test", tc.query, nil)
			if a.status != 200 || a.raw != tc.want {
				t.Errorf("got %d %s\nwant 200 %s", a.status, a.raw, tc.want)
			}
		})
	}
}

func TestAnswersFollowTheSelection(t *testing.T) {
	s, _ := newTestServer(t, Options{Shop: Shop{Name: "acme", DisplayName: "Acme", IANATimezone: "Europe/Paris", Currency: "EUR", TaxesIncluded: true}})
	a := post(t, s, "shpat_test", `query Q($n: Int = 5) { tz: shop { ianaTimezone ...Money } app: currentAppInstallation { accessScopes { handle } } locations(first: $n) { nodes { id } } }
fragment Money on Shop { currencyCode taxesIncluded }`, nil)
	want := `{"data":{"tz":{"ianaTimezone":"Europe/Paris","currencyCode":"EUR","taxesIncluded":true},"app":{"accessScopes":[{"handle":"read_locations"},{"handle":"read_orders"}]},"locations":{"nodes":[]}},"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":5,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1995,"restoreRate":100}}}}`
	if a.raw != want {
		t.Errorf("got  %s\nwant %s", a.raw, want)
	}
}

func TestQueryCost(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	loc := s.AddLocation("Queen St", true)
	for k := range 3 {
		s.AddOrder(Order{Location: loc, ProcessedAt: t0.Add(-time.Duration(k+1) * time.Hour), Lines: []Line{{Qty: 1, Price: "1.00"}, {Qty: 1, Price: "2.00"}}})
	}
	for _, tc := range []struct {
		query           string
		requested, real float64
	}{
		// 2 + 10 × (1 + 0): ten orders of scalars; three are returned.
		{`{ orders(first: 10) { nodes { id name } } }`, 12, 5},
		// 2 + 10 × (1 + [2 + 5 × (1 + 0)]) = 82, the documented example's shape.
		{`{ orders(first: 10) { edges { node { id lineItems(first: 5) { edges { node { title } } } } } } }`, 82, 2 + 3 + 3*(2+2)},
		// An interface costs its most expensive fragment.
		{`{ orders(first: 1) { nodes { agreements(first: 1) { nodes { sales(first: 1) { nodes { totalAmount { shopMoney { amount } } ... on ProductSale { lineItem { variant { barcode } } } } } } } } } }`,
			2 + 1*(1+2+1*(1+2+1*(1+2+2))), 2 + 1 + 2 + 1 + 2 + 1 + 2 + 2},
	} {
		a := post(t, s, "shpat_test", tc.query, nil)
		req, act, _ := a.cost(t)
		if req != tc.requested || act != tc.real {
			t.Errorf("%s: got requested %v actual %v, want %v and %v", tc.query, req, act, tc.requested, tc.real)
		}
	}
	s2, _ := newTestServer(t, Options{MaxCost: 50})
	a := post(t, s2, "shpat_test", `{ orders(first: 100) { nodes { id } } }`, nil)
	if !strings.Contains(a.raw, `"code":"MAX_COST_EXCEEDED","cost":102,"maxCost":50`) {
		t.Errorf("got %s, want MAX_COST_EXCEEDED", a.raw)
	}
}

func TestLeakyBucket(t *testing.T) {
	for _, status429 := range []bool{false, true} {
		s, clk := newTestServer(t, Options{BucketSize: 100, RestoreRate: 10, Throttle429: status429})
		q := `{ orders(first: 50) { nodes { id } } }` // requests 52, costs 2 with no orders
		a := post(t, s, "shpat_test", q, nil)
		if _, act, avail := a.cost(t); act != 2 || avail != 98 {
			t.Errorf("got actual %v available %v, want 2 and 98 (52 reserved, 50 refunded)", act, avail)
		}
		s.DrainBucket()
		clk.Advance(2 * time.Second)
		a = post(t, s, "shpat_test", q, nil)
		wantStatus := 200
		if status429 {
			wantStatus = 429
		}
		want := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":52,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":100,"currentlyAvailable":20,"restoreRate":10}}}}`
		if a.status != wantStatus || a.raw != want {
			t.Errorf("got %d %s\nwant %d %s", a.status, a.raw, wantStatus, want)
		}
		clk.Advance(3200 * time.Millisecond) // (52 - 20) / 10 s
		if a = post(t, s, "shpat_test", q, nil); a.status != 200 || strings.Contains(a.raw, "THROTTLED") {
			t.Errorf("got %d %s after the wait", a.status, a.raw)
		}
	}
}

func orderNames(t *testing.T, a answer) []string {
	t.Helper()
	data, _ := a.body["data"].(map[string]any)
	orders, _ := data["orders"].(map[string]any)
	if orders == nil {
		t.Fatalf("no orders in %s", a.raw)
	}
	var out []string
	for _, n := range orders["nodes"].([]any) {
		out = append(out, n.(map[string]any)["name"].(string))
	}
	return out
}

func TestOrdersSearchSortAndLag(t *testing.T) {
	s, clk := newTestServer(t, Options{SearchLag: 10 * time.Second})
	loc := s.AddLocation("Queen St", true)
	var ids []string
	for k := range 5 {
		ids = append(ids, s.AddOrder(Order{Name: string(rune('A' + k)), Location: loc, ProcessedAt: t0.Add(-time.Duration(5-k) * time.Hour)}))
	}
	q := `query($q: String!, $after: String) { orders(first: 2, after: $after, sortKey: UPDATED_AT, query: $q) { pageInfo { hasNextPage endCursor } nodes { name } } }`
	window := "updated_at:>='2026-11-23T07:30:00Z' AND updated_at:<'2026-11-23T11:30:00Z'"
	a := post(t, s, "shpat_test", q, map[string]any{"q": window})
	if d := cmp.Diff([]string{"B", "C"}, orderNames(t, a)); d != "" {
		t.Errorf("first page (-want +got):\n%s", d)
	}
	after := a.body["data"].(map[string]any)["orders"].(map[string]any)["pageInfo"].(map[string]any)["endCursor"].(string)
	// B is refunded now: it moves to the end of the sort, out of the window,
	// once the index sees it.
	s.Refund(ids[1], Refund{At: t0, Lines: nil})
	s.Touch(ids[3], t0)
	if got := orderNames(t, post(t, s, "shpat_test", q, map[string]any{"q": window, "after": after})); !cmp.Equal(got, []string{"D", "E"}) {
		t.Errorf("within the lag, got %v, want [D E] (the index still has D at its old time)", got)
	}
	clk.Advance(11 * time.Second)
	if got := orderNames(t, post(t, s, "shpat_test", q, map[string]any{"q": window, "after": after})); !cmp.Equal(got, []string{"E"}) {
		t.Errorf("after the lag, got %v, want [E] (D moved past the window)", got)
	}
	// Dates without an offset are the shop's local time (Toronto, UTC-5).
	local := post(t, s, "shpat_test", `{ orders(first: 10, query: "created_at:<'2026-11-23T04:00:00'") { nodes { name } } }`, nil)
	if got := orderNames(t, local); !cmp.Equal(got, []string{"A", "B"}) {
		t.Errorf("got %v, want [A B] (before 09:00 UTC)", got)
	}
	// An unquoted timestamp is not understood, and Shopify says so.
	bad := post(t, s, "shpat_test", `{ orders(first: 10, query: "updated_at:>=2026-11-23T10:00:00Z") { nodes { name } } }`, nil)
	if !strings.Contains(bad.raw, `"warnings":[{"field":"updated_at","message":"Values containing a colon must be quoted."}]`) || len(orderNames(t, bad)) != 5 {
		t.Errorf("got %s, want every order and a warning", bad.raw)
	}
}

func TestSixtyDaysAndDeletion(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	loc := s.AddLocation("Queen St", true)
	s.AddOrder(Order{Name: "old", Location: loc, ProcessedAt: t0.AddDate(0, 0, -61)})
	gone := s.AddOrder(Order{Name: "gone", Location: loc, ProcessedAt: t0.AddDate(0, 0, -2)})
	s.AddOrder(Order{Name: "new", Location: loc, ProcessedAt: t0.AddDate(0, 0, -1)})
	s.DeleteOrder(gone)
	q := `{ orders(first: 10) { nodes { name } } }`
	if got := orderNames(t, post(t, s, "shpat_test", q, nil)); !cmp.Equal(got, []string{"new"}) {
		t.Errorf("got %v, want [new]", got)
	}
	s.SetScopes("read_orders", "read_all_orders")
	if got := orderNames(t, post(t, s, "shpat_test", q, nil)); !cmp.Equal(got, []string{"old", "new"}) {
		t.Errorf("got %v, want [old new] with read_all_orders", got)
	}
	a := post(t, s, "shpat_test", `{ locations(first: 5) { nodes { id } } }`, nil)
	want := `{"data":{"locations":null},"errors":[{"message":"Access denied for locations field. Required access: ` + "`read_locations`" + ` access scope.","locations":[{"line":1,"column":3}],"path":["locations"],"extensions":{"code":"ACCESS_DENIED","documentation":"https://shopify.dev/api/usage/access-scopes","requiredAccess":"` + "`read_locations`" + ` access scope."}}],"extensions":{"cost":{"requestedQueryCost":7,"actualQueryCost":0,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1993,"restoreRate":100}}}}`
	if a.raw != want {
		t.Errorf("got  %s\nwant %s", a.raw, want)
	}
}

func TestTokensAndVersions(t *testing.T) {
	s, clk := newTestServer(t, Options{TokenTTL: time.Hour})
	q := `{ shop { name } }`
	if a := post(t, s, "wrong", q, nil); a.status != 401 || a.raw != `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` {
		t.Errorf("got %d %s", a.status, a.raw)
	}
	s.AddClient("cid", "secret")
	resp, err := s.Client().PostForm(s.URL+"/admin/oauth/access_token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if !strings.HasPrefix(tok.AccessToken, "shpat_") || tok.Scope != "read_locations,read_orders" || tok.ExpiresIn != 3600 {
		t.Errorf("got %+v", tok)
	}
	if a := post(t, s, tok.AccessToken, q, nil); a.status != 200 {
		t.Errorf("got %d with a fresh token", a.status)
	}
	clk.Advance(time.Hour)
	if a := post(t, s, tok.AccessToken, q, nil); a.status != 401 {
		t.Errorf("got %d with an expired token, want 401", a.status)
	}
	if a := postVersion(t, s, "2024-07", "shpat_test", q, nil); a.status != 200 || a.version != "2025-10" {
		t.Errorf("got %d version %q, want 200 from the oldest supported version 2025-10", a.status, a.version)
	}
	if a := postVersion(t, s, "2031-01", "shpat_test", q, nil); a.status != 404 {
		t.Errorf("got %d for a version that does not exist, want 404", a.status)
	}
	s.Uninstall()
	if a := post(t, s, "shpat_test", q, nil); a.status != 401 {
		t.Errorf("got %d after uninstall, want 401", a.status)
	}
}

func TestBulkJSONL(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      Options
		wantLines []string
	}{
		{name: "grouped", wantLines: []string{
			`{"id":"gid://shopify/Order/5010000000001","name":"#1001"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000002","reason":"ORDER","__parentId":"gid://shopify/Order/5010000000001"}`,
			`{"lineType":"PRODUCT","quantity":2,"__parentId":"gid://shopify/SalesAgreement/5360000000002"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000005","reason":"REFUND","__parentId":"gid://shopify/Order/5010000000001"}`,
			`{"lineType":"PRODUCT","quantity":-1,"__parentId":"gid://shopify/SalesAgreement/5360000000005"}`,
			`{"id":"gid://shopify/Order/5010000000002","name":"#1002"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000008","reason":"ORDER","__parentId":"gid://shopify/Order/5010000000002"}`,
			`{"lineType":"PRODUCT","quantity":1,"__parentId":"gid://shopify/SalesAgreement/5360000000008"}`,
		}},
		{name: "ungrouped", opts: Options{UngroupedBulk: true}, wantLines: []string{
			`{"id":"gid://shopify/Order/5010000000001","name":"#1001"}`,
			`{"id":"gid://shopify/Order/5010000000002","name":"#1002"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000002","reason":"ORDER","__parentId":"gid://shopify/Order/5010000000001"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000005","reason":"REFUND","__parentId":"gid://shopify/Order/5010000000001"}`,
			`{"id":"gid://shopify/SalesAgreement/5360000000008","reason":"ORDER","__parentId":"gid://shopify/Order/5010000000002"}`,
			`{"lineType":"PRODUCT","quantity":2,"__parentId":"gid://shopify/SalesAgreement/5360000000002"}`,
			`{"lineType":"PRODUCT","quantity":-1,"__parentId":"gid://shopify/SalesAgreement/5360000000005"}`,
			`{"lineType":"PRODUCT","quantity":1,"__parentId":"gid://shopify/SalesAgreement/5360000000008"}`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newTestServer(t, Options{BulkDuration: time.Minute, UngroupedBulk: tc.opts.UngroupedBulk})
			loc := s.AddLocation("Queen St", true)
			o := s.AddOrder(Order{Location: loc, ProcessedAt: t0.Add(-3 * time.Hour), Lines: []Line{{Qty: 2, Price: "3.00"}}})
			s.Refund(o, Refund{At: t0.Add(-2 * time.Hour), Lines: []ReturnLine{{Line: 0, Qty: 1}}})
			s.AddOrder(Order{Location: loc, ProcessedAt: t0.Add(-time.Hour), Lines: []Line{{Qty: 1, Price: "4.00"}}})
			run := `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id status } userErrors { code message } } }`
			inner := `{ orders(sortKey: UPDATED_AT) { edges { node { id name agreements { edges { node { id reason sales { edges { node { lineType quantity } } } } } } } } } }`
			a := post(t, s, "shpat_test", run, map[string]any{"q": inner})
			if !strings.Contains(a.raw, `"bulkOperation":{"id":"gid://shopify/BulkOperation/7200001","status":"CREATED"},"userErrors":[]`) {
				t.Fatalf("got %s", a.raw)
			}
			checkConcurrentBulk(t, s, run, inner)
			poll := `{ node(id: "gid://shopify/BulkOperation/7200001") { ... on BulkOperation { status objectCount url } } }`
			if a := post(t, s, "shpat_test", poll, nil); !strings.Contains(a.raw, `"status":"CREATED","objectCount":"0","url":null`) {
				t.Errorf("got %s while running", a.raw)
			}
			clk.Advance(time.Minute)
			a = post(t, s, "shpat_test", poll, nil)
			node := a.body["data"].(map[string]any)["node"].(map[string]any)
			if node["status"] != "COMPLETED" || node["objectCount"] != "8" {
				t.Fatalf("got %s", a.raw)
			}
			resp, err := s.Client().Get(node["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := strings.Split(strings.TrimSpace(string(body)), "\n")
			if d := cmp.Diff(tc.wantLines, got); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			// Byte ranges, for resuming a download.
			req, _ := http.NewRequest(http.MethodGet, node["url"].(string), nil)
			req.Header.Set("Range", "bytes="+strconv.Itoa(len(got[0])+1)+"-")
			resp, err = s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(string(rest), tc.wantLines[1]) {
				t.Errorf("got %d %q, want 206 from the second line", resp.StatusCode, rest)
			}
		})
	}
}

// checkConcurrentBulk: before 2026-01 one export at a time, since up to
// five; bulkOperations lists the running ones, bulkOperation(id:) reads one.
func checkConcurrentBulk(t *testing.T, s *Server, run, inner string) {
	t.Helper()
	busy := postVersion(t, s, "2025-10", "shpat_test", run, map[string]any{"q": inner})
	if !strings.Contains(busy.raw, `"code":"OPERATION_IN_PROGRESS"`) {
		t.Errorf("got %s, want OPERATION_IN_PROGRESS", busy.raw)
	}
	second := post(t, s, "shpat_test", run, map[string]any{"q": inner})
	if !strings.Contains(second.raw, `"bulkOperation":{"id":"gid://shopify/BulkOperation/7200002","status":"CREATED"},"userErrors":[]`) {
		t.Errorf("got %s, want a second export running beside the first", second.raw)
	}
	for i := 3; i <= 5; i++ {
		post(t, s, "shpat_test", run, map[string]any{"q": inner})
	}
	if sixth := post(t, s, "shpat_test", run, map[string]any{"q": inner}); !strings.Contains(sixth.raw, `"code":"OPERATION_IN_PROGRESS"`) {
		t.Errorf("got %s for a sixth export, want OPERATION_IN_PROGRESS", sixth.raw)
	}
	list := `{ bulkOperations(first: 2, query: "status:created OR status:running", sortKey: CREATED_AT, reverse: true) { nodes { id status } pageInfo { hasNextPage } } }`
	if a := post(t, s, "shpat_test", list, nil); !strings.Contains(a.raw, `{"bulkOperations":{"nodes":[{"id":"gid://shopify/BulkOperation/7200005","status":"CREATED"},{"id":"gid://shopify/BulkOperation/7200004","status":"CREATED"}],"pageInfo":{"hasNextPage":true}}}`) {
		t.Errorf("got %s, want the two newest running exports", a.raw)
	}
	byID := `{ bulkOperation(id: "gid://shopify/BulkOperation/7200002") { id status } }`
	if a := post(t, s, "shpat_test", byID, nil); !strings.Contains(a.raw, `{"bulkOperation":{"id":"gid://shopify/BulkOperation/7200002","status":"CREATED"}}`) {
		t.Errorf("got %s", a.raw)
	}
}
