package woocommerce

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOrderRecords: no order payload makes the conversion panic, and every
// record it makes is valid.
func FuzzOrderRecords(f *testing.F) {
	for _, name := range []string{"wc-docs-v3-list-orders.json", "wcios-orders-load-all.json", "wcios-broken-orders.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		var env struct {
			Data []json.RawMessage `json:"data"`
		}
		var list []json.RawMessage
		if json.Unmarshal(b, &env) == nil && len(env.Data) > 0 {
			list = env.Data
		} else if err := json.Unmarshal(b, &list); err != nil {
			f.Fatal(err)
		}
		for _, o := range list {
			f.Add([]byte(o), []byte(`[{"id":1,"date_created_gmt":"2020-01-01T00:00:00","amount":"5","line_items":[{"quantity":-1,"total":"-5"}]}]`))
		}
	}
	c := fixtureConv()
	f.Fuzz(func(t *testing.T, order, refunds []byte) {
		var o apiOrder
		if json.Unmarshal(order, &o) != nil {
			return
		}
		var rs []apiRefund
		_ = json.Unmarshal(refunds, &rs)
		recs, _, err := c.orderRecords(o, rs, "0421", toronto)
		if err != nil {
			return // a refused record is an error, not a crash
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
