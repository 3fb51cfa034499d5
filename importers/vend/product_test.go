package vend_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

// TestLineSKUs: a line's SKU and title come from the product (2.0 lines
// carry only its id); the products feed is read once and then followed from
// its last version; a product Lightspeed does not know leaves the SKU empty,
// never its UUID; a connection that may not read products gives empty SKUs
// and one note.
func TestLineSKUs(t *testing.T) {
	s := vendtest.NewServer(t, vendtest.WithPersonalToken("pt"))
	o := s.AddOutlet(vendtest.Outlet{ID: "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4", Name: "Main", TimeZone: "Pacific/Auckland", Currency: "NZD"})
	mug := s.AddProduct(vendtest.Product{SKU: "MUG-01", Name: "Mug"})
	s.AddProduct(vendtest.Product{SKU: "TEA-02", Name: "Tea"})
	s.AddSale(vendtest.Sale{ID: "sale-1", OutletID: o, Status: "CLOSED", Lines: []vendtest.Line{
		{ProductID: mug, Qty: "2", UnitPrice: "4"}, {ProductID: "0a0a0a0a-dead-0000-0000-000000000000", Qty: "1", UnitPrice: "1"}}})
	f := false
	newImp := func() *vend.Importer {
		imp, err := vend.New(vend.Config{DomainPrefix: "acme", Token: "pt", BaseURL: s.URL, Staff: &f},
			[]record.Binding{{LocationID: "0421", SourceID: "3a64f8f4", Active: true}}, vend.Options{Now: s.Now, Sleep: s.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		return imp
	}
	lines := func(pages []fetched) []string {
		var out []string
		for _, p := range pages {
			for _, r := range p.records {
				for _, l := range r.Lines {
					out = append(out, r.Key+" "+l.SKU+" "+l.Title+" "+l.Net.String())
				}
			}
		}
		return out
	}
	productRequests := func() []string {
		var out []string
		for _, r := range s.Requests() {
			if strings.Contains(r, "/products") {
				out = append(out, r)
			}
		}
		return out
	}
	imp := newImp()
	pages := runAll(t, imp, nil)
	want := []string{"vend:acme:sale:sale-1 MUG-01 Mug 8.00", "vend:acme:sale:sale-1   1.00"}
	if diff := cmp.Diff(want, lines(pages)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	got := productRequests()
	if len(got) != 3 || got[0] != "GET /api/2.0/products?after=0&deleted=true&page_size=200" ||
		!strings.HasPrefix(got[1], "GET /api/2.0/products?after=") || got[2] != "GET /api/2.0/products/0a0a0a0a-dead-0000-0000-000000000000" {
		t.Errorf("got product requests %q, want the feed walked to its end and the unknown product asked for once", got)
	}
	end := got[len(got)-2] // the walk's last request: where the feed resumes

	// A later sale of a new product: the feed is followed from where it was.
	s.ResetRequests()
	cake := s.AddProduct(vendtest.Product{SKU: "CAKE-03", Name: "Cake"})
	s.AddSale(vendtest.Sale{ID: "sale-2", OutletID: o, Status: "CLOSED", Lines: []vendtest.Line{{ProductID: cake, Qty: "1", UnitPrice: "6"}}})
	pages = runAll(t, imp, pages[len(pages)-1].cursor)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-2 CAKE-03 Cake 6.00"}, lines(pages)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if got := productRequests(); len(got) != 2 || got[0] != end {
		t.Errorf("got product requests %q, want the feed followed from its last version", got)
	}

	// A connection without products:read.
	s.FailNext(1, "/api/2.0/products", 403)
	pages = runAll(t, newImp(), nil)
	if diff := cmp.Diff([]string{"vend:acme:sale:sale-1   8.00", "vend:acme:sale:sale-1   1.00", "vend:acme:sale:sale-2   6.00"}, lines(pages)); diff != "" {
		t.Errorf("lines without products:read (-want +got):\n%s", diff)
	}
	_, notes := flatten(pages)
	if diff := cmp.Diff([]string{"the connection may not read products (403): sale lines carry no SKU; run `storeagent connect vend` again to grant products:read"}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestDoctorProducts: doctor says when the connection may not read products.
func TestDoctorProducts(t *testing.T) {
	s, imp := tiny(t)
	s.FailNext(1, "/api/2.0/products", 403)
	var got []record.Finding
	for _, f := range imp.Check(t.Context()) {
		if f.Check == "vend products" {
			got = append(got, f)
		}
	}
	want := []record.Finding{{Check: "vend products",
		Detail: `vend: Lightspeed refused access to /api/2.0/products (403): the connection lacks a permission; reconnect with ` + "`storeagent connect vend`" + ` (scopes "sales:read outlets:read users:read products:read") or use a personal token of an administrator: sale lines carry no SKU`,
		Fix:    "the connection needs the products:read scope: run `storeagent connect vend` again (or use a personal token)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
