package vend_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// TestManagerAtTwoOutlets: a manager sells at Queen St all morning (a run of
// sales less than 4 hours apart reaching into the afternoon), then works an
// afternoon shift at Ponsonby. Only the sales inside each shift's window
// (1 h before to 1 h after) count, and a sale seen again in the feed (edited
// twice) counts once: the morning shift is Queen St's,
// the afternoon one Ponsonby's.
func TestManagerAtTwoOutlets(t *testing.T) {
	day := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"), vendtest.WithNow(day.Add(24*time.Hour)))
	queen := s.AddOutlet(vendtest.Outlet{ID: "aaaaaaaa-0000-0000-0000-00000000a001", Name: "Queen St", TimeZone: "Pacific/Auckland", Currency: "NZD"})
	pons := s.AddOutlet(vendtest.Outlet{ID: "bbbbbbbb-0000-0000-0000-00000000b002", Name: "Ponsonby", TimeZone: "Pacific/Auckland", Currency: "NZD"})
	mgr := s.AddUser(vendtest.User{Username: "mia", DisplayName: "Mia"}) // not restricted: works anywhere
	sale := func(outlet string, at time.Duration) string {
		return s.AddSale(vendtest.Sale{OutletID: outlet, UserID: mgr, Status: "CLOSED", SaleDate: day.Add(at),
			Lines: []vendtest.Line{{ProductID: "p", Qty: "1", UnitPrice: "5"}}})
	}
	// Queen St: every 30 minutes from 06:00 to 12:30 UTC, and one at 13:30.
	for at := 6 * time.Hour; at <= 12*time.Hour+30*time.Minute; at += 30 * time.Minute {
		sale(queen, at)
	}
	late := sale(queen, 13*time.Hour+30*time.Minute)
	// The late sale comes back in the feed twice more (two edits); a return
	// is made on it after the shifts (a sale of its own, outside both windows).
	s.EditSale(late, func(x *vendtest.Sale) { x.Receipt = "edited" })
	s.EditSale(late, func(x *vendtest.Sale) { x.Receipt = "edited again" })
	s.AddSale(vendtest.Sale{OutletID: queen, UserID: mgr, Status: "CLOSED", SaleDate: day.Add(21*time.Hour + 30*time.Minute), ReturnFor: late,
		Lines: []vendtest.Line{{ProductID: "p", Qty: "-1", UnitPrice: "5"}}})
	// Ponsonby: two sales in the afternoon shift.
	sale(pons, 15*time.Hour)
	sale(pons, 17*time.Hour)
	morningOut, afternoonOut := day.Add(13*time.Hour), day.Add(19*time.Hour)
	morning := s.AddShift(vendtest.Shift{UserID: mgr, In: day.Add(6 * time.Hour), Out: &morningOut})
	afternoon := s.AddShift(vendtest.Shift{UserID: mgr, In: day.Add(14 * time.Hour), Out: &afternoonOut})

	auck, _ := time.LoadLocation("Pacific/Auckland")
	imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: "pt", BaseURL: s.URL, BackfillDays: 3},
		[]record.Binding{{LocationID: "0421", SourceID: queen, Zone: auck, Active: true}, {LocationID: "0422", SourceID: pons, Zone: auck, Active: true}},
		vend.Options{Now: s.Now, Sleep: s.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	recs, notes := flatten(runAll(t, imp, nil))
	got := map[string]string{}
	for _, r := range recs {
		if r.Shift != nil {
			got[r.Key] = r.LocationID
		}
	}
	want := map[string]string{"vend:acme:shift:" + morning: "0421", "vend:acme:shift:" + afternoon: "0422"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shift locations (-want +got):\n%s\nnotes %q", diff, notes)
	}
}
