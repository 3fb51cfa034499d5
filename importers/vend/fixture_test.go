package vend

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
)

func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// fixtureImporter is an importer whose outlet list was read from fixtures.
func fixtureImporter(t *testing.T, cfg Config, bindings []record.Binding, outlets []apiOutlet) *Importer {
	t.Helper()
	if cfg.DomainPrefix == "" {
		cfg.DomainPrefix = "acme"
	}
	cfg.Token = "personal"
	imp, err := New(cfg, bindings, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byOutlet, err := resolve(bindings, outlets)
	if err != nil {
		t.Fatal(err)
	}
	imp.outlets = map[string]apiOutlet{}
	for _, o := range outlets {
		imp.outlets[o.ID] = o
	}
	imp.byOutlet = byOutlet
	return imp
}

func mustTime(t *testing.T, s string, z *time.Location) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.In(z)
}

func TestFixtureRealClosedSale(t *testing.T) {
	var outlets struct{ Outlets []apiOutlet }
	readFixture(t, "lsx-real-get-outlets-v09.json", &outlets)
	ams := zone(t, "Europe/Amsterdam")
	// The TMAS id is the outlet GUID's last 8 characters.
	imp := fixtureImporter(t, Config{Currency: "EUR"}, []record.Binding{{LocationID: "0042", SourceID: "fa4bff", Zone: ams, Active: true}}, outlets.Outlets)
	var page feedPage[apiSale]
	readFixture(t, "lsx-real-get-sales-closed.json", &page)
	cur := cursor{}
	// The line's product, as the products feed gave it (2.0 lines carry no SKU).
	imp.products = map[string]product{"d413bc4a-b21d-4aa2-84d8-deafb3be5be2": {sku: "TS-RED-M", name: "T-shirt red M"}}
	got, note, err := imp.saleRecord(page.Data[0], &cur, newSkips())
	if err != nil || note != "" {
		t.Fatalf("got error %v, note %q", err, note)
	}
	want := &record.Record{
		Type: record.TypeTransaction, Key: "vend:acme:sale:201a6e43-58c5-a97e-11f0-ca04af823c79", Source: "vend", LocationID: "0042",
		RevHint: 47562037527,
		Transaction: &record.Transaction{
			Kind: "sale", OccurredAt: mustTime(t, "2025-11-25T14:44:45+01:00", ams), Receipt: "1",
			NetSales: record.MustMoney("20.66"), Tax: record.MustMoney("4.34"), Discounts: record.MustMoney("0.00"),
			Currency: "EUR", Items: 1, StaffID: "020b2c2a-4661-11f0-e200-c927a9d45ab1", RegisterID: "0698ab21-5f21-11f0-f6d9-c927aa087197",
			Lines: []record.Line{{SKU: "TS-RED-M", Title: "T-shirt red M", Qty: 1, Net: record.MustMoney("20.66")}}, Paid: true,
		},
	}
	if diff := cmp.Diff(want, got, moneyCmp); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if got.OccurredAt.Format(time.RFC3339) != "2025-11-25T14:44:45+01:00" {
		t.Errorf("got occurred_at %s, want 2025-11-25T14:44:45+01:00", got.OccurredAt.Format(time.RFC3339))
	}
	if diff := cmp.Diff(map[string]map[string]times{"020b2c2a-4661-11f0-e200-c927a9d45ab1": {"0698ab21-5f21-11f0-f6d9-c927a9fa4bff": {1764078285}}}, cur.Sales); diff != "" {
		t.Errorf("sales seen (-want +got):\n%s", diff)
	}
}

// moneyCmp compares Money by value and times by instant and zone offset.
var moneyCmp = cmp.Options{
	cmp.Comparer(func(a, b record.Money) bool { return a.Equal(b) && a.String() == b.String() }),
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Equal(b) && a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano)
	}),
}

func TestFixtureSpecSales(t *testing.T) {
	var outlets feedPage[apiOutlet]
	readFixture(t, "vend-spec-get-outlets.json", &outlets)
	akl := zone(t, "Pacific/Auckland")
	imp := fixtureImporter(t, Config{}, []record.Binding{{LocationID: "0421", SourceID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Zone: akl, Active: true}}, outlets.Data)
	var page feedPage[apiSale]
	readFixture(t, "vend-spec-get-sales.json", &page)
	var got []record.Record
	for _, s := range page.Data {
		r, note, err := imp.saleRecord(s, &cursor{}, newSkips())
		if err != nil || note != "" || r == nil {
			t.Fatalf("sale %s: got %v, %q, %v", s.ID, r, note, err)
		}
		got = append(got, *r)
	}
	staff, reg := "b1ed6158-f019-11e3-a0f5-b8ca3a64f8f4", "b1e198a9-f019-11e3-a0f5-b8ca3a64f8f4"
	want := []record.Record{
		{Type: "transaction", Key: "vend:acme:sale:b8ca3a65-0183-11e4-fbb5-39f7fce5e39b", Source: "vend", LocationID: "0421", RevHint: 413,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: mustTime(t, "2014-09-18T13:37:56+12:00", akl), Receipt: "1036",
				NetSales: record.MustMoney("200.00"), Tax: record.MustMoney("30.00"), Discounts: record.MustMoney("0.00"), Currency: "NZD", Items: 2,
				StaffID: staff, RegisterID: reg, Paid: true,
				Lines: []record.Line{{Qty: 1, Net: record.MustMoney("200.00")}, {Qty: 1, Net: record.MustMoney("0.00")}}}},
		{Type: "transaction", Key: "vend:acme:sale:a604d16b-a999-beb5-11e4-3ed46b02a0bc", Source: "vend", LocationID: "0421", RevHint: 29316,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: mustTime(t, "2014-09-18T15:45:46+12:00", akl), Receipt: "MR-1050-NZ",
				NetSales: record.MustMoney("12.91"), Tax: record.MustMoney("1.94"), Discounts: record.MustMoney("0.00"), Currency: "NZD", Items: 3,
				StaffID: staff, RegisterID: reg, Paid: true,
				Lines: []record.Line{{Qty: 1, Net: record.MustMoney("4.30")}, {Qty: 1, Net: record.MustMoney("4.30")}, {Qty: 1, Net: record.MustMoney("4.30")}}}},
	}
	if diff := cmp.Diff(want, got, moneyCmp); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestFixtureReturn(t *testing.T) {
	var outlets feedPage[apiOutlet]
	readFixture(t, "vend-spec-get-outlets.json", &outlets)
	akl := zone(t, "Pacific/Auckland")
	imp := fixtureImporter(t, Config{}, []record.Binding{{LocationID: "0421", SourceID: "3a64f8f4", Zone: akl, Active: true}}, outlets.Data)
	var one struct{ Data apiSale }
	readFixture(t, "lsx-spec-2026-07-post-sale-return.json", &one)

	// As recorded, the return is still parked (SAVED): it does not count yet.
	r, note, err := imp.saleRecord(one.Data, &cursor{}, newSkips())
	if r != nil || note != "" || err != nil {
		t.Fatalf("parked return: got %v, %q, %v; want nothing", r, note, err)
	}
	// Once completed it is a return with negative net and items.
	done := one.Data
	done.Status, done.State = "CLOSED", "closed"
	r, note, err = imp.saleRecord(done, &cursor{}, newSkips())
	if err != nil || note != "" || r == nil {
		t.Fatalf("closed return: got %v, %q, %v", r, note, err)
	}
	want := &record.Transaction{Kind: "return", OccurredAt: mustTime(t, "2016-09-20T08:28:03+12:00", akl), Receipt: "1570",
		NetSales: record.MustMoney("-200.00"), Tax: record.MustMoney("-30.00"), Discounts: record.MustMoney("0.00"), Currency: "NZD", Items: -2,
		StaffID: "b1ed6158-f019-11e3-a0f5-b8ca3a64f8f4", RegisterID: "b1e198a9-f019-11e3-a0f5-b8ca3a64f8f4", Paid: true,
		Lines: []record.Line{{Qty: -1, Net: record.MustMoney("-200.00")}, {Qty: -1, Net: record.MustMoney("0.00")}}}
	if diff := cmp.Diff(want, r.Transaction, moneyCmp); diff != "" {
		t.Errorf("return (-want +got):\n%s", diff)
	}
	if r.LocationID != "0421" || r.RevHint != 1978890425 {
		t.Errorf("got location %s rev hint %d, want 0421 1978890425", r.LocationID, r.RevHint)
	}
}

func TestFixtureShifts(t *testing.T) {
	var outlets feedPage[apiOutlet]
	readFixture(t, "vend-spec-get-outlets.json", &outlets)
	syd := zone(t, "Australia/Sydney")
	imp := fixtureImporter(t, Config{}, []record.Binding{{LocationID: "0777", SourceID: "1bd6b215", Zone: syd, Active: true}}, outlets.Data)
	var users feedPage[apiUser]
	readFixture(t, "vend-spec-get-users.json", &users)
	u := users.Data[0]
	u.ID = "08002782-0c90-11e6-e3ed-117ec127b1ca" // the fixture user, as the shift's user
	u.RestrictedOutletIDs = []string{"06bf537b-c783-11e6-f6b9-53a81bd6b215"}
	imp.users = map[string]apiUser{u.ID: u}
	var page feedPage[apiShift]
	readFixture(t, "lsx-spec-get-shifts.json", &page)

	got, note := imp.shiftRecord(page.Data[0], &cursor{})
	if note != "" || got == nil {
		t.Fatalf("got %v, note %q", got, note)
	}
	out := mustTime(t, "2024-06-23T22:25:43.511+10:00", syd)
	want := &record.Record{Type: "shift", Key: "vend:acme:shift:00000000-0001-0001-0001-000000000004", Source: "vend", LocationID: "0777", RevHint: 3378,
		Shift: &record.Shift{EmployeeID: "08002782-0c90-11e6-e3ed-117ec127b1ca", EmployeeName: "Dev Rel",
			ClockIn: mustTime(t, "2024-06-23T19:25:43.511+10:00", syd), ClockOut: &out, Hours: record.MustMoney("3.00")}}
	if diff := cmp.Diff(want, got, moneyCmp); diff != "" {
		t.Errorf("shift (-want +got):\n%s", diff)
	}
	// The second shift's user is unknown and made no sale: skipped with a note.
	got, note = imp.shiftRecord(page.Data[1], &cursor{})
	wantNote := "shift 00000000-0001-0001-0001-000000000005 of user 08002782-0c90-11e6-e3ed-117ec127b1cb: no outlet could be found (the user is unknown to Lightspeed's user list and made no sale around that time): skipped; set vend.default_location or restrict the user to one outlet in Lightspeed"
	if got != nil || note != wantNote {
		t.Errorf("got %v, note %q; want nil, %q", got, note, wantNote)
	}
}
