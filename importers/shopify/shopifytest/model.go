package shopifytest

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Shop describes the shop the double plays.
type Shop struct {
	Name          string // the myshopify name: "acme" for acme.myshopify.com
	DisplayName   string // default "Acme"
	IANATimezone  string // default "America/Toronto"
	Currency      string // default "CAD"
	TaxesIncluded bool   // prices include tax (most of Europe); false for North America
}

// Location is one of the shop's locations.
type Location struct {
	ID     string // gid://shopify/Location/…, assigned by AddLocation
	Name   string
	Active bool
}

// Line is one line of a sale, as the till shows it.
type Line struct {
	Title    string
	SKU      string
	Barcode  string
	Qty      int
	Price    string // unit price; tax included in a tax-included shop
	Discount string // discount on the whole line (before tax); "" is none
	Tax      string // tax on the whole line after the discount; "" is none
	GiftCard bool   // a gift card sold (not a sale in Shopify's analytics)
}

// Order is a sale to add to the shop.
type Order struct {
	Name            string // "#1001"; numbered from #1001 when empty
	Source          string // sourceName: "pos" (default), "web", "shopify_draft_order", …
	App             string // the app's name; default "Point of Sale" for pos, else "Online Store"
	Location        string // retail location gid; empty leaves retailLocation null
	Staff           string // staff member gid, or empty
	ProcessedAt     time.Time
	CreatedAt       time.Time // default ProcessedAt
	Lines           []Line
	Shipping        string // shipping charged; "" is none
	ShippingTax     string
	Tip             string
	FinancialStatus string // displayFinancialStatus; default PAID
	Test            bool
}

// ReturnLine names units of one line of an order: Line indexes the order's
// lines in the order they were added (original lines, then lines added by
// exchanges and edits).
type ReturnLine struct {
	Line int
	Qty  int
}

// Refund is a refund made on an order, possibly days after the sale.
type Refund struct {
	At          time.Time
	Lines       []ReturnLine
	Shipping    string // shipping refunded; "" is none
	StoreCredit bool   // refunded to store credit instead of the original payment
}

// Exchange returns some units and sells new lines in the same visit, on the
// original order (Shopify creates no new order for it).
type Exchange struct {
	At     time.Time
	Return []ReturnLine
	New    []Line
}

// Edit changes an order after it was placed (order editing).
type Edit struct {
	At     time.Time
	Add    []Line
	Remove []ReturnLine
}

type lineItem struct {
	id       int64
	spec     Line
	price    decimal.Decimal
	disc     decimal.Decimal
	tax      decimal.Decimal
	returned int
	tip      bool
}

type sale struct {
	id       int64
	typ      string // ProductSale, ShippingLineSale, TipSale, GiftCardSale
	action   string // ORDER, RETURN, UPDATE
	lineType string // PRODUCT, SHIPPING, TIP, GIFT_CARD
	qty      *int
	total    decimal.Decimal
	tax      decimal.Decimal
	disc     decimal.Decimal
	line     *lineItem
}

type agreement struct {
	id     int64
	typ    string // OrderAgreement, RefundAgreement, ReturnAgreement, OrderEditAgreement
	reason string // ORDER, REFUND, RETURN, ORDER_EDIT
	at     time.Time
	sales  []*sale
	refund int64
}

type order struct {
	id          int64
	spec        Order
	createdAt   time.Time
	versions    []time.Time // every updatedAt the order has had, ascending
	cancelledAt *time.Time
	financial   string
	lines       []*lineItem
	shipping    decimal.Decimal
	shipTax     decimal.Decimal
	shipRefund  decimal.Decimal
	agreements  []*agreement
}

func (o *order) updatedAt() time.Time { return o.versions[len(o.versions)-1] }

func dec(s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		panic(fmt.Sprintf("shopifytest: %q is not a decimal amount", s))
	}
	return d
}

// alloc is the part of amount x that k of n units carry, rounded to cents so
// that the parts of a line always add up to the line.
func alloc(x decimal.Decimal, k, n int) decimal.Decimal {
	if n == 0 {
		return decimal.Zero
	}
	return x.Mul(decimal.NewFromInt(int64(k))).Div(decimal.NewFromInt(int64(n))).Round(2)
}

// AddLocation adds a location and returns its gid.
func (s *Server) AddLocation(name string, active bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	l := &Location{ID: "gid://shopify/Location/" + strconv.FormatInt(63590300000+s.seq, 10), Name: name, Active: active}
	s.locations = append(s.locations, l)
	return l.ID
}

// SetLocationActive activates or deactivates a location.
func (s *Server) SetLocationActive(gid string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.locations {
		if l.ID == gid {
			l.Active = active
		}
	}
}

// AddOrder adds an order with its OrderAgreement and returns its gid.
func (s *Server) AddOrder(spec Order) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orderSeq++
	o := &order{id: 5010000000000 + s.orderSeq, spec: spec, financial: spec.FinancialStatus}
	if o.spec.Name == "" {
		o.spec.Name = "#" + strconv.FormatInt(1000+s.orderSeq, 10)
	}
	if o.spec.Source == "" {
		o.spec.Source = "pos"
	}
	if o.spec.App == "" {
		o.spec.App = "Online Store"
		if o.spec.Source == "pos" {
			o.spec.App = "Point of Sale"
		}
	}
	if o.financial == "" {
		o.financial = "PAID"
	}
	o.createdAt = spec.CreatedAt
	if o.createdAt.IsZero() {
		o.createdAt = spec.ProcessedAt
	}
	if o.spec.ProcessedAt.IsZero() {
		o.spec.ProcessedAt = o.createdAt
	}
	o.versions = []time.Time{later(o.createdAt, o.spec.ProcessedAt).UTC()}
	ag := s.newAgreement("OrderAgreement", "ORDER", o.spec.ProcessedAt)
	for _, l := range spec.Lines {
		li := s.newLine(l)
		o.lines = append(o.lines, li)
		ag.sales = append(ag.sales, s.lineSale(li, "ORDER", li.spec.Qty, 0, false))
	}
	if spec.Shipping != "" {
		o.shipping, o.shipTax = dec(spec.Shipping), dec(spec.ShippingTax)
		total := o.shipping
		if !s.opts.Shop.TaxesIncluded {
			total = total.Add(o.shipTax)
		}
		ag.sales = append(ag.sales, s.newSale("ShippingLineSale", "ORDER", "SHIPPING", nil, total, o.shipTax, decimal.Zero, nil))
	}
	if spec.Tip != "" {
		li := s.newLine(Line{Title: "Tip", Qty: 1, Price: spec.Tip})
		li.tip = true
		o.lines = append(o.lines, li)
		one := 1
		ag.sales = append(ag.sales, s.newSale("TipSale", "ORDER", "TIP", &one, li.price, decimal.Zero, decimal.Zero, li))
	}
	o.agreements = append(o.agreements, ag)
	s.orders[o.id] = o
	s.index(o)
	return orderGID(o.id)
}

func orderGID(id int64) string { return "gid://shopify/Order/" + strconv.FormatInt(id, 10) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (s *Server) newLine(l Line) *lineItem {
	s.seq++
	return &lineItem{id: 12200000000000 + s.seq, spec: l, price: dec(l.Price), disc: dec(l.Discount), tax: dec(l.Tax)}
}

func (s *Server) newAgreement(typ, reason string, at time.Time) *agreement {
	s.seq++
	return &agreement{id: 5360000000000 + s.seq, typ: typ, reason: reason, at: at.UTC()}
}

func (s *Server) newSale(typ, action, lineType string, qty *int, total, tax, disc decimal.Decimal, li *lineItem) *sale {
	s.seq++
	return &sale{id: 15600000000000 + s.seq, typ: typ, action: action, lineType: lineType, qty: qty,
		total: total, tax: tax, disc: disc, line: li}
}

// lineSale is the sale of q units of a line (negative when returned), k of
// which were already returned before.
func (s *Server) lineSale(li *lineItem, action string, q, k int, negative bool) *sale {
	n := li.spec.Qty
	gross := li.price.Mul(decimal.NewFromInt(int64(n)))
	g := alloc(gross, k+q, n).Sub(alloc(gross, k, n))
	d := alloc(li.disc, k+q, n).Sub(alloc(li.disc, k, n))
	t := alloc(li.tax, k+q, n).Sub(alloc(li.tax, k, n))
	total := g.Sub(d)
	if !s.opts.Shop.TaxesIncluded {
		total = total.Add(t)
	}
	qty := q
	if negative {
		total, t, d, qty = total.Neg(), t.Neg(), d.Neg(), -q
	}
	typ, lineType := "ProductSale", "PRODUCT"
	switch {
	case li.spec.GiftCard:
		typ, lineType = "GiftCardSale", "GIFT_CARD"
	case li.tip:
		typ, lineType = "TipSale", "TIP"
	}
	return s.newSale(typ, action, lineType, &qty, total, t, d, li)
}

func (s *Server) mustOrder(gid string) *order {
	o := s.orders[numericID(gid)]
	if o == nil {
		panic("shopifytest: no order " + gid)
	}
	return o
}

func (s *Server) returnLines(o *order, ag *agreement, rls []ReturnLine) {
	for _, rl := range rls {
		if rl.Line < 0 || rl.Line >= len(o.lines) {
			panic(fmt.Sprintf("shopifytest: order %s has no line %d", o.spec.Name, rl.Line))
		}
		li := o.lines[rl.Line]
		if li.returned+rl.Qty > li.spec.Qty {
			panic(fmt.Sprintf("shopifytest: order %s line %d: cannot return %d more of %d (%d already)", o.spec.Name, rl.Line, rl.Qty, li.spec.Qty, li.returned))
		}
		ag.sales = append(ag.sales, s.lineSale(li, "RETURN", rl.Qty, li.returned, true))
		li.returned += rl.Qty
	}
}

// touch records a new updatedAt for an order.
func (s *Server) touch(o *order, at time.Time) {
	at = at.UTC()
	if last := o.updatedAt(); !at.After(last) {
		at = last.Add(time.Millisecond)
	}
	o.versions = append(o.versions, at)
	s.index(o)
}

func (o *order) allReturned() bool {
	for _, li := range o.lines {
		if li.returned < li.spec.Qty {
			return false
		}
	}
	return true
}

// Refund records a refund (a RefundAgreement at r.At) and returns the
// agreement's gid.
func (s *Server) Refund(orderGID string, r Refund) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrder(orderGID)
	ag := s.newAgreement("RefundAgreement", "REFUND", r.At)
	s.seq++
	ag.refund = 850000000000 + s.seq
	s.returnLines(o, ag, r.Lines)
	if r.Shipping != "" {
		amt := dec(r.Shipping)
		tax := decimal.Zero
		if !o.shipping.IsZero() {
			tax = o.shipTax.Mul(amt).Div(o.shipping).Round(2)
		}
		total := amt
		if !s.opts.Shop.TaxesIncluded {
			total = total.Add(tax)
		}
		o.shipRefund = o.shipRefund.Add(amt)
		ag.sales = append(ag.sales, s.newSale("ShippingLineSale", "RETURN", "SHIPPING", nil, total.Neg(), tax.Neg(), decimal.Zero, nil))
	}
	o.agreements = append(o.agreements, ag)
	o.financial = "PARTIALLY_REFUNDED"
	if o.allReturned() {
		o.financial = "REFUNDED"
	}
	s.touch(o, r.At)
	return "gid://shopify/SalesAgreement/" + strconv.FormatInt(ag.id, 10)
}

// Cancel cancels an order at a time: like Shopify, it records a
// RefundAgreement reversing everything not yet returned, and sets cancelledAt.
func (s *Server) Cancel(orderGID string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrder(orderGID)
	ag := s.newAgreement("RefundAgreement", "REFUND", at)
	s.seq++
	ag.refund = 850000000000 + s.seq
	var rls []ReturnLine
	for i, li := range o.lines {
		if li.returned < li.spec.Qty {
			rls = append(rls, ReturnLine{Line: i, Qty: li.spec.Qty - li.returned})
		}
	}
	s.returnLines(o, ag, rls)
	if left := o.shipping.Sub(o.shipRefund); left.IsPositive() {
		tax := o.shipTax.Mul(left).Div(o.shipping).Round(2)
		total := left
		if !s.opts.Shop.TaxesIncluded {
			total = total.Add(tax)
		}
		ag.sales = append(ag.sales, s.newSale("ShippingLineSale", "RETURN", "SHIPPING", nil, total.Neg(), tax.Neg(), decimal.Zero, nil))
		o.shipRefund = o.shipping
	}
	o.agreements = append(o.agreements, ag)
	t := at.UTC()
	o.cancelledAt = &t
	switch o.financial {
	case "PENDING", "AUTHORIZED":
		o.financial = "VOIDED"
	default:
		o.financial = "REFUNDED"
	}
	s.touch(o, at)
	return "gid://shopify/SalesAgreement/" + strconv.FormatInt(ag.id, 10)
}

// Exchange records an exchange (a ReturnAgreement with the returned units
// and the new lines) and returns the agreement's gid.
func (s *Server) Exchange(orderGID string, x Exchange) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrder(orderGID)
	ag := s.newAgreement("ReturnAgreement", "RETURN", x.At)
	s.returnLines(o, ag, x.Return)
	for _, l := range x.New {
		li := s.newLine(l)
		o.lines = append(o.lines, li)
		ag.sales = append(ag.sales, s.lineSale(li, "ORDER", li.spec.Qty, 0, false))
	}
	o.agreements = append(o.agreements, ag)
	s.touch(o, x.At)
	return "gid://shopify/SalesAgreement/" + strconv.FormatInt(ag.id, 10)
}

// EditOrder records an order edit (an OrderEditAgreement) and returns the
// agreement's gid.
func (s *Server) EditOrder(orderGID string, e Edit) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrder(orderGID)
	ag := s.newAgreement("OrderEditAgreement", "ORDER_EDIT", e.At)
	for _, rl := range e.Remove {
		li := o.lines[rl.Line]
		sl := s.lineSale(li, "UPDATE", rl.Qty, li.returned, true)
		li.returned += rl.Qty
		ag.sales = append(ag.sales, sl)
	}
	for _, l := range e.Add {
		li := s.newLine(l)
		o.lines = append(o.lines, li)
		ag.sales = append(ag.sales, s.lineSale(li, "ORDER", li.spec.Qty, 0, false))
	}
	o.agreements = append(o.agreements, ag)
	s.touch(o, e.At)
	return "gid://shopify/SalesAgreement/" + strconv.FormatInt(ag.id, 10)
}

// Touch changes an order without touching its money (a note, a tag, a
// fulfillment): only updatedAt moves.
func (s *Server) Touch(orderGID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touch(s.mustOrder(orderGID), at)
}

// DeleteOrder deletes an order: it disappears from every query.
func (s *Server) DeleteOrder(orderGID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.orders, numericID(orderGID))
}

// OrderCount is how many orders the shop holds.
func (s *Server) OrderCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// indexEntry is one version of one order in the search index.
type indexEntry struct {
	at time.Time
	id int64
}

func (s *Server) index(o *order) {
	e := indexEntry{o.updatedAt(), o.id}
	if n := len(s.entries); n > 0 && !s.dirty {
		last := s.entries[n-1]
		if e.at.Before(last.at) || e.at.Equal(last.at) && e.id < last.id {
			s.dirty = true
		}
	}
	s.entries = append(s.entries, e)
}

func (s *Server) sortedEntries() []indexEntry {
	if s.dirty {
		sort.Slice(s.entries, func(i, j int) bool {
			a, b := s.entries[i], s.entries[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.id < b.id
		})
		s.dirty = false
	}
	return s.entries
}

// visibleUpdatedAt is the updatedAt the search index knows for an order:
// writes reach the index only after the search lag.
func (s *Server) visibleUpdatedAt(o *order, now time.Time) (time.Time, bool) {
	limit := now.Add(-s.opts.SearchLag)
	for i := len(o.versions) - 1; i >= 0; i-- {
		if !o.versions[i].After(limit) {
			return o.versions[i], true
		}
	}
	return time.Time{}, false
}
