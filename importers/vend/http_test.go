package vend_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// The shape the agent calls (its interface is declared there).
var _ interface {
	Name() string
	Fetch(ctx context.Context, cursor []byte) (record.Page, error)
	BackfillCursor(since, until time.Time) ([]byte, error)
	Locations(ctx context.Context) ([]record.Location, error)
	Check(ctx context.Context) []record.Finding
} = (*vend.Importer)(nil)

// tiny is one bound outlet, one closed sale, no staff.
func tiny(t *testing.T) (*vendtest.Server, *vend.Importer) {
	t.Helper()
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	o := s.AddOutlet(vendtest.Outlet{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main", TimeZone: "Pacific/Auckland", Currency: "NZD"})
	s.AddSale(vendtest.Sale{ID: "sale-1", OutletID: o, Status: "CLOSED", Receipt: "7", Lines: []vendtest.Line{{ProductID: "p", Qty: "1", UnitPrice: "9.99"}}})
	f := false
	imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: "pt", BaseURL: s.URL, Staff: &f},
		[]record.Binding{{LocationID: "0421", SourceID: "3a64f8f4", Active: true}}, vend.Options{Now: s.Now, Sleep: s.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return s, imp
}

func keys(pages []fetched) []string {
	var out []string
	for _, p := range pages {
		for _, r := range p.records {
			out = append(out, r.Key+" "+r.NetSales.String())
		}
	}
	return out
}

func TestRateLimitHonoured(t *testing.T) {
	s, imp := tiny(t)
	s.SetBudget(2)
	start := s.Now()
	pages := runAll(t, imp, nil)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-1 9.99"}, keys(pages)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	log := s.Requests()
	want := []string{
		"GET /api/2.0/outlets?after=0&deleted=true&page_size=200",
		"GET /api/2.0/outlets?after=1005&deleted=true&page_size=200", // the outlet's version
		"sleep 30s", // pacing: no request left in the window
		"GET /api/2.0/sales?after=0&deleted=true&page_size=1",
		"sleep 4m30s", // 429: Retry-After is the window's end, as an HTTP date
		"GET /api/2.0/sales?after=0&deleted=true&page_size=1",
	}
	if diff := cmp.Diff(want, log[:len(want)]); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got := s.Now().Sub(start); got < 5*time.Minute {
		t.Errorf("got %v of waiting, want at least the 5-minute window", got)
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	s, imp := tiny(t)
	s.FailNext(2, "/api/2.0/outlets", 503)
	s.FailNext(1, "/api/2.0/outlets", 502)
	pages := runAll(t, imp, nil)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-1 9.99"}, keys(pages)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	log := s.Requests()
	want := []string{
		"GET /api/2.0/outlets?after=0&deleted=true&page_size=200", "sleep 1s",
		"GET /api/2.0/outlets?after=0&deleted=true&page_size=200", "sleep 2s",
		"GET /api/2.0/outlets?after=0&deleted=true&page_size=200", "sleep 4s",
		"GET /api/2.0/outlets?after=0&deleted=true&page_size=200",
	}
	if diff := cmp.Diff(want, log[:len(want)]); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// Dropped connections (Go's transport may retry a GET once by itself).
	s3, imp3 := tiny(t)
	s3.FailNext(3, "/api/2.0/sales", 0)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-1 9.99"}, keys(runAll(t, imp3, nil))); diff != "" {
		t.Errorf("records after dropped connections (-want +got):\n%s", diff)
	}

	s2, imp2 := tiny(t)
	s2.FailNext(10, "/api/2.0/outlets", 500)
	_, err := imp2.Fetch(t.Context(), nil)
	if want := "vend: GET /api/2.0/outlets: Lightspeed kept failing after 6 attempts (last: 500 Internal Server Error); the next run tries again"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestErrorsExplained(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	s.AddOutlet(vendtest.Outlet{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main", TimeZone: "Pacific/Auckland"})
	s.AddOutlet(vendtest.Outlet{ID: "c2e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Twin", TimeZone: "Pacific/Auckland"})
	newImp := func(token string, b []record.Binding) *vend.Importer {
		imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: token, BaseURL: s.URL, DefaultLocation: "0999"}, b, vend.Options{Now: s.Now, Sleep: s.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		return imp
	}
	good := []record.Binding{{LocationID: "0421", SourceID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Active: true}}
	_, err := newImp("wrong", good).Fetch(t.Context(), nil)
	if want := "vend: the Lightspeed token was rejected (401): the personal token may have been deleted or expired; create a new one in Lightspeed (Setup > Personal tokens) and update vend.token"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	bad := []record.Binding{{LocationID: "0421", SourceID: "3a64f8f4", Active: true}, {LocationID: "0500", SourceID: "deadbeef", Active: true}}
	_, err = newImp("pt", bad).Fetch(t.Context(), nil)
	want := `vend: location 0421: the outlet id "3a64f8f4" is ambiguous: it ends "Main" (b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4) and "Twin" (c2e04bd8-f019-11e3-a0f5-b8ca3a64f8f4); give the full outlet id` + "\n" +
		`vend: location 0500: no Lightspeed outlet has the id "deadbeef" (list them with ` + "`storeagent locations vend`)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	got := newImp("pt", bad).Check(t.Context())
	wantF := []record.Finding{
		{Check: "vend credentials", OK: true, Detail: "acme: 2 outlets readable"},
		{Check: "vend location 0421", Detail: `the outlet id "3a64f8f4" is ambiguous: it ends "Main" (b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4) and "Twin" (c2e04bd8-f019-11e3-a0f5-b8ca3a64f8f4); give the full outlet id`, Fix: "set the location's vend id to a full outlet id or its last 8 characters from `storeagent locations vend`"},
		{Check: "vend location 0500", Detail: `no Lightspeed outlet has the id "deadbeef" (list them with ` + "`storeagent locations vend`)", Fix: "set the location's vend id to a full outlet id or its last 8 characters from `storeagent locations vend`"},
		{Check: "vend sales", OK: true},
		{Check: "vend products", OK: true},
		{Check: "vend staff shifts", OK: true},
		{Check: "vend default_location", Detail: "0999 is not bound to a Lightspeed outlet; its shifts are counted in UTC", Fix: "bind that location to an outlet, or pick a bound one"},
	}
	if diff := cmp.Diff(wantF, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	got = newImp("wrong", good).Check(t.Context())
	if len(got) != 1 || got[0].OK || got[0].Fix != "run `storeagent connect vend` (or replace the personal token)" {
		t.Errorf("got %+v, want one failed credentials finding", got)
	}
	s.DeleteOutlet("c2e04bd8-f019-11e3-a0f5-b8ca3a64f8f4")
	locs, err := newImp("pt", good).Locations(t.Context())
	wantL := []record.Location{
		{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main", TimeZone: "Pacific/Auckland", Active: true, Note: "TMAS location id: 3a64f8f4"},
		{ID: "c2e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Twin", TimeZone: "Pacific/Auckland", Note: "TMAS location id: 3a64f8f4 (deleted)"},
	}
	if diff := cmp.Diff(wantL, locs); err != nil || diff != "" {
		t.Errorf("locations %v (-want +got):\n%s", err, diff)
	}
}

// A store without the timeclock: sales still come, with a note.
func TestShiftsUnavailable(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	o := s.AddOutlet(vendtest.Outlet{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main", TimeZone: "Pacific/Auckland", Currency: "NZD"})
	s.AddSale(vendtest.Sale{ID: "sale-1", OutletID: o, Status: "CLOSED", Lines: []vendtest.Line{{ProductID: "p", Qty: "2", UnitPrice: "1.25"}}})
	imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: "pt", BaseURL: s.URL},
		[]record.Binding{{LocationID: "0421", SourceID: "3a64f8f4", Active: true}}, vend.Options{Now: s.Now, Sleep: s.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	s.FailNext(100, "/api/2.0/shifts", 404)
	pages := runAll(t, imp, nil)
	_, notes := flatten(pages)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-1 2.50"}, keys(pages)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	want := "staff shifts could not be read (vend: /api/2.0/shifts was not found (404): check vend.domain_prefix (and vend.base_url)): staff hours are not imported; set vend.staff: false if the store does not use the timeclock"
	if diff := cmp.Diff([]string{want, want}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestCredentialsRefused: a 401 or 403 from Lightspeed, and a connection
// that must be made again, are credential errors (errors.Is
// record.ErrCredentials), so the agent turns the source red at once; a 404
// is not.
func TestCredentialsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		token  string
		want   string
		cred   bool
	}{
		{"401", 0, "wrong", "vend: the Lightspeed token was rejected (401): the personal token may have been deleted or expired; create a new one in Lightspeed (Setup > Personal tokens) and update vend.token", true},
		{"403", 403, "pt", `vend: Lightspeed refused access to /api/2.0/outlets (403): the connection lacks a permission; reconnect with ` + "`storeagent connect vend`" + ` (scopes "sales:read outlets:read users:read products:read") or use a personal token of an administrator`, true},
		{"404", 404, "pt", "vend: /api/2.0/outlets was not found (404): check vend.domain_prefix (and vend.base_url)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
			if tc.status != 0 {
				s.FailNext(1, "/api/2.0/outlets", tc.status)
			}
			imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: tc.token, BaseURL: s.URL}, nil, vend.Options{Now: s.Now, Sleep: s.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			_, err = imp.Fetch(t.Context(), nil)
			if err == nil || err.Error() != tc.want || errors.Is(err, record.ErrCredentials) != tc.cred {
				t.Errorf("got %v (credentials: %v), want %s (credentials: %v)", err, errors.Is(err, record.ErrCredentials), tc.want, tc.cred)
			}
		})
	}
	for _, err := range []error{vend.ErrReconnect, vend.ErrNotConnected} {
		if !errors.Is(err, record.ErrCredentials) {
			t.Errorf("%v is not a credentials error", err)
		}
	}
}
