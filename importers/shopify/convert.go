package shopify

import (
	"fmt"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// How an order becomes transactions (see README.md, "From orders to
// transactions"):
//
//   - the OrderAgreement and any OrderEditAgreement make the `sale`, at the
//     OrderAgreement's happenedAt (the order's processedAt), keyed by the
//     order: an edit is a new revision of the sale;
//   - each RefundAgreement or ReturnAgreement with product lines returned
//     makes a `return` at its happenedAt, keyed by the agreement;
//   - an exchange (a ReturnAgreement that also sells product lines: ORDER
//     sales) is one visit, so one transaction at its happenedAt, keyed by the
//     agreement, with both sides: net and items are their sums, and it is a
//     `sale` when the net is ≥ 0, else a `return`;
//   - a cancellation makes a `return` at cancelledAt, keyed by the order: it
//     carries the refund Shopify records at cancellation, and reverses
//     whatever that refund left, so a cancelled order nets to zero.
//
// Net sales are Shopify's: Σ over PRODUCT sales of totalAmount −
// totalTaxAmount (gross − discounts − returns, without tax). Shipping, tips,
// duties, fees and gift cards sold are not net sales.

const cancelMatch = 2 * time.Minute

// part sums the sales that make one transaction.
type part struct {
	net, tax, shipping, tips, discounts record.Money
	items                               int64
	products                            int
	lines                               []record.Line
	currency                            string
}

func (p *part) add(s gSale) {
	amt, tax := s.TotalAmount.ShopMoney.Amount, s.TotalTaxAmount.ShopMoney.Amount
	if p.currency == "" {
		p.currency = s.TotalAmount.ShopMoney.CurrencyCode
	}
	p.tax = p.tax.Add(tax)
	switch s.LineType {
	case "PRODUCT":
		net := amt.Sub(tax)
		q := int64(0)
		if s.Quantity != nil {
			q = *s.Quantity
		}
		if q > 0 && (s.ActionType == "RETURN" || net.Decimal().IsNegative()) {
			q = -q
		}
		p.net = p.net.Add(net)
		p.discounts = p.discounts.Add(s.TotalDiscountAmountBeforeTaxes.ShopMoney.Amount)
		p.items += q
		p.products++
		l := record.Line{Qty: q, Net: net}
		if li := s.LineItem; li != nil {
			l.SKU, l.Title = li.SKU, li.Name
			if li.Variant != nil {
				l.Barcode = li.Variant.Barcode
			}
		}
		p.lines = append(p.lines, l)
	case "SHIPPING":
		p.shipping = p.shipping.Add(amt.Sub(tax))
	case "TIP":
		p.tips = p.tips.Add(amt.Sub(tax))
	}
}

func (p *part) addAll(sales []gSale) {
	for _, s := range sales {
		p.add(s)
	}
}

// binding is one mapped Shopify location.
type binding struct {
	location string
	zone     *time.Location
	active   bool
}

// outcome is what became of one order.
type outcome struct {
	records  []record.Record
	note     string // an explanation for the operator
	unmapped string // the Shopify location id when it is not mapped
}

func isPOS(o *gOrder) bool {
	return o.SourceName == "pos" || (o.App != nil && o.App.Name == "Point of Sale")
}

func isSaleAgreement(a *gAgreement) bool {
	switch a.Typename {
	case "OrderAgreement", "OrderEditAgreement":
		return true
	case "RefundAgreement", "ReturnAgreement":
		return false
	}
	switch a.Reason {
	case "ORDER", "ORDER_EDIT":
		return true
	case "REFUND", "RETURN":
		return false
	}
	for _, s := range a.Sales.Nodes {
		if s.ActionType != "ORDER" {
			return false
		}
	}
	return true
}

// sellsProducts reports whether a return agreement also sells product
// lines: an exchange.
func sellsProducts(a *gAgreement) bool {
	for _, s := range a.Sales.Nodes {
		if s.ActionType == "ORDER" && s.LineType == "PRODUCT" {
			return true
		}
	}
	return false
}

func unpaid(status string) bool {
	switch status {
	case "PENDING", "AUTHORIZED", "PARTIALLY_PAID", "EXPIRED", "VOIDED":
		return true
	}
	return false
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// convert turns one order into its transactions. emit, when set, keeps only
// the records that occurred in [emit[0], emit[1]) (a backfill window).
func (i *Importer) convert(o *gOrder, zoneFor func(binding) *time.Location, emit *[2]time.Time) outcome {
	if o.Test || !isPOS(o) {
		return outcome{}
	}
	if o.RetailLocation == nil || o.RetailLocation.ID == "" {
		return outcome{note: fmt.Sprintf("order %s has no retail location: not imported; a POS order without one is usually a draft order marked as paid at the till (Shopify records no store for it)", o.Name)}
	}
	b, ok := i.bindings[numericID(o.RetailLocation.ID)]
	if !ok {
		return outcome{unmapped: o.RetailLocation.ID}
	}
	zone := zoneFor(b)
	orderID := numericID(o.ID)
	rev := o.UpdatedAt.UnixMilli()
	prefix := "shopify:" + i.shop + ":"
	mk := func(kind, key string, at time.Time, p *part, paid bool) record.Record {
		cur := p.currency
		if cur == "" {
			cur = o.CurrencyCode
		}
		staff := ""
		if key == prefix+"order:"+orderID && o.StaffMember != nil {
			staff = numericID(o.StaffMember.ID) // who rang up the sale; returns may be someone else's
		}
		return record.Record{
			Type: record.TypeTransaction, Key: key, Source: record.SourceShopify, LocationID: b.location, RevHint: rev,
			Transaction: &record.Transaction{
				Kind: kind, OccurredAt: at.In(zone), Receipt: o.Name, NetSales: p.net, Tax: p.tax, Shipping: p.shipping,
				Tips: p.tips, Discounts: p.discounts, Currency: cur, Items: p.items, StaffID: staff, Lines: p.lines, Paid: paid,
			},
		}
	}

	led := splitLedger(o)
	var recs []record.Record
	recs = append(recs, mk(record.KindSale, prefix+"order:"+orderID, led.saleAt, &led.sale, !unpaid(o.DisplayFinancialStatus)))
	for _, a := range led.others {
		var p part
		p.addAll(a.Sales.Nodes)
		aid := numericID(a.ID)
		switch {
		case sellsProducts(a):
			// An exchange: one visit, so one transaction with both sides,
			// a sale unless it paid money back.
			kind := record.KindSale
			if p.net.Decimal().IsNegative() {
				kind = record.KindReturn
			}
			recs = append(recs, mk(kind, prefix+"exchange:"+aid, a.HappenedAt, &p, true))
		case p.products > 0:
			recs = append(recs, mk(record.KindReturn, prefix+"refund:"+aid, a.HappenedAt, &p, true))
		}
	}
	if c, ok := led.cancellation(o); ok {
		recs = append(recs, mk(record.KindReturn, prefix+"cancel:"+orderID, *o.CancelledAt, &c, true))
	}
	out := outcome{}
	for _, r := range recs {
		if emit != nil && (r.OccurredAt.Before(emit[0]) || !r.OccurredAt.Before(emit[1])) {
			continue
		}
		if err := r.Validate(); err != nil {
			out.note = fmt.Sprintf("order %s: a transaction was not imported: %v", o.Name, err)
			continue
		}
		out.records = append(out.records, r)
	}
	return out
}

// ledger is an order's agreements sorted into the sale, the cancellation's
// and the others (refunds, returns, exchanges).
type ledger struct {
	sale, all   part
	saleAt      time.Time
	cancelParts []*gAgreement
	others      []*gAgreement
}

func splitLedger(o *gOrder) ledger {
	var l ledger
	for k := range o.Agreements.Edges {
		a := &o.Agreements.Edges[k].Node
		l.all.addAll(a.Sales.Nodes)
		switch {
		case isSaleAgreement(a):
			l.sale.addAll(a.Sales.Nodes)
			if a.Typename != "OrderEditAgreement" && a.Reason != "ORDER_EDIT" && (l.saleAt.IsZero() || a.HappenedAt.Before(l.saleAt)) {
				l.saleAt = a.HappenedAt
			}
		case o.CancelledAt != nil && absDur(a.HappenedAt.Sub(*o.CancelledAt)) <= cancelMatch:
			l.cancelParts = append(l.cancelParts, a)
		default:
			l.others = append(l.others, a)
		}
	}
	if l.saleAt.IsZero() {
		l.saleAt = o.ProcessedAt
		if l.saleAt.IsZero() {
			l.saleAt = o.CreatedAt
		}
	}
	return l
}

// cancellation is the cancel return of a cancelled order: the agreements
// recorded at cancellation, and whatever the ledger still counts after
// every agreement, reversed. It is false when there is nothing to record.
func (l *ledger) cancellation(o *gOrder) (part, bool) {
	var c part
	if o.CancelledAt == nil {
		return c, false
	}
	for _, a := range l.cancelParts {
		c.addAll(a.Sales.Nodes)
	}
	c.net = c.net.Sub(l.all.net)
	c.items -= l.all.items
	return c, len(l.cancelParts) > 0 || !l.all.net.IsZero() || l.all.items != 0
}
