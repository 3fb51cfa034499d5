package shopify

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// The Airbyte lines carry real sales agreements (reshaped to snake_case,
// money as JSON numbers) and real REST orders of a Shopify test store.

type airbyteMoney struct {
	ShopMoney struct {
		Amount       json.Number `json:"amount"`
		CurrencyCode string      `json:"currency_code"`
	} `json:"shop_money"`
}

func (m airbyteMoney) bag(t *testing.T) moneyBag {
	var b moneyBag
	if err := json.Unmarshal([]byte(`"`+m.ShopMoney.Amount.String()+`"`), &b.ShopMoney.Amount); err != nil {
		t.Fatal(err)
	}
	b.ShopMoney.CurrencyCode = m.ShopMoney.CurrencyCode
	return b
}

type airbyteLine struct {
	Stream string `json:"stream"`
	Data   struct {
		ID          int64     `json:"id"`
		Name        string    `json:"name"`
		SourceName  string    `json:"source_name"`
		Test        bool      `json:"test"`
		CreatedAt   time.Time `json:"created_at"`
		UpdatedAt   time.Time `json:"updated_at"`
		ProcessedAt time.Time `json:"processed_at"`
		Currency    string    `json:"currency"`
		LocationID  *int64    `json:"location_id"`
		Agreements  []struct {
			ID         int64     `json:"id"`
			HappenedAt time.Time `json:"happened_at"`
			Reason     string    `json:"reason"`
			Sales      []struct {
				Quantity   int64        `json:"quantity"`
				ActionType string       `json:"action_type"`
				LineType   string       `json:"line_type"`
				Total      airbyteMoney `json:"total_amount"`
				Tax        airbyteMoney `json:"total_tax_amount"`
				Discount   airbyteMoney `json:"total_discount_amount_before_taxes"`
				LineItem   struct {
					AdminID string `json:"admin_graphql_api_id"`
				} `json:"line_item"`
			} `json:"sales"`
			AdminID string `json:"admin_graphql_api_id"`
		} `json:"agreements"`
		AdminID string `json:"admin_graphql_api_id"`
	} `json:"data"`
}

func readAirbyte(t *testing.T) []airbyteLine {
	t.Helper()
	f, err := os.Open("testdata/airbyte-rest-orders-refunds-agreements-locations.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []airbyteLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l airbyteLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// agreementOrder rebuilds the GraphQL shape of an order_agreements line.
func agreementOrder(t *testing.T, l airbyteLine) gOrder {
	o := gOrder{ID: l.Data.AdminID, CreatedAt: l.Data.CreatedAt, ProcessedAt: l.Data.CreatedAt, UpdatedAt: l.Data.UpdatedAt}
	for _, a := range l.Data.Agreements {
		typ := map[string]string{"ORDER": "OrderAgreement", "REFUND": "RefundAgreement"}[a.Reason]
		ga := gAgreement{Typename: typ, ID: a.AdminID, HappenedAt: a.HappenedAt, Reason: a.Reason}
		for _, s := range a.Sales {
			q := s.Quantity
			ga.Sales.Nodes = append(ga.Sales.Nodes, gSale{Typename: "ProductSale", ActionType: s.ActionType, LineType: s.LineType,
				Quantity: &q, TotalAmount: s.Total.bag(t), TotalTaxAmount: s.Tax.bag(t), TotalDiscountAmountBeforeTaxes: s.Discount.bag(t),
				LineItem: &gLineItem{ID: s.LineItem.AdminID}})
		}
		o.Agreements.Edges = append(o.Agreements.Edges, agreementEdge{Node: ga})
	}
	return o
}

func TestAirbyteAgreementsNet(t *testing.T) {
	type sums struct {
		Net, Tax, Discounts string
		Items               int64
	}
	want := map[string]sums{
		// #1144, a tax-included shop (20% PDV): 19.00 paid, 3.17 of it tax.
		"gid://shopify/SalesAgreement/5366918480061": {"15.83", "3.17", "0.00", 1},
		// #1136: 59.00 less a 1.77 discount, then refunded in full an hour later.
		"gid://shopify/SalesAgreement/4945859805373": {"57.23", "0.00", "1.77", 1},
		"gid://shopify/SalesAgreement/4945913807037": {"-57.23", "0.00", "-1.77", -1},
		// Sold in September 2021, refunded in March 2022.
		"gid://shopify/SalesAgreement/4518978355389": {"27.00", "0.00", "0.00", 1},
		"gid://shopify/SalesAgreement/4816347431101": {"-27.00", "0.00", "0.00", -1},
	}
	got := map[string]sums{}
	for _, l := range readAirbyte(t) {
		if l.Stream != "order_agreements" {
			continue
		}
		o := agreementOrder(t, l)
		for _, e := range o.Agreements.Edges {
			var p part
			p.addAll(e.Node.Sales.Nodes)
			got[e.Node.ID] = sums{p.net.String(), p.tax.String(), p.discounts.String(), p.items}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("net per agreement (-want +got):\n%s", d)
	}
}

func TestAirbyteOrderBecomesSaleAndReturn(t *testing.T) {
	kyiv := zone(t, "Europe/Kyiv")
	imp := &Importer{shop: "airbyte-integration-test", bindings: map[string]binding{"63590301885": {location: "0001", zone: kyiv}}}
	var line airbyteLine
	for _, l := range readAirbyte(t) {
		if l.Stream == "order_agreements" && l.Data.ID == 4554821468349 {
			line = l
		}
	}
	o := agreementOrder(t, line)
	// The real order is a web order; read as if it had been rung up at the
	// store's till, it must give one sale and one return, an hour apart.
	o.Name, o.SourceName, o.CurrencyCode = "#1136", "pos", "USD"
	o.RetailLocation = &struct {
		ID string `json:"id"`
	}{"gid://shopify/Location/63590301885"}
	o.DisplayFinancialStatus = "REFUNDED"
	got := imp.convert(&o, imp.zoneFor, nil)
	rev := time.Date(2023, 4, 24, 14, 0, 37, 0, time.UTC).UnixMilli()
	want := []record.Record{
		{Type: "transaction", Key: "shopify:airbyte-integration-test:order:4554821468349", Source: "shopify", LocationID: "0001", RevHint: rev,
			Transaction: &record.Transaction{Kind: "sale", OccurredAt: time.Date(2022, 6, 15, 15, 16, 53, 0, kyiv), Receipt: "#1136",
				NetSales: record.MustMoney("57.23"), Discounts: record.MustMoney("1.77"), Currency: "USD", Items: 1, Paid: true,
				Lines: []record.Line{{Qty: 1, Net: record.MustMoney("57.23")}}}},
		{Type: "transaction", Key: "shopify:airbyte-integration-test:refund:4945913807037", Source: "shopify", LocationID: "0001", RevHint: rev,
			Transaction: &record.Transaction{Kind: "return", OccurredAt: time.Date(2022, 6, 15, 16, 25, 43, 0, kyiv), Receipt: "#1136",
				NetSales: record.MustMoney("-57.23"), Discounts: record.MustMoney("-1.77"), Currency: "USD", Items: -1, Paid: true,
				Lines: []record.Line{{Qty: -1, Net: record.MustMoney("-57.23")}}}},
	}
	if d := cmp.Diff(want, got.records, moneyEq); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if got.records[0].OccurredAt.Format(time.RFC3339) != "2022-06-15T15:16:53+03:00" {
		t.Errorf("got occurred_at %s, want the store's offset +03:00", got.records[0].OccurredAt.Format(time.RFC3339))
	}
}

func TestAirbyteOrdersAreNotPOS(t *testing.T) {
	imp := &Importer{shop: "airbyte-integration-test", bindings: map[string]binding{"63590301885": {location: "0001", zone: time.UTC}}}
	got := map[string]int{}
	for _, l := range readAirbyte(t) {
		if l.Stream != "orders" {
			continue
		}
		o := gOrder{ID: l.Data.AdminID, Name: l.Data.Name, SourceName: l.Data.SourceName, Test: l.Data.Test,
			CreatedAt: l.Data.CreatedAt, ProcessedAt: l.Data.ProcessedAt, UpdatedAt: l.Data.UpdatedAt, CurrencyCode: l.Data.Currency}
		if l.Data.LocationID != nil {
			o.RetailLocation = &struct {
				ID string `json:"id"`
			}{"gid://shopify/Location/63590301885"}
		}
		got[l.Data.Name+" "+l.Data.SourceName] = len(imp.convert(&o, imp.zoneFor, nil).records)
	}
	// Draft orders and a web test order: none is a Point of Sale sale.
	want := map[string]int{"#1143 shopify_draft_order": 0, "#1144 shopify_draft_order": 0, "#1136 web": 0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records per order (-want +got):\n%s", d)
	}
}
