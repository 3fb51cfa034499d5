package vendtest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Outlet is a store.
type Outlet struct {
	ID       string // a GUID; generated when empty
	Name     string
	TimeZone string // IANA
	Currency string // e.g. NZD; empty leaves the field out
}

// Register is a till of an outlet.
type Register struct {
	ID       string
	Name     string
	OutletID string
}

// User is a staff member.
type User struct {
	ID                  string
	Username            string
	DisplayName         string
	RestrictedOutletIDs []string
}

// Product is an item of the catalogue: what a sale line's product_id
// names. 2.0 sale lines carry no SKU; the importer reads it from here.
type Product struct {
	ID   string // generated when empty
	SKU  string
	Name string
}

// Line is one line of a sale. Amounts are decimal strings, excluding tax.
type Line struct {
	ProductID string
	Qty       string // negative for returned goods
	UnitPrice string // the price before the line discount
	Discount  string // unit discount ("" for none)
	TaxRate   string // e.g. "0.15" ("" for none)
	IsReturn  bool
}

// Sale is a sale, a return (ReturnFor set, negative quantities) or a parked,
// layby, on-account… sale.
type Sale struct {
	ID         string
	OutletID   string
	RegisterID string
	UserID     string
	Receipt    string
	// Status is Lightspeed's status (CLOSED, SAVED, ONACCOUNT, LAYBY,
	// LAYBY_CLOSED, VOIDED, …). State (parked, pending, voided, closed) is
	// derived from it when empty.
	Status string
	State  string
	// StateOnly leaves `status` out, as newer payloads may.
	StateOnly bool
	SaleDate  time.Time
	ReturnFor string
	Lines     []Line
}

// Shift is a timeclock span; Out nil while the person is clocked in.
type Shift struct {
	ID     string
	UserID string
	In     time.Time
	Out    *time.Time
}

// --- rows ---

type meta struct {
	version   int64
	created   time.Time
	updated   time.Time
	deletedAt *time.Time
}

func (m *meta) ver() int64    { return m.version }
func (m *meta) deleted() bool { return m.deletedAt != nil }

func (s *Server) touch(m *meta) {
	m.version = s.nextVersion()
	m.updated = s.now
	if m.created.IsZero() {
		m.created = s.now
	}
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

type outletRow struct {
	meta
	Outlet
}

func (o *outletRow) render(*Server) any {
	m := map[string]any{
		"id": o.ID, "name": o.Name, "time_zone": o.TimeZone, "default_tax_id": nil,
		"display_prices": "inclusive", "physical_city": "", "deleted_at": tsPtr(o.deletedAt),
		"version": o.version, "attributes": []any{},
	}
	if o.Currency != "" {
		m["currency"], m["currency_symbol"] = o.Currency, "$"
	}
	return m
}

type productRow struct {
	meta
	Product
}

func (p *productRow) render(*Server) any {
	return map[string]any{
		"id": p.ID, "source_id": nil, "name": p.Name, "variant_name": p.Name, "sku": p.SKU,
		"active": true, "is_active": true, "has_variants": false, "deleted_at": tsPtr(p.deletedAt),
		"created_at": ts(p.created), "updated_at": ts(p.updated), "version": p.version,
	}
}

type registerRow struct {
	meta
	Register
}

func (g *registerRow) render(*Server) any {
	return map[string]any{
		"id": g.ID, "name": g.Name, "outlet_id": g.OutletID, "invoice_prefix": "", "invoice_suffix": "",
		"is_open": true, "deleted_at": tsPtr(g.deletedAt), "version": g.version,
	}
}

type userRow struct {
	meta
	User
}

func (u *userRow) render(*Server) any {
	ids := u.RestrictedOutletIDs
	if ids == nil {
		ids = []string{}
	}
	var one any
	if len(ids) == 1 {
		one = ids[0]
	}
	return map[string]any{
		"id": u.ID, "username": u.Username, "display_name": u.DisplayName, "email": u.Username,
		"restricted_outlet_id": one, "restricted_outlet_ids": ids, "account_type": "cashier",
		"created_at": ts(u.created), "updated_at": ts(u.updated), "deleted_at": tsPtr(u.deletedAt),
		"version": u.version,
	}
}

type saleRow struct {
	meta
	Sale
}

func dec(s string) decimal.Decimal {
	if strings.TrimSpace(s) == "" {
		return decimal.Zero
	}
	return decimal.RequireFromString(s)
}

// num renders a decimal as a JSON number with at least places decimals, as
// Lightspeed writes line amounts (20.66116, 20.6611600000).
type num struct {
	d      decimal.Decimal
	places int32
}

func (n num) MarshalJSON() ([]byte, error) {
	p := max(n.places, -n.d.Exponent())
	return []byte(n.d.StringFixed(p)), nil
}

// stateOf derives the newer `state` from a status.
func stateOf(status string) string {
	switch status {
	case "CLOSED", "ONACCOUNT_CLOSED", "LAYBY_CLOSED", "DISPATCHED_CLOSED", "PICKED_UP_CLOSED", "SERVICE_CLOSED":
		return "closed"
	case "SAVED", "OPEN":
		return "parked"
	case "VOIDED":
		return "voided"
	}
	return "pending"
}

func (x *saleRow) render(s *Server) any {
	var lines []any
	total, tax := decimal.Zero, decimal.Zero
	for k, l := range x.Lines {
		q, unit, disc, rate := dec(l.Qty), dec(l.UnitPrice), dec(l.Discount), dec(l.TaxRate)
		price := unit.Sub(disc)
		utax := price.Mul(rate).Round(5)
		total = total.Add(price.Mul(q))
		tax = tax.Add(utax.Mul(q))
		lines = append(lines, map[string]any{
			"id":             fmt.Sprintf("%s-l%d", x.ID, k),
			"product_id":     l.ProductID,
			"quantity":       num{q, 5},
			"price":          num{price, 5},
			"unit_price":     num{price, 5},
			"discount":       num{disc, 5},
			"unit_discount":  num{disc, 5},
			"tax":            num{utax, 5},
			"unit_tax":       num{utax, 5},
			"price_total":    num{price.Mul(q), 10},
			"total_price":    num{price.Mul(q), 10},
			"discount_total": num{disc.Mul(q), 10},
			"total_discount": num{disc.Mul(q), 10},
			"tax_total":      num{utax.Mul(q), 10},
			"total_tax":      num{utax.Mul(q), 10},
			"is_return":      l.IsReturn || q.IsNegative(),
			"status":         "CONFIRMED",
			"sequence":       k,
		})
	}
	if lines == nil {
		lines = []any{}
	}
	state := x.State
	if state == "" {
		state = stateOf(x.Status)
	}
	var returnFor any
	if x.ReturnFor != "" {
		returnFor = x.ReturnFor
	}
	returnIDs := []string{}
	for _, o := range s.sales {
		if o.ReturnFor == x.ID {
			returnIDs = append(returnIDs, o.ID)
		}
	}
	sort.Strings(returnIDs)
	m := map[string]any{
		"id": x.ID, "outlet_id": x.OutletID, "register_id": x.RegisterID, "user_id": x.UserID,
		"customer_id": nil, "invoice_number": x.Receipt, "receipt_number": x.Receipt, "source": "USER",
		"state": state, "note": "", "short_code": shortCode(x.ID), "return_for": returnFor,
		"return_ids": returnIDs, "created_at": ts(x.created), "updated_at": ts(x.updated),
		"sale_date": ts(x.SaleDate), "deleted_at": tsPtr(x.deletedAt), "line_items": lines,
		"payments": []any{}, "adjustments": []any{}, "attributes": []any{}, "version": x.version,
		"total_price": num{total.Round(2), 2}, "total_tax": num{tax.Round(2), 2},
		"total_price_incl": num{total.Add(tax), 10},
	}
	if !x.StateOnly {
		m["status"] = x.Status
	}
	return m
}

type shiftRow struct {
	meta
	Shift
}

func tsMilli(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (x *shiftRow) render(*Server) any {
	var out any
	if x.Out != nil {
		out = tsMilli(*x.Out)
	}
	var del any
	if x.deletedAt != nil {
		del = tsMilli(*x.deletedAt)
	}
	return map[string]any{
		"id": x.ID, "retailer_id": "00000000-0001-0001-0001-000000000001", "user_id": x.UserID,
		"time_in": tsMilli(x.In), "time_out": out, "created_at": tsMilli(x.created),
		"updated_at": tsMilli(x.updated), "updated_by": x.UserID, "deleted_at": del, "version": x.version,
	}
}

// --- scenario builder ---

// AddOutlet adds an outlet and returns its id.
func (s *Server) AddOutlet(o Outlet) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == "" {
		o.ID = s.newID()
	}
	r := &outletRow{Outlet: o}
	s.touch(&r.meta)
	s.outlets[o.ID] = r
	return o.ID
}

// AddProduct adds a product and returns its id.
func (s *Server) AddProduct(p Product) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.newID()
	}
	r := &productRow{Product: p}
	s.touch(&r.meta)
	s.products[p.ID] = r
	return p.ID
}

// EditProduct changes a product (a new version).
func (s *Server) EditProduct(id string, edit func(*Product)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.products[id]
	if !ok {
		panic("vendtest: no product " + id)
	}
	edit(&r.Product)
	s.touch(&r.meta)
}

// DeleteOutlet marks an outlet deleted.
func (s *Server) DeleteOutlet(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustOutlet(id)
	now := s.now
	r.deletedAt = &now
	s.touch(&r.meta)
}

func (s *Server) mustOutlet(id string) *outletRow {
	r, ok := s.outlets[id]
	if !ok {
		panic("vendtest: no outlet " + id)
	}
	return r
}

// AddRegister adds a register and returns its id.
func (s *Server) AddRegister(g Register) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		g.ID = s.newID()
	}
	r := &registerRow{Register: g}
	s.touch(&r.meta)
	s.registers[g.ID] = r
	return g.ID
}

// AddUser adds a user and returns its id.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.newID()
	}
	r := &userRow{User: u}
	s.touch(&r.meta)
	s.users[u.ID] = r
	return u.ID
}

// EditUser changes a user (a new version).
func (s *Server) EditUser(id string, edit func(*User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		panic("vendtest: no user " + id)
	}
	edit(&r.User)
	s.touch(&r.meta)
}

// AddSale records a sale (created now) and returns its id.
func (s *Server) AddSale(x Sale) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.ID == "" {
		x.ID = s.newID()
	}
	if x.Receipt == "" {
		x.Receipt = fmt.Sprintf("%d", 1000+s.seq)
	}
	if x.SaleDate.IsZero() {
		x.SaleDate = s.now
	}
	r := &saleRow{Sale: x}
	s.touch(&r.meta)
	s.sales[x.ID] = r
	return x.ID
}

// EditSale changes a sale (a new version, updated now).
func (s *Server) EditSale(id string, edit func(*Sale)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustSale(id)
	edit(&r.Sale)
	s.touch(&r.meta)
}

// VoidSale sets a sale's status to VOIDED.
func (s *Server) VoidSale(id string) {
	s.EditSale(id, func(x *Sale) { x.Status, x.State = "VOIDED", "" })
}

// DeleteSale deletes a sale: it comes back in the feed with deleted_at (only
// to requests with deleted=true).
func (s *Server) DeleteSale(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustSale(id)
	now := s.now
	r.deletedAt = &now
	s.touch(&r.meta)
}

// SaleVersion is a sale's current version.
func (s *Server) SaleVersion(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustSale(id).version
}

func (s *Server) mustSale(id string) *saleRow {
	r, ok := s.sales[id]
	if !ok {
		panic("vendtest: no sale " + id)
	}
	return r
}

// AddShift records a shift (created now) and returns its id.
func (s *Server) AddShift(x Shift) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.ID == "" {
		x.ID = s.newID()
	}
	r := &shiftRow{Shift: x}
	s.touch(&r.meta)
	s.shifts[x.ID] = r
	return x.ID
}

// EditShift changes a shift (a new version, updated now): a clock-out, or a
// manager's correction days later.
func (s *Server) EditShift(id string, edit func(*Shift)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.shifts[id]
	if !ok {
		panic("vendtest: no shift " + id)
	}
	edit(&r.Shift)
	s.touch(&r.meta)
}

// DeleteShift deletes a shift.
func (s *Server) DeleteShift(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.shifts[id]
	if !ok {
		panic("vendtest: no shift " + id)
	}
	now := s.now
	r.deletedAt = &now
	s.touch(&r.meta)
}

func shortCode(id string) string {
	if len(id) > 6 {
		id = id[len(id)-6:]
	}
	return "s" + id
}
