package woocommercetest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// DefaultNow is where the double's clock starts.
var DefaultNow = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// Key permissions, as WooCommerce names them.
const (
	Read      = "read"
	Write     = "write"
	ReadWrite = "read_write"
)

// Modes make the whole site misbehave the way real ones do.
const (
	ModeNormal         = ""
	ModePermalinksOff  = "permalinks-off"  // /wp-json/ is a WordPress HTML 404; /?rest_route= works
	ModeNoWooCommerce  = "no-woocommerce"  // 404 rest_no_route for /wc/v3/
	ModeMaintenance    = "maintenance"     // 503 HTML page with Retry-After
	ModeSecurityPlugin = "security-plugin" // 200 HTML challenge page
)

// Line is an order line: Qty units at Price each (before the discount,
// without tax), less Discount for the whole line, plus Tax for the whole line.
type Line struct {
	Name, SKU string
	Qty       int
	Price     string
	Discount  string
	Tax       string
}

// Fee is a fee line (gift wrap, a surcharge, a tip plugin's tip). Tip
// marks a tip for Truth (never net sales); the API shows it as any fee.
type Fee struct {
	Name, Total, Tax string
	Tip              bool
}

// Order is an order as a test builds it.
type Order struct {
	Number    string // default: the id
	Status    string // default processing
	Currency  string // default CAD
	Created   time.Time
	Paid      time.Time // zero: not paid
	Completed time.Time
	Lines     []Line
	Shipping  string
	ShipTax   string
	Fees      []Fee
	Meta      map[string]string
}

// RefundLine refunds Qty units of the order's line at index Line, at the
// line's unit price after discount, with its tax share.
type RefundLine struct{ Line, Qty int }

// Refund is a refund as a test builds it.
type Refund struct {
	At       time.Time
	Lines    []RefundLine
	Shipping bool   // refund the whole shipping (and its tax)
	Extra    string // an amount refunded without lines
	Reason   string
}

type order struct {
	Order
	id       int64
	modified time.Time
	refunds  []*refund
	trashed  bool
}

type refund struct {
	Refund
	id int64
}

// Options configure the double.
type Options struct {
	// SiteZone is the WordPress time zone the non-GMT date fields use
	// (default UTC).
	SiteZone *time.Location
	// StripAuthorization plays a host that drops the Authorization header.
	StripAuthorization bool
	// IgnoreModifiedFilters plays WooCommerce older than 5.8.
	IgnoreModifiedFilters bool
	// Latency is added to every answer (a slow shared host), so that an
	// end-to-end test's kills land in the middle of a paginated import.
	Latency time.Duration
}

// Server is the double. Its exported methods are safe for concurrent use.
type Server struct {
	URL string

	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	now      time.Time
	nextID   int64
	keys     map[string]key
	orders   map[int64]*order
	mode     string
	retry    string
	faults   []fault
	requests []string
}

type key struct{ secret, perm string }

type fault struct {
	status int
	header http.Header
	body   string
}

// NewServer starts a TLS double, closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	if opts.SiteZone == nil {
		opts.SiteZone = time.UTC
	}
	s := &Server{opts: opts, now: DefaultNow, nextID: 100, keys: map[string]key{}, orders: map[int64]*order{}, retry: "120"}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server (a shop gone offline); NewServer's cleanup
// closes it too.
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client that trusts the double's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Certificate is the double's certificate in PEM, for a ca_file.
func (s *Server) Certificate() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// AddKey accepts a consumer key and secret with a permission.
func (s *Server) AddKey(ck, cs, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[ck] = key{cs, perm}
}

// SetNow sets the double's clock (the modification time of changes).
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = t
}

// SetMode makes the site misbehave (see the Mode constants).
func (s *Server) SetMode(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetRetryAfter sets the Retry-After of ModeMaintenance ("" for none).
func (s *Server) SetRetryAfter(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retry = v
}

// FailNext answers the next request with this status, headers and body.
func (s *Server) FailNext(status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{status, header, body})
}

// Requests are the requests served so far (path and query, credentials
// left out), for assertions on what the importer asked.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// AddOrder adds an order, created and modified at o.Created; it returns
// its id.
func (s *Server) AddOrder(o Order) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	if o.Status == "" {
		o.Status = "processing"
	}
	if o.Currency == "" {
		o.Currency = "CAD"
	}
	id := s.nextID
	if o.Number == "" {
		o.Number = strconv.FormatInt(id, 10)
	}
	s.orders[id] = &order{Order: o, id: id, modified: o.Created.UTC().Truncate(time.Second)}
	return id
}

// SetStatus changes an order's status at a time (date_modified moves).
func (s *Server) SetStatus(id int64, status string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	o.Status, o.modified = status, at.UTC().Truncate(time.Second)
	if status == "completed" && o.Completed.IsZero() {
		o.Completed = at
	}
}

// MarkPaid sets an order's payment date (date_modified moves).
func (s *Server) MarkPaid(id int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	o.Paid, o.modified = at, at.UTC().Truncate(time.Second)
}

// Trash moves an order to the trash at a time.
func (s *Server) Trash(id int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	o.trashed, o.modified = true, at.UTC().Truncate(time.Second)
}

// EditLines replaces an order's lines WITHOUT moving date_modified, as
// WooCommerce does for item edits (a known bug).
func (s *Server) EditLines(id int64, lines []Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[id].Lines = lines
}

// AddRefund refunds part of an order at r.At (date_modified moves); an
// order refunded in full goes to status refunded, as WooCommerce does.
// It returns the refund's id.
func (s *Server) AddRefund(id int64, r Refund) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	s.nextID++
	rf := &refund{Refund: r, id: s.nextID}
	o.refunds = append(o.refunds, rf)
	o.modified = r.At.UTC().Truncate(time.Second)
	var refunded decimal.Decimal
	for _, x := range o.refunds {
		refunded = refunded.Add(refundAmount(o, x))
	}
	if refunded.GreaterThanOrEqual(orderTotal(o)) {
		o.Status = "refunded"
	}
	return rf.id
}

func dec(s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	return decimal.RequireFromString(s)
}

func money(d decimal.Decimal) string { return d.StringFixed(2) }

func lineTotal(l Line) decimal.Decimal {
	return dec(l.Price).Mul(decimal.NewFromInt(int64(l.Qty))).Sub(dec(l.Discount))
}

// unit is a line's per-unit total and tax, used by refunds.
func unit(l Line) (decimal.Decimal, decimal.Decimal) {
	q := decimal.NewFromInt(int64(l.Qty))
	return lineTotal(l).Div(q), dec(l.Tax).Div(q)
}

func orderTax(o *order) decimal.Decimal {
	t := dec(o.ShipTax)
	for _, l := range o.Lines {
		t = t.Add(dec(l.Tax))
	}
	for _, f := range o.Fees {
		t = t.Add(dec(f.Tax))
	}
	return t
}

func orderTotal(o *order) decimal.Decimal {
	t := dec(o.Shipping).Add(orderTax(o))
	for _, l := range o.Lines {
		t = t.Add(lineTotal(l))
	}
	for _, f := range o.Fees {
		t = t.Add(dec(f.Total))
	}
	return t
}

func refundAmount(o *order, r *refund) decimal.Decimal {
	a := dec(r.Extra)
	for _, rl := range r.Lines {
		u, tax := unit(o.Lines[rl.Line])
		q := decimal.NewFromInt(int64(rl.Qty))
		a = a.Add(u.Mul(q).Round(2)).Add(tax.Mul(q).Round(2))
	}
	if r.Shipping {
		a = a.Add(dec(o.Shipping)).Add(dec(o.ShipTax))
	}
	return a
}

// --- HTTP ---

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	logged := url.Values{}
	for k, v := range q {
		if k != "consumer_key" && k != "consumer_secret" {
			logged[k] = v
		}
	}
	route, pretty := "", false
	switch {
	case strings.HasPrefix(r.URL.Path, "/wp-json/"):
		route, pretty = strings.TrimPrefix(r.URL.Path, "/wp-json"), true
	case (r.URL.Path == "/" || r.URL.Path == "") && q.Get("rest_route") != "":
		route = q.Get("rest_route")
		logged.Del("rest_route")
	}
	s.requests = append(s.requests, route+"?"+logged.Encode())
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		for k, v := range f.header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		}
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.body)
		return
	}
	switch s.mode {
	case ModeMaintenance:
		if s.retry != "" {
			w.Header().Set("Retry-After", s.retry)
		}
		html(w, http.StatusServiceUnavailable, "Maintenance", "Briefly unavailable for scheduled maintenance. Check back in a minute.")
		return
	case ModeSecurityPlugin:
		html(w, http.StatusOK, "Just a moment...", "Checking your browser before accessing the site.")
		return
	case ModePermalinksOff:
		if pretty {
			html(w, http.StatusNotFound, "Page not found – Shop", "It looks like nothing was found at this location.")
			return
		}
	}
	if route == "" {
		html(w, http.StatusOK, "Shop", "Welcome")
		return
	}
	if s.mode == ModeNoWooCommerce && strings.HasPrefix(route, "/wc/") {
		wpErr(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	switch {
	case route == "/wc/v3/orders":
		s.listOrders(w, r)
	case strings.HasPrefix(route, "/wc/v3/orders/") && strings.HasSuffix(route, "/refunds"):
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(route, "/wc/v3/orders/"), "/refunds"), 10, 64)
		o, ok := s.orders[id]
		if err != nil || !ok {
			wpErr(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
			return
		}
		s.listRefunds(w, o)
	case route == "/wc/v3/reports/orders/totals":
		s.statusTotals(w)
	default:
		wpErr(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
	}
}

func html(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><p>%s</p></body></html>\n", title, body)
}

func wpErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"code": code, "message": msg, "data": map[string]int{"status": status}})
	w.Write(b)
}

// authorized checks the key as WooCommerce's REST authentication does
// over HTTPS: HTTP Basic, else consumer_key/consumer_secret in the query.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	ck, cs, ok := r.BasicAuth()
	if s.opts.StripAuthorization {
		ok = false
	}
	if !ok {
		ck, cs = r.URL.Query().Get("consumer_key"), r.URL.Query().Get("consumer_secret")
	}
	if ck == "" {
		// Anonymous: WordPress lets the request through, the controller refuses it.
		wpErr(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return false
	}
	k, known := s.keys[ck]
	switch {
	case !known:
		wpErr(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
		return false
	case k.secret != cs:
		wpErr(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
		return false
	case k.perm == Write:
		wpErr(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "The API key provided does not have read permissions.")
		return false
	}
	return true
}

// date reads a date parameter: GMT with dates_are_gmt, else site time.
func (s *Server) date(q url.Values, name string) (time.Time, bool, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	zone := s.opts.SiteZone
	if q.Get("dates_are_gmt") == "true" || q.Get("dates_are_gmt") == "1" {
		zone = time.UTC
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, zone); err == nil {
			return t, true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%s %q is not a date", name, v)
}

var orderbys = []string{"date", "id", "include", "title", "slug"}

// listQuery is a parsed GET /wc/v3/orders query.
type listQuery struct {
	perPage, page int
	orderby       string
	desc          bool
	statuses      []string
	// bounds are modified_after, modified_before, after and before; has
	// says which were given.
	bounds [4]time.Time
	has    [4]bool
}

// parseList reads a list query as WooCommerce does; on a bad parameter it
// returns that parameter's name.
func (s *Server) parseList(q url.Values) (listQuery, string) {
	l := listQuery{perPage: 10, page: 1, orderby: "date", statuses: []string{"any"}}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return l, "per_page"
		}
		l.perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return l, "page"
		}
		l.page = n
	}
	if v := q.Get("orderby"); v != "" {
		l.orderby = v
	}
	if !slices.Contains(orderbys, l.orderby) {
		return l, "orderby"
	}
	l.desc = q.Get("order") != "asc"
	if v := q.Get("status"); v != "" {
		l.statuses = strings.Split(v, ",")
	}
	for k, name := range []string{"modified_after", "modified_before", "after", "before"} {
		t, ok, err := s.date(q, name)
		if err != nil {
			return l, name
		}
		l.bounds[k], l.has[k] = t, ok
	}
	if s.opts.IgnoreModifiedFilters {
		l.has[0], l.has[1] = false, false
	}
	return l, ""
}

// matches says whether an order is in a list query's statuses and bounds.
func (l *listQuery) matches(o *order) bool {
	st := o.Status
	if o.trashed {
		st = "trash"
	}
	match := false
	for _, want := range l.statuses {
		match = match || want == st || (want == "any" && st != "trash")
	}
	created := o.Created.UTC().Truncate(time.Second)
	switch {
	case !match:
	case l.has[0] && !o.modified.After(l.bounds[0]):
	case l.has[1] && !o.modified.Before(l.bounds[1]):
	case l.has[2] && !created.After(l.bounds[2]):
	case l.has[3] && !created.Before(l.bounds[3]):
	default:
		return true
	}
	return false
}

// compare orders two orders as the query's orderby and order ask, by id
// among equals.
func (l *listQuery) compare(a, b *order) int {
	c := 0
	if l.orderby == "date" {
		c = a.Created.Truncate(time.Second).Compare(b.Created.Truncate(time.Second))
	}
	if c == 0 {
		c = int(a.id - b.id)
	}
	if l.desc {
		c = -c
	}
	return c
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l, bad := s.parseList(q)
	if bad != "" {
		wpErr(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+bad)
		return
	}
	var list []*order
	for _, o := range s.orders {
		if l.matches(o) {
			list = append(list, o)
		}
	}
	slices.SortFunc(list, l.compare)
	total := len(list)
	pages := (total + l.perPage - 1) / l.perPage
	from := min((l.page-1)*l.perPage, total)
	to := min(from+l.perPage, total)
	out := make([]map[string]any, 0, to-from)
	for _, o := range list[from:to] {
		out = append(out, s.orderJSON(o))
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	if links := s.pageLinks(q, l.page, pages); len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, out)
}

// pageLinks are the Link header's prev and next pages, with the query
// (less the credentials) of the request.
func (s *Server) pageLinks(q url.Values, page, pages int) []string {
	var links []string
	link := func(p int, rel string) {
		q2 := url.Values{}
		for k, v := range q {
			if k != "consumer_key" && k != "consumer_secret" {
				q2[k] = v
			}
		}
		q2.Set("page", strconv.Itoa(p))
		links = append(links, fmt.Sprintf(`<%s/wp-json/wc/v3/orders?%s>; rel="%s"`, s.URL, q2.Encode(), rel))
	}
	if page > 1 && page-1 <= pages {
		link(page-1, "prev")
	}
	if page < pages {
		link(page+1, "next")
	}
	return links
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	b, _ := json.Marshal(v)
	w.Write(b)
}

// dates renders a date pair as WooCommerce does: site-local and GMT, both
// without an offset; null when zero.
func (s *Server) dates(m map[string]any, name string, t time.Time) {
	if t.IsZero() {
		m[name], m[name+"_gmt"] = nil, nil
		return
	}
	t = t.Truncate(time.Second)
	m[name] = t.In(s.opts.SiteZone).Format("2006-01-02T15:04:05")
	m[name+"_gmt"] = t.UTC().Format("2006-01-02T15:04:05")
}

func (s *Server) orderJSON(o *order) map[string]any {
	status := o.Status
	if o.trashed {
		status = "trash"
	}
	m := map[string]any{
		"id": o.id, "parent_id": 0, "number": o.Number, "order_key": fmt.Sprintf("wc_order_%d", o.id),
		"created_via": "checkout", "version": "9.4.0", "status": status, "currency": o.Currency,
		"prices_include_tax": false, "customer_id": 0, "payment_method": "stripe", "payment_method_title": "Credit Card (Stripe)",
	}
	s.dates(m, "date_created", o.Created)
	s.dates(m, "date_modified", o.modified)
	s.dates(m, "date_paid", o.Paid)
	s.dates(m, "date_completed", o.Completed)
	var lineTax, discount decimal.Decimal
	var lines []map[string]any
	for k, l := range o.Lines {
		sub := dec(l.Price).Mul(decimal.NewFromInt(int64(l.Qty)))
		tot := lineTotal(l)
		lineTax = lineTax.Add(dec(l.Tax))
		discount = discount.Add(dec(l.Discount))
		price, _ := tot.Div(decimal.NewFromInt(int64(l.Qty))).Float64()
		lines = append(lines, map[string]any{
			"id": o.id*100 + int64(k), "name": l.Name, "product_id": 10 + k, "variation_id": 0, "quantity": l.Qty, "tax_class": "",
			"subtotal": money(sub), "subtotal_tax": money(dec(l.Tax)), "total": money(tot), "total_tax": money(dec(l.Tax)),
			"taxes": []any{}, "meta_data": []any{}, "sku": l.SKU, "price": price,
		})
	}
	if lines == nil {
		lines = []map[string]any{}
	}
	fees := []map[string]any{}
	for k, f := range o.Fees {
		fees = append(fees, map[string]any{"id": o.id*100 + 50 + int64(k), "name": f.Name, "tax_class": "", "tax_status": "taxable",
			"amount": f.Total, "total": money(dec(f.Total)), "total_tax": money(dec(f.Tax)), "taxes": []any{}, "meta_data": []any{}})
	}
	shipping := []map[string]any{}
	if o.Shipping != "" {
		shipping = append(shipping, map[string]any{"id": o.id*100 + 90, "method_title": "Flat rate", "method_id": "flat_rate",
			"total": money(dec(o.Shipping)), "total_tax": money(dec(o.ShipTax)), "taxes": []any{}, "meta_data": []any{}})
	}
	meta := []map[string]any{}
	for _, k := range slices.Sorted(mapKeys(o.Meta)) {
		meta = append(meta, map[string]any{"id": len(meta) + 1, "key": k, "value": o.Meta[k]})
	}
	refs := []map[string]any{}
	for k := len(o.refunds) - 1; k >= 0; k-- { // newest first, as WooCommerce lists them
		rf := o.refunds[k]
		refs = append(refs, map[string]any{"id": rf.id, "reason": rf.Reason, "total": money(refundAmount(o, rf).Neg())})
	}
	m["discount_total"] = money(discount)
	m["discount_tax"] = "0.00"
	m["shipping_total"] = money(dec(o.Shipping))
	m["shipping_tax"] = money(dec(o.ShipTax))
	m["cart_tax"] = money(lineTax)
	m["total"] = money(orderTotal(o))
	m["total_tax"] = money(orderTax(o))
	m["line_items"], m["fee_lines"], m["shipping_lines"] = lines, fees, shipping
	m["tax_lines"], m["coupon_lines"], m["meta_data"], m["refunds"] = []any{}, []any{}, meta, refs
	m["billing"] = map[string]string{"first_name": "Test", "last_name": "Customer", "email": "customer@example.com"}
	return m
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *Server) listRefunds(w http.ResponseWriter, o *order) {
	out := []map[string]any{}
	for k := len(o.refunds) - 1; k >= 0; k-- {
		rf := o.refunds[k]
		m := map[string]any{"id": rf.id, "amount": money(refundAmount(o, rf)), "reason": rf.Reason, "refunded_by": 1,
			"refunded_payment": true, "meta_data": []any{}, "tax_lines": []any{}, "fee_lines": []any{}}
		s.dates(m, "date_created", rf.At)
		lines := []map[string]any{}
		for n, rl := range rf.Lines {
			l := o.Lines[rl.Line]
			u, tax := unit(l)
			q := decimal.NewFromInt(int64(rl.Qty))
			price, _ := u.Float64()
			lines = append(lines, map[string]any{
				"id": rf.id*100 + int64(n), "name": l.Name, "product_id": 10 + rl.Line, "variation_id": 0, "quantity": -rl.Qty, "tax_class": "",
				"subtotal": money(u.Mul(q).Neg()), "subtotal_tax": money(tax.Mul(q).Neg()), "total": money(u.Mul(q).Neg()), "total_tax": money(tax.Mul(q).Neg()),
				"taxes": []any{}, "sku": l.SKU, "price": price,
				"meta_data": []map[string]any{{"id": 1, "key": "_refunded_item_id", "value": strconv.FormatInt(o.id*100+int64(rl.Line), 10)}},
			})
		}
		m["line_items"] = lines
		shipping := []map[string]any{}
		if rf.Shipping {
			shipping = append(shipping, map[string]any{"id": rf.id*100 + 90, "method_title": "Flat rate", "method_id": "flat_rate",
				"total": money(dec(o.Shipping).Neg()), "total_tax": money(dec(o.ShipTax).Neg()), "taxes": []any{}, "meta_data": []any{}})
		}
		m["shipping_lines"] = shipping
		out = append(out, m)
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(len(out)))
	w.Header().Set("X-WP-TotalPages", "1")
	writeJSON(w, out)
}

var statusNames = []struct{ slug, name string }{
	{"pending", "Pending payment"}, {"processing", "Processing"}, {"on-hold", "On hold"}, {"completed", "Completed"},
	{"cancelled", "Cancelled"}, {"refunded", "Refunded"}, {"failed", "Failed"}, {"checkout-draft", "Draft"},
}

func (s *Server) statusTotals(w http.ResponseWriter) {
	count := map[string]int{}
	for _, o := range s.orders {
		if !o.trashed {
			count[o.Status]++
		}
	}
	out := []map[string]any{}
	for _, st := range statusNames {
		out = append(out, map[string]any{"slug": st.slug, "name": st.name, "total": count[st.slug]})
	}
	writeJSON(w, out)
}
