package receiver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInvalidLines sends each invalid line as the second of three and expects
// 422 naming line 2 with the exact error, and nothing stored.
func testInvalidLines(t *testing.T, st testStore) {
	num := func(s string) json.Number { return json.Number(s) }
	for _, tc := range []struct {
		name string
		line any
		err  string
	}{
		{"array", `[1,2]`, "the line is not a JSON object, got an array"},
		{"string", `"hello"`, "the line is not a JSON object, got a string"},
		{"no type", txn("x", 1, del("type")), "type: missing"},
		{"unknown type", txn("x", 1, set("type", "refund")), `type: "refund" is not transaction or shift`},
		{"type not a string", txn("x", 1, set("type", 1)), "type: must be a string, got a number"},
		{"no key", txn("x", 1, del("key")), "key: missing"},
		{"empty key", txn("", 1), "key: empty"},
		{"key too long", txn(strings.Repeat("k", maxKeyBytes+1), 1), "key: longer than 32768 bytes"},
		{"no rev", txn("x", 1, del("rev")), "rev: missing"},
		{"rev zero", txn("x", 0), "rev: 0 is not >= 1"},
		{"rev negative", txn("x", -3), "rev: -3 is not >= 1"},
		{"rev fraction", txn("x", 1, set("rev", num("1.5"))), "rev: 1.5 is not an integer"},
		{"rev as string", txn("x", 1, set("rev", "1")), "rev: must be an integer, got a string"},
		{"unknown source", txn("x", 1, set("source", "square")), `source: "square" is not shopify, vend, woocommerce or csv`},
		{"no location", txn("x", 1, del("location_id")), "location_id: missing"},
		{"empty location", txn("x", 1, set("location_id", "")), "location_id: empty"},
		{"unknown location", txn("x", 1, set("location_id", "9999")), `location_id: "9999" is not a known TMAS location`},
		{"no observed_at", txn("x", 1, del("observed_at")), "observed_at: missing"},
		{"observed_at not RFC 3339", txn("x", 1, set("observed_at", "2026-11-20 18:00:00")), `observed_at: "2026-11-20 18:00:00" is not an RFC 3339 time with a UTC offset`},
		{"observed_at as number", txn("x", 1, set("observed_at", 1763661600)), "observed_at: must be an RFC 3339 time string, got a number"},
		{"unknown kind", txn("x", 1, set("kind", "refund")), `kind: "refund" is not sale, return or void`},
		{"no kind", txn("x", 1, del("kind")), "kind: missing"},
		{"occurred_at without offset", txn("x", 1, set("occurred_at", "2026-11-20T09:15:00")), `occurred_at: "2026-11-20T09:15:00" is not an RFC 3339 time with a UTC offset`},
		{"occurred_at unknown offset", txn("x", 1, set("occurred_at", "2026-11-20T09:15:00-00:00")), `occurred_at: "2026-11-20T09:15:00-00:00" has an unknown UTC offset (-00:00)`},
		{"occurred_at date only", txn("x", 1, set("occurred_at", "2026-11-20")), `occurred_at: "2026-11-20" is not an RFC 3339 time with a UTC offset`},
		{"no receipt", txn("x", 1, del("receipt")), "receipt: missing"},
		{"receipt as number", txn("x", 1, set("receipt", 1001)), "receipt: must be a string, got a number"},
		{"net_sales as JSON number", txn("x", 1, set("net_sales", num("12.50"))), "net_sales: must be a decimal string, got a number"},
		{"net_sales one place", txn("x", 1, set("net_sales", "12.5")), `net_sales: "12.5" is not a decimal with 2 or more places`},
		{"net_sales no places", txn("x", 1, set("net_sales", "12")), `net_sales: "12" is not a decimal with 2 or more places`},
		{"net_sales comma", txn("x", 1, set("net_sales", "12,50")), `net_sales: "12,50" is not a decimal with 2 or more places`},
		{"net_sales empty", txn("x", 1, set("net_sales", "")), "net_sales: empty"},
		{"tax missing", txn("x", 1, del("tax")), "tax: missing"},
		{"shipping null", txn("x", 1, set("shipping", nil)), "shipping: must be a decimal string, got null"},
		{"tips exponent", txn("x", 1, set("tips", "1e2")), `tips: "1e2" is not a decimal with 2 or more places`},
		{"discounts as number", txn("x", 1, set("discounts", 0)), "discounts: must be a decimal string, got a number"},
		{"currency lower case", txn("x", 1, set("currency", "cad")), `currency: "cad" is not an ISO 4217 code`},
		{"currency symbol", txn("x", 1, set("currency", "$")), `currency: "$" is not an ISO 4217 code`},
		{"no currency", txn("x", 1, del("currency")), "currency: missing"},
		{"items fraction", txn("x", 1, set("items", num("1.5"))), "items: 1.5 is not an integer"},
		{"items as string", txn("x", 1, set("items", "2")), "items: must be an integer, got a string"},
		{"no items", txn("x", 1, del("items")), "items: missing"},
		{"paid as string", txn("x", 1, set("paid", "true")), "paid: must be true or false, got a string"},
		{"no paid", txn("x", 1, del("paid")), "paid: missing"},
		{"staff_id as number", txn("x", 1, set("staff_id", 7)), "staff_id: must be a string, got a number"},
		{"lines not an array", txn("x", 1, set("lines", map[string]any{})), "lines: must be an array, got an object"},
		{"line not an object", txn("x", 1, set("lines", []any{"a"})), "lines[0]: must be an object, got a string"},
		{"line net as number", txn("x", 1, set("lines", []any{
			map[string]any{"sku": "A", "qty": 1, "net": "1.00"},
			map[string]any{"sku": 5, "qty": "1", "net": num("1.00")},
		})), "lines[1].sku: must be a string, got a number; lines[1].qty: must be an integer, got a string; lines[1].net: must be a decimal string, got a number"},
		{"line without qty and net", txn("x", 1, set("lines", []any{map[string]any{}})), "lines[0].qty: missing; lines[0].net: missing"},
		{"no employee_id", shift("x", 1, del("employee_id")), "employee_id: missing"},
		{"empty employee_id", shift("x", 1, set("employee_id", " ")), "employee_id: empty"},
		{"employee_name as number", shift("x", 1, set("employee_name", 3)), "employee_name: must be a string, got a number"},
		{"no clock_in", shift("x", 1, del("clock_in")), "clock_in: missing"},
		{"clock_in null", shift("x", 1, set("clock_in", nil)), "clock_in: must be an RFC 3339 time string, got null"},
		{"clock_in without offset", shift("x", 1, set("clock_in", "2026-11-20T09:00")), `clock_in: "2026-11-20T09:00" is not an RFC 3339 time with a UTC offset`},
		{"no clock_out", shift("x", 1, del("clock_out")), "clock_out: missing"},
		{"clock_out as number", shift("x", 1, set("clock_out", 0)), "clock_out: must be null or an RFC 3339 time string, got a number"},
		{"clock_out before clock_in", shift("x", 1, set("clock_out", "2026-11-20T08:00:00-05:00")), "clock_out: before clock_in"},
		{"hours as number", shift("x", 1, set("hours", 8)), "hours: must be a decimal string, got a number"},
		{"hours not a decimal", shift("x", 1, set("hours", "8h")), `hours: "8h" is not a decimal`},
		{"no hours", shift("x", 1, del("hours")), "hours: missing"},
		{"several problems", txn("", 0, set("source", "pos"), set("net_sales", num("1"))),
			`key: empty; rev: 0 is not >= 1; source: "pos" is not shopify, vend, woocommerce or csv; net_sales: must be a decimal string, got a number`},
		{"empty object", `{}`, "type: missing; key: missing; rev: missing; source: missing; location_id: missing; observed_at: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := start(t, st, Config{Locations: []string{"0421", "0422"}})
			a := send(t, nil, srv.URL, batch{body: ndjson(t, txn("ok-1", 1), tc.line, shift("ok-2", 1))})
			if a.status != 422 {
				t.Fatalf("got %d %s, want 422", a.status, a.body)
			}
			var got struct{ Rejected []rejection }
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatalf("answer %s: %v", a.body, err)
			}
			if d := cmp.Diff([]rejection{{Line: 2, Error: tc.err}}, got.Rejected); d != "" {
				t.Errorf("rejected (-want +got):\n%s", d)
			}
			if n := len(r.Records()); n != 0 {
				t.Errorf("got %d records stored, want 0", n)
			}
			if s := r.Stats(); s.BatchesAccepted != 0 || s.LinesAccepted != 0 {
				t.Errorf("got stats %+v, want nothing accepted", s)
			}
		})
	}
}

func testRejectedLineNumbers(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	body := ndjson(t, txn("a", 0), txn("b", 1), shift("c", 1, set("hours", 1)), txn("d", 1), txn("e", 1, set("paid", nil)))
	a := send(t, nil, srv.URL, batch{idem: "n-1", body: body})
	want := `{"rejected":[{"line":1,"error":"rev: 0 is not \u003e= 1"},{"line":3,"error":"hours: must be a decimal string, got a number"},{"line":5,"error":"paid: must be true or false, got null"}]}`
	if a.status != 422 || a.body != want {
		t.Errorf("got %d %s, want 422 %s", a.status, a.body, want)
	}
	// The same Idempotency-Key with the good lines only is a new batch: nothing was stored.
	a = send(t, nil, srv.URL, batch{idem: "n-1", body: ndjson(t, txn("b", 1), txn("d", 1))})
	if a.status != 200 || a.body != `{"accepted":2,"duplicates":0}` {
		t.Errorf("got %d %s, want 200 accepted 2", a.status, a.body)
	}
	if got, want := keyRevs(r.Records()), map[string]int64{"b": 1, "d": 1}; !cmp.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

func testValidVariants(t *testing.T, st testStore) {
	r, srv := start(t, st, Config{})
	lines := []any{
		txn("utc", 1, set("occurred_at", "2026-11-20T14:15:00Z")),
		txn("fraction", 1, set("occurred_at", "2026-11-20T09:15:00.123456-05:00"), set("observed_at", "2026-11-20T18:00:00.5+00:00")),
		txn("return", 1, set("kind", "return"), set("net_sales", "-3.125"), set("items", -1), set("paid", false)),
		txn("void", 2, set("kind", "void"), set("net_sales", "0.00"), set("source", "vend"), set("staff_id", "u-1"),
			set("lines", []any{map[string]any{"sku": "A", "barcode": "123", "title": "Mug", "qty": 2, "net": "-10.00"}})),
		txn("woo", 1, set("source", "woocommerce"), set("lines", nil), set("staff_id", nil), set("future_field", map[string]any{"x": 1})),
		shift("open", 1, set("clock_out", nil), set("hours", "0"), set("employee_name", "Ana")),
		shift("night", 1, set("clock_in", "2026-11-20T22:00:00-05:00"), set("clock_out", "2026-11-21T06:00:00-05:00"), set("hours", "7.5")),
	}
	a := send(t, nil, srv.URL, batch{body: ndjson(t, lines...)})
	if a.status != 200 || a.body != `{"accepted":7,"duplicates":0}` {
		t.Fatalf("got %d %s, want 200 accepted 7", a.status, a.body)
	}
	if n := len(r.Records()); n != 7 {
		t.Errorf("got %d records, want 7", n)
	}
}
