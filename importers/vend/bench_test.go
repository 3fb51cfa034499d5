package vend

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// BenchmarkSalePage maps a page of 200 sales of 5 lines each from JSON.
func BenchmarkSalePage(b *testing.B) {
	var page struct{ Data []map[string]any }
	page.Data = make([]map[string]any, 200)
	for k := range page.Data {
		var lines []map[string]any
		for l := range 5 {
			lines = append(lines, map[string]any{"product_id": fmt.Sprintf("p%d", l), "quantity": json.Number("1.00000"), "price": json.Number("4.3043500000"), "discount": json.Number("0"), "tax": json.Number("0.64565")})
		}
		page.Data[k] = map[string]any{"id": fmt.Sprintf("s%d", k), "outlet_id": "o1", "user_id": "u1", "status": "CLOSED", "sale_date": "2026-03-09T01:15:00+00:00",
			"total_price": json.Number("21.52"), "total_tax": json.Number("3.23"), "version": 1000 + k, "line_items": lines}
	}
	raw, _ := json.Marshal(map[string]any{"data": page.Data})
	imp, err := New(Config{DomainPrefix: "acme", Token: "x", Currency: "NZD"}, []record.Binding{{LocationID: "1", SourceID: "o1", Zone: time.UTC, Active: true}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	imp.outlets = map[string]apiOutlet{"o1": {ID: "o1"}}
	imp.byOutlet = map[string]record.Binding{"o1": imp.bindings[0]}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var p feedPage[apiSale]
		if err := json.Unmarshal(raw, &p); err != nil {
			b.Fatal(err)
		}
		cur := cursor{}
		for _, s := range p.Data {
			if _, _, err := imp.saleRecord(s, &cur, newSkips()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
