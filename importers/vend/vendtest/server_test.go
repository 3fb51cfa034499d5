package vendtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

func getJSON(t *testing.T, s *vendtest.Server, path, token string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header
}

func ids(body map[string]any) []string {
	var out []string
	for _, d := range body["data"].([]any) {
		m := d.(map[string]any)
		out = append(out, m["id"].(string)+"@"+m["status"].(string))
	}
	return out
}

func TestVersionFeed(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	o := s.AddOutlet(vendtest.Outlet{Name: "Main", TimeZone: "UTC"})
	for _, id := range []string{"a", "b", "c"} {
		s.AddSale(vendtest.Sale{ID: id, OutletID: o, Status: "CLOSED", Lines: []vendtest.Line{{ProductID: "p", Qty: "1", UnitPrice: "1.5", Discount: "0.25", TaxRate: "0.15"}}})
	}
	s.VoidSale("a") // a moves to the end of the feed with a new version
	s.DeleteSale("b")

	_, body, _ := getJSON(t, s, "/api/2.0/sales?after=0", "pt")
	if diff := cmp.Diff([]string{"c@CLOSED", "a@VOIDED"}, ids(body)); diff != "" {
		t.Errorf("without deleted=true (-want +got):\n%s", diff)
	}
	_, body, _ = getJSON(t, s, "/api/2.0/sales?after=0&deleted=true&page_size=2", "pt")
	if diff := cmp.Diff([]string{"c@CLOSED", "a@VOIDED"}, ids(body)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	last := int64(body["version"].(map[string]any)["max"].(float64))
	_, body, _ = getJSON(t, s, "/api/2.0/sales?deleted=true&after="+jsonInt(last), "pt")
	if diff := cmp.Diff([]string{"b@CLOSED"}, ids(body)); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	d := body["data"].([]any)[0].(map[string]any)
	if d["deleted_at"] == nil || d["total_price"].(float64) != 1.25 || d["version"].(float64) <= float64(last) {
		t.Errorf("got %v", d)
	}
	_, body, _ = getJSON(t, s, "/api/2.0/sales?deleted=true&after="+jsonInt(int64(d["version"].(float64))), "pt")
	if len(body["data"].([]any)) != 0 {
		t.Errorf("got %v after the last version, want no data", body)
	}
	if status, _, _ := getJSON(t, s, "/api/2.0/sales", "nope"); status != http.StatusUnauthorized {
		t.Errorf("got %d with a wrong token, want 401", status)
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestBudget(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	s.SetBudget(1)
	_, _, h := getJSON(t, s, "/api/2.0/outlets", "pt")
	if h.Get("X-RateLimit-Limit") != "1" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("got headers %v", h)
	}
	status, body, h := getJSON(t, s, "/api/2.0/outlets", "pt")
	want := s.Now().Add(vendtest.RateWindow).UTC().Format(http.TimeFormat)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != want || body["message"] != "Rate limiting enforced" {
		t.Errorf("got %d %v %q, want 429 with Retry-After %s", status, body, h.Get("Retry-After"), want)
	}
	s.Advance(vendtest.RateWindow)
	if status, _, _ := getJSON(t, s, "/api/2.0/outlets", "pt"); status != http.StatusOK {
		t.Errorf("got %d in the next window, want 200", status)
	}
}

func TestTokenEndpoint(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithClient("cid", "sec"))
	post := func(form url.Values, query string) (int, string) {
		resp, err := http.Post(s.URL+"/api/1.0/token"+query, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	g := s.IssueGrant()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.RefreshToken}, "client_id": {"cid"}, "client_secret": {"sec"}}
	if status, body := post(form, "?grant_type=refresh_token"); status != 400 || !strings.Contains(body, "invalid_request") {
		t.Errorf("query parameters: got %d %s", status, body)
	}
	if status, _ := post(form, ""); status != 200 {
		t.Errorf("refresh: got %d, want 200", status)
	}
	if status, body := post(form, ""); status != 400 || body != `{"error":"invalid_grant","error_description":"the refresh token is invalid or was revoked"}` {
		t.Errorf("second use of a refresh token: got %d %s", status, body)
	}
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"cid"}, "client_secret": {"wrong"}}
	if status, body := post(bad, ""); status != 401 || !strings.Contains(body, "invalid_client") {
		t.Errorf("wrong secret: got %d %s", status, body)
	}
	s.SetAccessTTL(time.Minute)
	g = s.IssueGrant()
	s.Advance(2 * time.Minute)
	if status, _, _ := getJSON(t, s, "/api/2.0/outlets", g.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("expired access token: got %d, want 401", status)
	}
}
