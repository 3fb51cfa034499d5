package shopify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Options are what the agent (or a test) provides besides the configuration.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// Sleep waits for d unless ctx ends first (rate-limit pacing, back-off,
	// bulk polling); tests give a virtual clock's.
	Sleep func(ctx context.Context, d time.Duration) error
	// BulkPoll is how often a running bulk operation is polled (default 5s);
	// BulkWait how long one Fetch waits for it (default 2h).
	BulkPoll time.Duration
	BulkWait time.Duration
}

// Importer reads a shop's Point of Sale orders as transactions.
type Importer struct {
	cfg      Config
	shop     string
	c        *client
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	bindings map[string]binding // by numeric Shopify location id
	bulkPoll time.Duration
	bulkWait time.Duration

	mu         sync.Mutex
	first      int     // orders per page
	agFirst    int     // agreements per order in a page
	salesFirst int     // sales per agreement in a page
	scale      float64 // requested cost Shopify counts ÷ the cost orderCost predicts
	maxCost    float64
	shopZone   *time.Location
	scopes     map[string]bool
	// staffDenied: Shopify denied staffMember despite read_users (the
	// shop's plan).
	staffDenied bool
}

// The shape the agent calls (its own interface is declared there, by the
// consumer; this guard keeps the two in step without importing the agent).
var _ interface {
	Name() string
	Fetch(ctx context.Context, cursor []byte) (record.Page, error)
	BackfillCursor(since, until time.Time) ([]byte, error)
	Locations(ctx context.Context) ([]record.Location, error)
	Check(ctx context.Context) []record.Finding
} = (*Importer)(nil)

// Name is the source's name.
func (i *Importer) Name() string { return record.SourceShopify }

// New builds an importer: it validates the configuration, reads the secret
// and the location mapping, and calls nothing.
func New(cfg Config, bindings []record.Binding, opts Options) (*Importer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 90 * time.Second
		tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = retry.Sleep
	}
	if opts.BulkPoll <= 0 {
		opts.BulkPoll = 5 * time.Second
	}
	if opts.BulkWait <= 0 {
		opts.BulkWait = 2 * time.Hour
	}
	shop := cfg.ShopName()
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://" + shop + ".myshopify.com"
	}
	log := opts.Logger
	c := &client{hc: opts.HTTPClient, log: log, now: opts.Now, sleep: opts.Sleep, shop: shop, base: base, version: cfg.APIVersion}
	if ref := cfg.TokenRef(); ref.IsSet() {
		tok, err := ref.Resolve()
		if err != nil {
			return nil, fmt.Errorf("shopify.token: %w", err)
		}
		c.legacy = tok
	} else {
		sec, err := cfg.ClientSecretRef().Resolve()
		if err != nil {
			return nil, fmt.Errorf("shopify.client_secret: %w", err)
		}
		c.clientID, c.secret = cfg.ClientID, sec
	}
	i := &Importer{cfg: cfg, shop: shop, c: c, log: log, now: opts.Now, sleep: opts.Sleep, bindings: map[string]binding{},
		bulkPoll: opts.BulkPoll, bulkWait: opts.BulkWait,
		agFirst: agreementsFirst, salesFirst: salesFirst, scale: 1, maxCost: maxQueryCost}
	i.first = i.fit()
	var errs []error
	for _, b := range bindings {
		id := numericID(strings.TrimSpace(b.SourceID))
		if id == "" || strings.Trim(id, "0123456789") != "" || (strings.Contains(b.SourceID, "/") && !strings.HasPrefix(strings.TrimSpace(b.SourceID), "gid://shopify/Location/")) {
			errs = append(errs, fmt.Errorf("shopify: location %s: %q is not a Shopify location id (a number such as 1234567890, or gid://shopify/Location/1234567890)", b.LocationID, b.SourceID))
			continue
		}
		if prev, dup := i.bindings[id]; dup {
			errs = append(errs, fmt.Errorf("shopify: locations %s and %s are both mapped to Shopify location %s", prev.location, b.LocationID, id))
			continue
		}
		i.bindings[id] = binding{location: b.LocationID, zone: b.Zone, active: b.Active}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return i, nil
}

// Page sizes. A page of orders asks for agFirst agreements per order and
// salesFirst sales per agreement, sized after each page for the orders of
// that page (see resize); the orders that overflow are completed by
// follow-up queries. The number of orders per
// page is then the most the single-query cost limit allows, at the
// requested cost Shopify counted for the last page.

// perOrder is the requested cost of one order, as Shopify counts it
// (under i.mu).
func (i *Importer) perOrder() float64 {
	return orderCost(i.staffLocked(), i.agFirst, i.salesFirst) * i.scale
}

// fit is how many orders a page may ask for within the single-query cost
// limit and the configured page size (under i.mu).
func (i *Importer) fit() int {
	n := int(math.Floor((i.maxCost - 2) / i.perOrder()))
	return max(1, min(n, i.cfg.PageSize))
}

// shape is the next page's sizes and requested cost.
type shape struct {
	first, agreements, sales int
	cost                     float64
}

func (i *Importer) pageShape() shape {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.first = i.fit()
	return shape{first: i.first, agreements: i.agFirst, sales: i.salesFirst, cost: 2 + float64(i.first)*i.perOrder()}
}

// learn calibrates the cost model to the cost Shopify actually requested.
func (i *Importer) learn(sh shape, ci *costInfo) {
	if ci == nil || ci.RequestedQueryCost <= 2 || sh.first <= 0 {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.scale = (ci.RequestedQueryCost - 2) / float64(sh.first) / orderCost(i.staffLocked(), sh.agreements, sh.sales)
}

// resize sizes the nested connections for the orders of the last page:
// the sizes that make the fewest requests per order, counting a page of as
// many orders as the cost limit allows with those sizes, plus one
// follow-up for each order that would overflow them.
func (i *Importer) resize(orders []gOrder) {
	if len(orders) == 0 {
		return
	}
	shapes := make([][2]int, len(orders)) // per order: agreements, most sales of one agreement
	for k := range orders {
		a := &orders[k].Agreements
		shapes[k][0] = len(a.Edges) + b2i(a.PageInfo.HasNextPage)
		for _, e := range a.Edges {
			shapes[k][1] = max(shapes[k][1], len(e.Node.Sales.Nodes)+b2i(e.Node.Sales.PageInfo.HasNextPage))
		}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.agFirst, i.salesFirst = bestNested(shapes, func(a, s int) int {
		return max(1, min(int(math.Floor((i.maxCost-2)/(orderCost(i.staffLocked(), a, s)*i.scale))), i.cfg.PageSize))
	})
}

// bestNested picks the agreements and sales per order that minimise the
// requests per order, given the orders' shapes and how many orders fit a
// page at each size.
func bestNested(shapes [][2]int, fit func(a, s int) int) (int, int) {
	as, ss := map[int]bool{1: true}, map[int]bool{1: true}
	for _, sh := range shapes {
		as[max(1, min(sh[0], maxNestedFirst))] = true
		ss[max(1, min(sh[1], maxNestedFirst))] = true
	}
	bestA, bestS, best := 1, 1, math.Inf(1)
	for _, a := range sortedInts(as) {
		for _, s := range sortedInts(ss) {
			over := 0
			for _, sh := range shapes {
				if sh[0] > a || sh[1] > s {
					over++
				}
			}
			if r := 1/float64(fit(a, s)) + float64(over)/float64(len(shapes)); r < best-1e-12 {
				bestA, bestS, best = a, s, r
			}
		}
	}
	return bestA, bestS
}

func sortedInts(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shrink lowers the page size after MAX_COST_EXCEEDED; false when it cannot.
func (i *Importer) shrink(sh shape, mc *maxCostError) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if sh.first <= 1 {
		return false
	}
	if mc.max > 0 {
		i.maxCost = mc.max
	}
	if mc.cost > 2 {
		i.scale = (mc.cost - 2) / float64(sh.first) / orderCost(i.staffLocked(), sh.agreements, sh.sales)
	}
	i.first = min(i.fit(), sh.first/2)
	i.log.Info("query too expensive, asking fewer orders per page", "cost", mc.cost, "limit", mc.max, "orders_per_page", i.first)
	return true
}

// Fetch reads one page of orders and returns their transactions with the
// cursor to resume from.
func (i *Importer) Fetch(ctx context.Context, cursor []byte) (record.Page, error) {
	now := i.now()
	var st *cursorState
	if len(cursor) == 0 {
		st = &cursorState{V: cursorVersion, Kind: kindIncremental,
			Since: now.Add(-time.Duration(i.cfg.BackfillDays) * 24 * time.Hour).Truncate(time.Second).UTC(),
			Until: now.Add(-i.cfg.Lag.D()).Truncate(time.Second).UTC()}
	} else {
		var err error
		if st, err = decodeCursor(cursor); err != nil {
			return record.Page{}, err
		}
		if st.Done {
			if st.Kind == kindBackfill {
				return record.Page{Cursor: cursor}, nil
			}
			next := &cursorState{V: cursorVersion, Kind: kindIncremental, Since: st.Until.Add(-i.cfg.Lookback.D()),
				Until: now.Add(-i.cfg.Lag.D()).Truncate(time.Second).UTC()}
			if !next.Since.Before(next.Until) {
				return record.Page{Cursor: cursor}, nil
			}
			st = next
		}
	}
	var page record.Page
	if err := i.loadShop(ctx); err != nil { // the zone and the scopes, once
		return record.Page{}, err
	}
	if st.After == "" && st.Bulk == nil {
		page.Notes = append(page.Notes, i.visibilityNote(ctx, st, now)...)
	}
	var err error
	if i.useBulk(st) {
		err = i.fetchBulk(ctx, st, &page)
	} else {
		err = i.fetchPage(ctx, st, &page)
	}
	if err != nil {
		return record.Page{}, err
	}
	page.Cursor = st.encode()
	return page, nil
}

// BackfillCursor returns a cursor that makes Fetch read the transactions
// that occurred in [since, until), then stop.
func (i *Importer) BackfillCursor(since, until time.Time) ([]byte, error) {
	if !since.Before(until) {
		return nil, fmt.Errorf("shopify: backfill: the start %s is not before the end %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	end := i.now().Add(-i.cfg.Lag.D()).Truncate(time.Second).UTC()
	s := since.Truncate(time.Second).UTC()
	if !s.Before(end) {
		return nil, fmt.Errorf("shopify: backfill: the window starts at %s, after the newest orders Shopify can list (%s)", s.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	cb := until.UTC()
	st := &cursorState{V: cursorVersion, Kind: kindBackfill, Since: s, Until: end, CreatedBefore: &cb}
	return st.encode(), nil
}

func (i *Importer) useBulk(st *cursorState) bool {
	if i.cfg.DisableBulk || st.NoBulk {
		return false
	}
	return st.Bulk != nil || (st.After == "" && st.span() > i.cfg.BulkAfter.D())
}

// loadShop reads the shop's zone and the app's scopes once.
func (i *Importer) loadShop(ctx context.Context) error {
	i.mu.Lock()
	done := i.scopes != nil
	i.mu.Unlock()
	if done {
		return nil
	}
	var d shopData
	if _, err := i.c.do(ctx, request{what: "the shop", query: shopQuery, cost: shopCost}, &d); err != nil {
		return err
	}
	zone, err := time.LoadLocation(d.Shop.IanaTimezone)
	if err != nil {
		i.log.Warn("the shop's time zone is unknown here: hours are counted in UTC for locations without a zone", "zone", d.Shop.IanaTimezone)
		zone = time.UTC
	}
	scopes := d.scopes()
	if !scopes["read_users"] {
		i.log.Warn("the app lacks the read_users scope: records carry no staff_id (Shopify shows an order's staff member only with read_users, on the Advanced and Plus plans)")
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.shopZone, i.scopes = zone, scopes
	return nil
}

// staff reports whether orders are read with their staff member: only
// with read_users, without which Shopify denies the field and fails bulk
// exports that ask for it.
func (i *Importer) staff() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.staffLocked()
}

// staffLocked is staff under i.mu.
func (i *Importer) staffLocked() bool { return i.scopes["read_users"] && !i.staffDenied }

func (i *Importer) zoneFor(b binding) *time.Location {
	if b.zone != nil {
		return b.zone
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.shopZone != nil {
		return i.shopZone
	}
	return time.UTC
}

// visibilityNote warns when a window reaches further back than Shopify
// shows without read_all_orders.
func (i *Importer) visibilityNote(ctx context.Context, st *cursorState, now time.Time) []string {
	cutoff := now.AddDate(0, 0, -60)
	if i.cfg.ReadAllOrders || !st.Since.Before(cutoff) {
		return nil
	}
	if err := i.loadShop(ctx); err == nil {
		i.mu.Lock()
		granted := i.scopes["read_all_orders"]
		i.mu.Unlock()
		if granted {
			return nil
		}
	}
	note := fmt.Sprintf("orders older than 60 days are invisible without the read_all_orders scope: this import starts %s, but Shopify shows this app only orders created since %s, so older ones will be missing; grant read_all_orders to the app (Shopify admin > Settings > Apps and sales channels > Develop apps > Configuration), then set shopify.read_all_orders: true",
		st.Since.Format("2006-01-02"), cutoff.Format("2006-01-02"))
	i.log.Warn(note)
	return []string{note}
}

// take converts a batch of orders into the page.
func (i *Importer) take(orders []gOrder, st *cursorState, page *record.Page) {
	unmapped := map[string]int{}
	for k := range orders {
		out := i.convert(&orders[k], i.zoneFor, st.emitWindow())
		page.Records = append(page.Records, out.records...)
		if out.note != "" {
			page.Notes = append(page.Notes, out.note)
		}
		if out.unmapped != "" {
			unmapped[out.unmapped]++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(unmapped)) {
		page.Counted = append(page.Counted, record.CountedNote{Count: unmapped[id], Text: fmt.Sprintf("POS order(s) at Shopify location %s not imported: that location is not in the locations mapping (map a TMAS location to shopify: %q if it is one of this agent's stores)",
			id, numericID(id))})
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// relevant reports whether an order will become records, so that it is
// worth completing.
func (i *Importer) relevant(o *gOrder) bool {
	if o.Test || !isPOS(o) || o.RetailLocation == nil {
		return false
	}
	_, ok := i.bindings[numericID(o.RetailLocation.ID)]
	return ok
}

// fetchPage reads one page of a window with a paged orders query.
func (i *Importer) fetchPage(ctx context.Context, st *cursorState, page *record.Page) error {
	search := searchQuery(st)
	var d ordersData
	for {
		sh := i.pageShape()
		vars := map[string]any{"first": sh.first, "after": nilIfEmpty(st.After), "query": search,
			"agreementsFirst": sh.agreements, "salesFirst": sh.sales}
		ci, err := i.c.do(ctx, request{what: "orders", query: ordersQuery(i.staff()), vars: vars, cost: sh.cost}, &d)
		var mc *maxCostError
		if errors.As(err, &mc) {
			if !i.shrink(sh, mc) {
				return fmt.Errorf("shopify: even one order per request exceeds Shopify's query cost limit (%.0f > %.0f)", mc.cost, mc.max)
			}
			continue
		}
		if err != nil {
			return err
		}
		i.learn(sh, ci)
		break
	}
	orders := d.Orders.Nodes
	i.resize(orders)
	var reached time.Time // the page is in UPDATED_AT order: read up to its last order's
	if n := len(orders); n > 0 {
		reached = orders[n-1].UpdatedAt
	}
	kept := orders[:0]
	for k := range orders {
		o := &orders[k]
		if i.relevant(o) && incomplete(o) {
			found, err := i.complete(ctx, o)
			if err != nil {
				return err
			}
			if !found {
				continue // deleted while being read
			}
		}
		kept = append(kept, *o)
	}
	i.take(kept, st, page)
	if pi := d.Orders.PageInfo; pi.HasNextPage && pi.EndCursor != "" {
		st.After, page.More, page.Reached = pi.EndCursor, true, reached
		return nil
	}
	st.After, st.Done, page.Reached = "", true, st.Until
	return nil
}

func incomplete(o *gOrder) bool {
	if o.Agreements.PageInfo.HasNextPage {
		return true
	}
	for _, e := range o.Agreements.Edges {
		if e.Node.Sales.PageInfo.HasNextPage {
			return true
		}
	}
	return false
}

// complete reads the agreements and sales of an order that did not fit in
// the page. It reports false when the order is gone.
func (i *Importer) complete(ctx context.Context, o *gOrder) (bool, error) {
	for o.Agreements.PageInfo.HasNextPage {
		var after any
		if n := len(o.Agreements.Edges); n > 0 {
			after = o.Agreements.Edges[n-1].Cursor
		}
		var d orderData
		err := i.followUp(ctx, func(limit float64) request {
			n, sn, cost, _, _ := followUpSizes(limit)
			return request{what: "orders", query: moreAgreementsQuery, cost: cost,
				vars: map[string]any{"id": o.ID, "after": after, "first": n, "salesFirst": sn}}
		}, &d)
		if err != nil {
			return false, err
		}
		if d.Order == nil {
			return false, nil
		}
		o.Agreements.Edges = append(o.Agreements.Edges, d.Order.Agreements.Edges...)
		o.Agreements.PageInfo = d.Order.Agreements.PageInfo
	}
	for k := range o.Agreements.Edges {
		e := &o.Agreements.Edges[k]
		for e.Node.Sales.PageInfo.HasNextPage {
			var agAfter any
			if k > 0 {
				agAfter = o.Agreements.Edges[k-1].Cursor
			}
			var d orderData
			err := i.followUp(ctx, func(limit float64) request {
				_, _, _, n, cost := followUpSizes(limit)
				return request{what: "orders", query: moreSalesQuery, cost: cost,
					vars: map[string]any{"id": o.ID, "agreementAfter": agAfter, "after": e.Node.Sales.PageInfo.EndCursor, "first": n}}
			}, &d)
			if err != nil {
				return false, err
			}
			if d.Order == nil {
				return false, nil
			}
			if len(d.Order.Agreements.Edges) == 0 || d.Order.Agreements.Edges[0].Node.ID != e.Node.ID {
				return false, fmt.Errorf("shopify: order %s changed while it was being read: the next run reads it again", o.Name)
			}
			got := d.Order.Agreements.Edges[0].Node.Sales
			e.Node.Sales.Nodes = append(e.Node.Sales.Nodes, got.Nodes...)
			e.Node.Sales.PageInfo = got.PageInfo
		}
	}
	return true, nil
}

// followUp runs a follow-up query sized for the cost limit, shrinking it
// when Shopify says the limit is lower.
func (i *Importer) followUp(ctx context.Context, build func(limit float64) request, out any) error {
	for tries := 0; ; tries++ {
		i.mu.Lock()
		limit := i.maxCost
		i.mu.Unlock()
		_, err := i.c.do(ctx, build(limit), out)
		var mc *maxCostError
		if !errors.As(err, &mc) {
			return err
		}
		if tries > 3 || mc.max <= 0 || mc.max >= limit {
			return fmt.Errorf("shopify: a follow-up query exceeds Shopify's query cost limit (%.0f > %.0f)", mc.cost, mc.max)
		}
		i.mu.Lock()
		i.maxCost = mc.max
		i.mu.Unlock()
	}
}

// shopLocation is one of the shop's locations.
type shopLocation struct {
	id, name string
	active   bool
}

func (i *Importer) listLocations(ctx context.Context) ([]shopLocation, error) {
	var out []shopLocation
	var after any
	for {
		var d locationsData
		if _, err := i.c.do(ctx, request{what: "locations", query: locationsQuery, vars: map[string]any{"after": after}, cost: locationsCost}, &d); err != nil {
			return nil, err
		}
		for _, n := range d.Locations.Nodes {
			out = append(out, shopLocation{id: n.ID, name: n.Name, active: n.IsActive})
		}
		if !d.Locations.PageInfo.HasNextPage || d.Locations.PageInfo.EndCursor == "" {
			return out, nil
		}
		after = d.Locations.PageInfo.EndCursor
	}
}

// Locations lists the shop's locations, inactive ones included, for the
// operator to fill in the mapping.
func (i *Importer) Locations(ctx context.Context) ([]record.Location, error) {
	var sd shopData
	if _, err := i.c.do(ctx, request{what: "the shop", query: shopQuery, cost: shopCost}, &sd); err != nil {
		return nil, err
	}
	locs, err := i.listLocations(ctx)
	if err != nil {
		return nil, err
	}
	// The Admin API gives no time zone per location (Location and its
	// address have none): TimeZone stays empty rather than showing the
	// shop's as if it were the location's, and the note says so.
	out := make([]record.Location, 0, len(locs))
	for _, l := range locs {
		rl := record.Location{ID: l.id, Name: l.name, Active: l.active}
		var notes []string
		if b, ok := i.bindings[numericID(l.id)]; ok {
			notes = append(notes, "mapped to TMAS location "+b.location)
		}
		if !l.active {
			notes = append(notes, "deactivated in Shopify")
		}
		notes = append(notes, "Shopify gives no time zone per location (the shop's is "+sd.Shop.IanaTimezone+"): set the store's timezone in the locations mapping")
		rl.Note = strings.Join(notes, "; ")
		out = append(out, rl)
	}
	return out, nil
}

func fixFor(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fix()
	}
	return "check the network path to Shopify (proxy, firewall) and try again"
}

// Check verifies the credentials, the scopes, the API version and the
// location mapping, for doctor.
func (i *Importer) Check(ctx context.Context) []record.Finding {
	var out []record.Finding
	var sd shopData
	if _, err := i.c.do(ctx, request{what: "the shop", query: shopQuery, cost: shopCost}, &sd); err != nil {
		return append(out, record.Finding{Check: "shopify credentials", OK: false, Detail: err.Error(), Fix: fixFor(err)})
	}
	how := "a custom app's admin token"
	if i.c.clientID != "" {
		how = "client credentials (a token renewed daily)"
	}
	out = append(out, record.Finding{Check: "shopify credentials", OK: true,
		Detail: fmt.Sprintf("connected to %s (%s) with %s", sd.Shop.Name, sd.Shop.MyshopifyDomain, how)})
	if served := i.c.servedVersion(); served != "" && served != i.cfg.APIVersion {
		out = append(out, record.Finding{Check: "shopify api version", OK: false,
			Detail: fmt.Sprintf("api_version %s is not supported any more: Shopify answered with %s", i.cfg.APIVersion, served),
			Fix:    fmt.Sprintf("set shopify.api_version to %s or a newer supported version", served)})
	} else {
		out = append(out, record.Finding{Check: "shopify api version", OK: true, Detail: i.cfg.APIVersion})
	}
	scopes := sd.scopes()
	for _, sc := range []string{"read_orders", "read_locations"} {
		f := record.Finding{Check: "shopify scope " + sc, OK: scopes[sc], Detail: "granted"}
		if !f.OK {
			f.Detail = "missing: the app cannot read " + strings.TrimPrefix(sc, "read_")
			f.Fix = "add " + sc + " to the app's Admin API scopes and reinstall the app (Shopify admin > Settings > Apps and sales channels > Develop apps)"
		}
		out = append(out, f)
	}
	all := record.Finding{Check: "shopify scope read_all_orders", OK: true}
	switch {
	case scopes["read_all_orders"]:
		all.Detail = "granted: backfills may reach beyond 60 days"
	case i.cfg.ReadAllOrders:
		all.OK, all.Detail = false, "the configuration says read_all_orders: true, but the app does not have that scope: orders older than 60 days are invisible"
		all.Fix = "request read_all_orders for the app, or remove shopify.read_all_orders"
	case i.cfg.BackfillDays > 60:
		all.OK, all.Detail = false, fmt.Sprintf("missing, and backfill_days is %d: Shopify shows only the last 60 days of orders without it", i.cfg.BackfillDays)
		all.Fix = "request read_all_orders for the app, or lower shopify.backfill_days to 60"
	default:
		all.Detail = "not granted (advisory): orders older than 60 days cannot be read; longer backfills will warn"
	}
	out = append(out, all)
	users := record.Finding{Check: "shopify scope read_users", OK: true, Detail: "granted: sales carry the staff id of who rang them up"}
	if !scopes["read_users"] {
		users.Detail = "not granted (advisory): records carry no staff id; Shopify shows an order's staff member only with read_users (Advanced and Plus plans)"
		users.Fix = "to import staff ids, add read_users to the app's Admin API scopes and reinstall the app"
	}
	out = append(out, users)
	if !scopes["read_locations"] {
		return out
	}
	locs, err := i.listLocations(ctx)
	if err != nil {
		return append(out, record.Finding{Check: "shopify locations", OK: false, Detail: err.Error(), Fix: fixFor(err)})
	}
	byID := map[string]shopLocation{}
	var names []string
	for _, l := range locs {
		byID[numericID(l.id)] = l
		names = append(names, fmt.Sprintf("%s %q", numericID(l.id), l.name))
	}
	mapped := map[string]bool{}
	ids := slices.Sorted(maps.Keys(i.bindings))
	sort.Slice(ids, func(a, b int) bool { return i.bindings[ids[a]].location < i.bindings[ids[b]].location })
	for _, id := range ids {
		b := i.bindings[id]
		mapped[id] = true
		f := record.Finding{Check: "shopify location " + b.location}
		l, ok := byID[id]
		switch {
		case !ok:
			f.Detail = fmt.Sprintf("Shopify has no location %s (the shop has: %s)", id, strings.Join(names, ", "))
			f.Fix = "run `storeagent locations shopify` and put the right id in locations." + b.location + ".shopify"
		case !l.active:
			f.Detail = fmt.Sprintf("Shopify location %s %q is deactivated: it records no new sales", id, l.name)
			f.Fix = "reactivate it in Shopify admin > Settings > Locations, or map the store to the location it uses now"
		default:
			f.OK, f.Detail = true, fmt.Sprintf("Shopify location %s %q", id, l.name)
		}
		out = append(out, f)
	}
	var loose []string
	for _, l := range locs {
		if l.active && !mapped[numericID(l.id)] {
			loose = append(loose, fmt.Sprintf("%s %q", numericID(l.id), l.name))
		}
	}
	if len(loose) > 0 {
		out = append(out, record.Finding{Check: "shopify unmapped locations", OK: true, Warning: true,
			Detail: "not mapped, so their POS orders never reach headquarters: " + strings.Join(loose, ", "),
			Fix:    "map each to its TMAS location (locations.ID.shopify), see storeagent locations shopify"})
	}
	return out
}
