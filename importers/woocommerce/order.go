package woocommerce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tmas/storeagent/importers/record"
)

// wcTime is a WooCommerce date: "2017-03-22T19:28:02" without an offset
// (the *_gmt fields are UTC), or null.
type wcTime struct{ t time.Time }

func (w *wcTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		w.t = time.Time{}
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			w.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is not a WooCommerce date", s)
}

// qty is a line quantity: an integer in WooCommerce, a decimal with some
// plugins (sold by weight); items count whole units.
type qty struct{ d decimal.Decimal }

func (q *qty) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		q.d = decimal.Zero
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("quantity %q is not a number", s)
	}
	q.d = d
	return nil
}

func (q qty) units() int64 { return q.d.Round(0).IntPart() }

type apiMeta struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// str is the meta value as text (strings and numbers; other JSON as is).
func (m apiMeta) str() string {
	var s string
	if json.Unmarshal(m.Value, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(m.Value))
}

type apiLine struct {
	ID       int64        `json:"id"`
	Name     string       `json:"name"`
	SKU      string       `json:"sku"`
	Quantity qty          `json:"quantity"`
	Subtotal record.Money `json:"subtotal"`
	Total    record.Money `json:"total"`
	TotalTax record.Money `json:"total_tax"`
}

type apiShipping struct {
	Total    record.Money `json:"total"`
	TotalTax record.Money `json:"total_tax"`
}

type apiFee struct {
	Name     string       `json:"name"`
	Total    record.Money `json:"total"`
	TotalTax record.Money `json:"total_tax"`
}

type apiRefundRef struct {
	ID    int64        `json:"id"`
	Total record.Money `json:"total"`
}

// apiOrder is the part of an order the importer reads.
type apiOrder struct {
	ID               int64          `json:"id"`
	Number           string         `json:"number"`
	Status           string         `json:"status"`
	Currency         string         `json:"currency"`
	DateCreatedGMT   wcTime         `json:"date_created_gmt"`
	DateModifiedGMT  wcTime         `json:"date_modified_gmt"`
	DatePaidGMT      wcTime         `json:"date_paid_gmt"`
	DateCompletedGMT wcTime         `json:"date_completed_gmt"`
	DiscountTotal    record.Money   `json:"discount_total"`
	ShippingTotal    record.Money   `json:"shipping_total"`
	Total            record.Money   `json:"total"`
	TotalTax         record.Money   `json:"total_tax"`
	MetaData         []apiMeta      `json:"meta_data"`
	LineItems        []apiLine      `json:"line_items"`
	ShippingLines    []apiShipping  `json:"shipping_lines"`
	FeeLines         []apiFee       `json:"fee_lines"`
	Refunds          []apiRefundRef `json:"refunds"`
}

// apiRefund is one of GET /orders/{id}/refunds.
type apiRefund struct {
	ID             int64         `json:"id"`
	DateCreatedGMT wcTime        `json:"date_created_gmt"`
	Amount         record.Money  `json:"amount"`
	LineItems      []apiLine     `json:"line_items"`
	ShippingLines  []apiShipping `json:"shipping_lines"`
	FeeLines       []apiFee      `json:"fee_lines"`
}

func (o apiOrder) meta(key string) (string, bool) {
	for _, m := range o.MetaData {
		if m.Key == key {
			return m.str(), true
		}
	}
	return "", false
}

// neverCounted are statuses an order is in before it could ever have
// counted: they make no void.
var neverCounted = map[string]bool{"checkout-draft": true, "draft": true, "auto-draft": true}

// conv turns orders into records. It holds only configuration.
type conv struct {
	cfg  Config
	shop string
	tips map[string]bool
}

func newConv(cfg Config) conv {
	c := conv{cfg: cfg, shop: cfg.ShopID(), tips: map[string]bool{}}
	for _, n := range cfg.TipFees {
		c.tips[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return c
}

func (c conv) orderKey(id int64) string  { return fmt.Sprintf("woocommerce:%s:order:%d", c.shop, id) }
func (c conv) refundKey(id int64) string { return fmt.Sprintf("woocommerce:%s:refund:%d", c.shop, id) }

func (c conv) receipt(o apiOrder) string {
	n := o.Number
	if n == "" {
		n = fmt.Sprint(o.ID)
	}
	return c.cfg.Prefix() + n
}

// when is the time that places the order's sale in an hour.
func (c conv) when(o apiOrder) time.Time {
	switch c.cfg.DateType {
	case DatePaid:
		if !o.DatePaidGMT.t.IsZero() {
			return o.DatePaidGMT.t
		}
	case DateCompleted:
		if !o.DateCompletedGMT.t.IsZero() {
			return o.DateCompletedGMT.t
		}
	}
	return o.DateCreatedGMT.t
}

// amounts are a transaction's money, before rounding.
type amounts struct {
	net, tax, shipping, tips, discounts decimal.Decimal
	items                               int64
	lines                               []record.Line
}

// fees splits fee lines into net sales and tips, by the configuration.
func (c conv) fees(fees []apiFee, sign func(decimal.Decimal) decimal.Decimal) (net, tips, tax decimal.Decimal) {
	for _, f := range fees {
		t := sign(f.Total.Decimal())
		tax = tax.Add(sign(f.TotalTax.Decimal()))
		switch {
		case c.tips[strings.ToLower(strings.TrimSpace(f.Name))]:
			tips = tips.Add(t)
		case c.cfg.Fees == FeesInclude:
			net = net.Add(t)
		}
	}
	return net, tips, tax
}

func same(d decimal.Decimal) decimal.Decimal   { return d }
func negAbs(d decimal.Decimal) decimal.Decimal { return d.Abs().Neg() }

// saleAmounts: net = Σ line totals (after discounts, without tax) + fee
// totals (when fees count, tips never); shipping and all taxes apart.
func (c conv) saleAmounts(o apiOrder) (amounts, string) {
	var a amounts
	var lineSum decimal.Decimal
	for _, l := range o.LineItems {
		net := l.Total.Decimal()
		lineSum = lineSum.Add(net)
		a.items += l.Quantity.units()
		a.lines = append(a.lines, record.Line{SKU: l.SKU, Title: l.Name, Qty: l.Quantity.units(), Net: record.M(net)})
	}
	feeNet, tips, _ := c.fees(o.FeeLines, same)
	a.net = lineSum.Add(feeNet)
	a.tips = tips
	a.tax = o.TotalTax.Decimal()
	a.shipping = o.ShippingTotal.Decimal()
	a.discounts = o.DiscountTotal.Decimal()
	// The order's own total must agree with its lines: total − tax −
	// shipping = lines + every fee.
	var allFees decimal.Decimal
	for _, f := range o.FeeLines {
		allFees = allFees.Add(f.Total.Decimal())
	}
	want := o.Total.Decimal().Sub(a.tax).Sub(a.shipping)
	if got := lineSum.Add(allFees); !got.Equal(want) {
		return a, fmt.Sprintf("order %s: its lines and fees (%s) do not add up to total − tax − shipping (%s): the lines are used",
			c.receipt(o), got.StringFixed(2), want.StringFixed(2))
	}
	return a, ""
}

// refundAmounts: a refund's net is what WooCommerce Analytics counts as a
// return: −(amount − refunded tax − refunded shipping), i.e. the refunded
// lines and fees plus any amount refunded without lines. Line amounts count
// as negative whatever sign the payload gives them.
func (c conv) refundAmounts(r apiRefund) amounts {
	var a amounts
	var lines, tax, shipping decimal.Decimal
	for _, l := range r.LineItems {
		net := negAbs(l.Total.Decimal())
		lines = lines.Add(net)
		tax = tax.Add(negAbs(l.TotalTax.Decimal()))
		q := -abs64(l.Quantity.units())
		a.items += q
		a.lines = append(a.lines, record.Line{SKU: l.SKU, Title: l.Name, Qty: q, Net: record.M(net)})
	}
	for _, s := range r.ShippingLines {
		shipping = shipping.Add(negAbs(s.Total.Decimal()))
		tax = tax.Add(negAbs(s.TotalTax.Decimal()))
	}
	feeNet, tips, feeTax := c.fees(r.FeeLines, negAbs)
	var allFees decimal.Decimal
	for _, f := range r.FeeLines {
		allFees = allFees.Add(negAbs(f.Total.Decimal()))
	}
	tax = tax.Add(feeTax)
	// What the refund's amount holds beyond its itemised parts (a refund by
	// amount only) is net sales returned, as WooCommerce Analytics counts it.
	rest := negAbs(r.Amount.Decimal()).Sub(lines).Sub(allFees).Sub(shipping).Sub(tax)
	a.net = lines.Add(feeNet).Add(rest)
	a.tips, a.tax, a.shipping = tips, tax, shipping
	return a
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (c conv) transaction(kind string, at time.Time, zone *time.Location, o apiOrder, a amounts, paid bool) *record.Transaction {
	return &record.Transaction{
		Kind: kind, OccurredAt: at.In(zone), Receipt: c.receipt(o),
		NetSales: record.M(a.net).Round2(), Tax: record.M(a.tax).Round2(), Shipping: record.M(a.shipping).Round2(),
		Tips: record.M(a.tips).Round2(), Discounts: record.M(a.discounts).Round2(),
		Currency: strings.ToUpper(o.Currency), Items: a.items, Lines: a.lines, Paid: paid,
	}
}

func (c conv) rec(key, loc string, t *record.Transaction, hint int64) record.Record {
	return record.Record{Type: record.TypeTransaction, Key: key, Source: record.SourceWooCommerce, LocationID: loc, Transaction: t, RevHint: hint}
}

// orderRecords turns one order (with its refunds, when it has any and
// counts) into records: a sale and its returns, or voids of the same keys.
func (c conv) orderRecords(o apiOrder, refunds []apiRefund, loc string, zone *time.Location) ([]record.Record, []string, error) {
	if !c.cfg.Counts(o.Status) && neverCounted[o.Status] {
		return nil, nil, nil
	}
	if o.DateCreatedGMT.t.IsZero() {
		return nil, []string{fmt.Sprintf("order %s (id %d, status %s) has no creation date: not imported", c.receipt(o), o.ID, o.Status)}, nil
	}
	hint := o.DateModifiedGMT.t.UnixMilli()
	if o.DateModifiedGMT.t.IsZero() {
		hint = o.DateCreatedGMT.t.UnixMilli()
	}
	var out []record.Record
	var notes []string
	if !c.cfg.Counts(o.Status) {
		// An order that does not count (or no longer counts) is a void of
		// its sale and of each of its refunds: it nets to zero.
		void := c.transaction(record.KindVoid, c.when(o), zone, o, amounts{}, false)
		out = append(out, c.rec(c.orderKey(o.ID), loc, void, hint))
		for _, r := range o.Refunds {
			out = append(out, c.rec(c.refundKey(r.ID), loc, c.transaction(record.KindVoid, c.when(o), zone, o, amounts{}, false), hint))
		}
		return out, nil, validate(out)
	}
	a, note := c.saleAmounts(o)
	if note != "" {
		notes = append(notes, note)
	}
	out = append(out, c.rec(c.orderKey(o.ID), loc, c.transaction(record.KindSale, c.when(o), zone, o, a, !o.DatePaidGMT.t.IsZero()), hint))
	for _, r := range refunds {
		if r.DateCreatedGMT.t.IsZero() {
			notes = append(notes, fmt.Sprintf("refund %d of order %s has no date: not imported", r.ID, c.receipt(o)))
			continue
		}
		ra := c.refundAmounts(r)
		if ra.net.IsZero() && ra.items == 0 {
			continue // shipping, tax or tips only: no transaction
		}
		out = append(out, c.rec(c.refundKey(r.ID), loc, c.transaction(record.KindReturn, r.DateCreatedGMT.t, zone, o, ra, true), hint))
	}
	return out, notes, validate(out)
}

func validate(rs []record.Record) error {
	for k := range rs {
		if err := rs[k].Validate(); err != nil {
			return fmt.Errorf("woocommerce: %w", err)
		}
	}
	return nil
}
