package shopifytest

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// queryRun resolves one request against the shop's data (under s.mu).
type queryRun struct {
	s       *Server
	now     time.Time
	version string // the API version answering
	search  []any
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (q *queryRun) root(typ string) *obj {
	s := q.s
	if typ == "Mutation" {
		return &obj{typ: "Mutation", f: map[string]any{
			"bulkOperationRunQuery": resolver(q.bulkRun),
			"bulkOperationCancel":   resolver(q.bulkCancel),
		}}
	}
	return &obj{typ: "QueryRoot", f: map[string]any{
		"shop": q.shopObj(),
		"currentAppInstallation": &obj{typ: "AppInstallation", f: map[string]any{
			"id": "gid://shopify/AppInstallation/1", "accessScopes": q.scopeObjs(),
			"app": &obj{typ: "App", f: map[string]any{"id": "gid://shopify/App/1", "title": "storeagent", "handle": "storeagent"}},
		}},
		"orders": resolver(q.orders),
		"order": resolver(func(args map[string]any) (any, error) {
			return q.orderByID(strArg(args, "id")), nil
		}),
		"locations": resolver(q.locations),
		"location": resolver(func(args map[string]any) (any, error) {
			return q.locationByID(strArg(args, "id")), nil
		}),
		"node": resolver(func(args map[string]any) (any, error) {
			id := strArg(args, "id")
			switch {
			case strings.HasPrefix(id, "gid://shopify/Order/"):
				if o := q.orderByID(id); o != nil {
					return o, nil
				}
			case strings.HasPrefix(id, "gid://shopify/Location/"):
				if l := q.locationByID(id); l != nil {
					return l, nil
				}
			case strings.HasPrefix(id, "gid://shopify/BulkOperation/"):
				for _, op := range s.bulkOps {
					if op.gid() == id {
						return q.bulkObj(op), nil
					}
				}
			}
			return (*obj)(nil), nil
		}),
		"currentBulkOperation": resolver(func(map[string]any) (any, error) {
			if len(s.bulkOps) == 0 {
				return (*obj)(nil), nil
			}
			return q.bulkObj(s.bulkOps[len(s.bulkOps)-1]), nil
		}),
		"bulkOperations": resolver(q.bulkOperations),
		"bulkOperation": resolver(func(args map[string]any) (any, error) {
			for _, op := range s.bulkOps {
				if op.gid() == strArg(args, "id") {
					return q.bulkObj(op), nil
				}
			}
			return (*obj)(nil), nil
		}),
	}}
}

func (q *queryRun) shopObj() *obj {
	sh := q.s.opts.Shop
	return &obj{typ: "Shop", f: map[string]any{
		"id": "gid://shopify/Shop/690933842", "name": sh.DisplayName, "myshopifyDomain": sh.Name + ".myshopify.com",
		"ianaTimezone": sh.IANATimezone, "timezoneAbbreviation": "", "currencyCode": sh.Currency,
		"taxesIncluded": sh.TaxesIncluded, "email": "owner@example.com",
	}}
}

func (q *queryRun) scopeObjs() []*obj {
	var out []*obj
	for _, sc := range slices.Sorted(maps.Keys(q.s.scopes)) {
		out = append(out, &obj{typ: "AccessScope", f: map[string]any{"handle": sc, "description": ""}})
	}
	return out
}

func (q *queryRun) locationObj(l *Location) *obj {
	var deactivated any
	if !l.Active {
		deactivated = "2026-01-01T00:00:00Z"
	}
	return &obj{typ: "Location", f: map[string]any{
		"id": l.ID, "legacyResourceId": strconv.FormatInt(numericID(l.ID), 10), "name": l.Name, "isActive": l.Active,
		"deactivatedAt": deactivated, "createdAt": "2021-06-22T18:00:29Z", "updatedAt": "2023-11-28T07:08:27Z",
		"fulfillsOnlineOrders": true,
		"address":              &obj{typ: "LocationAddress", f: map[string]any{"address1": "Placeholder Street 1", "city": "Toronto", "countryCode": "CA", "zip": "M5V 1A1"}},
	}}
}

func (q *queryRun) locationByID(id string) *obj {
	for _, l := range q.s.locations {
		if l.ID == id {
			return q.locationObj(l)
		}
	}
	return nil
}

func (q *queryRun) locations(args map[string]any) (any, error) {
	incl, _ := args["includeInactive"].(bool)
	var all []*obj
	for _, l := range q.s.locations {
		if l.Active || incl {
			all = append(all, q.locationObj(l))
		}
	}
	return pageStatic(all, args)
}

// visible reports whether an order can be read at all: without
// read_all_orders, orders created more than 60 days ago are simply absent.
func (q *queryRun) visible(o *order) bool {
	return q.s.scopes["read_all_orders"] || !o.createdAt.Before(q.now.AddDate(0, 0, -60))
}

func (q *queryRun) orderByID(gid string) *obj {
	o := q.s.orders[numericID(gid)]
	if o == nil || !q.visible(o) {
		return nil
	}
	return q.orderObj(o)
}

func (q *queryRun) money(d decimal.Decimal) *obj {
	cur := q.s.opts.Shop.Currency
	m := &obj{typ: "MoneyV2", f: map[string]any{"amount": d.String(), "currencyCode": cur}}
	return &obj{typ: "MoneyBag", f: map[string]any{"shopMoney": m, "presentmentMoney": m}}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (q *queryRun) lineObj(li *lineItem) *obj {
	var variant any = (*obj)(nil)
	if !li.tip {
		variant = &obj{typ: "ProductVariant", f: map[string]any{
			"id": "gid://shopify/ProductVariant/" + strconv.FormatInt(li.id+1, 10), "barcode": nullable(li.spec.Barcode),
			"sku": li.spec.SKU, "title": "Default Title"}}
	}
	return &obj{typ: "LineItem", f: map[string]any{
		"id": "gid://shopify/LineItem/" + strconv.FormatInt(li.id, 10), "name": li.spec.Title, "title": li.spec.Title,
		"sku": nullable(li.spec.SKU), "quantity": li.spec.Qty, "currentQuantity": li.spec.Qty - li.returned,
		"isGiftCard": li.spec.GiftCard, "variant": variant, "originalUnitPriceSet": q.money(li.price),
	}}
}

func (q *queryRun) saleObj(sl *sale) *obj {
	var qty any
	if sl.qty != nil {
		qty = *sl.qty
	}
	f := map[string]any{
		"id": "gid://shopify/Sale/" + strconv.FormatInt(sl.id, 10), "actionType": sl.action, "lineType": sl.lineType,
		"quantity": qty, "totalAmount": q.money(sl.total), "totalTaxAmount": q.money(sl.tax),
		"totalDiscountAmountBeforeTaxes": q.money(sl.disc), "totalDiscountAmountAfterTaxes": q.money(sl.disc),
		"taxes": []*obj{},
	}
	switch sl.typ {
	case "ProductSale", "TipSale", "GiftCardSale":
		f["lineItem"] = q.lineObj(sl.line)
	case "ShippingLineSale":
		f["shippingLine"] = &obj{typ: "ShippingLine", f: map[string]any{"id": "gid://shopify/ShippingLine/1", "title": "Shipping", "code": "standard"}}
	}
	return &obj{typ: sl.typ, f: f}
}

func (q *queryRun) agreementObj(o *order, ag *agreement) *obj {
	var sales []*obj
	for _, sl := range ag.sales {
		sales = append(sales, q.saleObj(sl))
	}
	f := map[string]any{
		"id": "gid://shopify/SalesAgreement/" + strconv.FormatInt(ag.id, 10), "happenedAt": ts(ag.at),
		"reason": ag.reason, "sales": sales, "app": (*obj)(nil), "user": (*obj)(nil),
	}
	switch ag.typ {
	case "OrderAgreement":
		f["order"] = &obj{typ: "Order", f: map[string]any{"id": orderGID(o.id)}}
	case "RefundAgreement":
		f["refund"] = &obj{typ: "Refund", f: map[string]any{"id": "gid://shopify/Refund/" + strconv.FormatInt(ag.refund, 10),
			"createdAt": ts(ag.at), "note": nil}}
	case "ReturnAgreement":
		f["return"] = &obj{typ: "Return", f: map[string]any{"id": "gid://shopify/Return/" + strconv.FormatInt(ag.id+7, 10),
			"name": o.spec.Name + "-R1", "status": "CLOSED"}}
	}
	return &obj{typ: ag.typ, f: f}
}

func (q *queryRun) orderObj(o *order) *obj {
	var cancelled any
	if o.cancelledAt != nil {
		cancelled = ts(*o.cancelledAt)
	}
	var loc any = (*obj)(nil)
	if o.spec.Location != "" {
		loc = q.locationByID(o.spec.Location)
		if loc == (*obj)(nil) {
			loc = &obj{typ: "Location", f: map[string]any{"id": o.spec.Location, "name": "", "isActive": false}}
		}
	}
	var staff any = (*obj)(nil)
	if o.spec.Staff != "" {
		staff = &obj{typ: "StaffMember", f: map[string]any{"id": o.spec.Staff, "name": "Staff"}}
	}
	var ags, lines []*obj
	for _, ag := range o.agreements {
		ags = append(ags, q.agreementObj(o, ag))
	}
	total := decimal.Zero
	for _, li := range o.lines {
		lines = append(lines, q.lineObj(li))
	}
	for _, ag := range o.agreements {
		for _, sl := range ag.sales {
			total = total.Add(sl.total)
		}
	}
	handle := "web"
	if o.spec.Source == "pos" {
		handle = "pos"
	}
	f := map[string]any{
		"id": orderGID(o.id), "legacyResourceId": strconv.FormatInt(o.id, 10), "name": o.spec.Name,
		"createdAt": ts(o.createdAt), "processedAt": ts(o.spec.ProcessedAt), "updatedAt": o.updatedAt().UTC().Format(time.RFC3339Nano),
		"cancelledAt": cancelled, "cancelReason": nil, "closedAt": nil, "sourceName": o.spec.Source,
		"sourceIdentifier": nil, "test": o.spec.Test, "displayFinancialStatus": o.financial,
		"currencyCode": q.s.opts.Shop.Currency, "presentmentCurrencyCode": q.s.opts.Shop.Currency,
		"taxesIncluded": q.s.opts.Shop.TaxesIncluded, "note": nil, "tags": []any{},
		"app":            &obj{typ: "OrderApp", f: map[string]any{"id": "gid://shopify/App/129785", "name": o.spec.App}},
		"retailLocation": loc, "staffMember": staff,
		"channelInformation": &obj{typ: "ChannelInformation", f: map[string]any{"id": "gid://shopify/ChannelInformation/1",
			"channelId": "gid://shopify/Channel/1",
			"channelDefinition": &obj{typ: "ChannelDefinition", f: map[string]any{"id": "gid://shopify/ChannelDefinition/1",
				"handle": handle, "channelName": o.spec.App}}}},
		"agreements": ags, "lineItems": lines,
		"totalPriceSet": q.money(total), "currentTotalPriceSet": q.money(total), "subtotalPriceSet": q.money(total),
		"totalTaxSet": q.money(decimal.Zero), "totalDiscountsSet": q.money(decimal.Zero),
	}
	if q.s.opts.StaffPlanless {
		f["staffMember"] = resolver(func(map[string]any) (any, error) {
			return nil, &gqlError{Message: "Access denied for staffMember field. The shop's plan does not give access to staff members (Advanced and Plus plans do).", Code: "ACCESS_DENIED"}
		})
	}
	if q.s.deniedData {
		for _, k := range []string{"agreements", "lineItems"} {
			f[k] = resolver(func(map[string]any) (any, error) {
				return nil, &gqlError{Message: "This app is not approved to access the Order object. See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.", Code: "ACCESS_DENIED"}
			})
		}
	}
	return &obj{typ: "Order", f: f}
}

// orders serves the orders connection: search filters, sort keys, cursors,
// the search lag and the 60-day window.
func (q *queryRun) orders(args map[string]any) (any, error) {
	s := q.s
	zone, err := time.LoadLocation(s.opts.Shop.IANATimezone)
	if err != nil {
		zone = time.UTC
	}
	filt, warnings := parseSearch(strArg(args, "query"), zone)
	if len(warnings) > 0 {
		q.search = append(q.search, ordered{{"path", []any{"orders"}}, {"query", strArg(args, "query")}, {"warnings", warnings}})
	}
	sortKey := strArg(args, "sortKey")
	if sortKey == "" {
		sortKey = "ID"
	}
	reverse, _ := args["reverse"].(bool)
	first, hasFirst := intArg(args, "first")
	if !hasFirst {
		first = 1 << 30 // bulk operations read everything
	}
	var after *cursorKey
	if a := strArg(args, "after"); a != "" {
		k, err := decodeCursor(a)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	accept := func(o *order, upd time.Time) bool {
		return !(o == nil || !q.visible(o) || !filt.match(o, upd))
	}
	var cands []cand
	if sortKey == "UPDATED_AT" && !reverse {
		cands = q.indexed(filt, after, first, accept)
	} else {
		cands = q.sorted(sortKey, reverse, after, accept)
	}
	pg := &connPage{hasPrev: after != nil}
	if len(cands) > first {
		cands = cands[:first]
		pg.hasNext = true
	}
	s.stats.OrdersServed += len(cands)
	for _, c := range cands {
		pg.nodes = append(pg.nodes, q.orderObj(c.o))
		pg.cursors = append(pg.cursors, encodeCursor(c.o.id, c.val))
	}
	return pg, nil
}

// cand is an order a search found, with its sort value.
type cand struct {
	o   *order
	val string
	at  time.Time
}

// indexed walks the search index in (updatedAt, id) order: it holds every
// version of every order, and an order is listed at the version the index
// can see. It returns up to first+1 candidates.
func (q *queryRun) indexed(filt searchFilter, after *cursorKey, first int, accept func(*order, time.Time) bool) []cand {
	s := q.s
	entries := s.sortedEntries()
	start := 0
	if after != nil {
		at, _ := time.Parse(time.RFC3339Nano, after.LastValue)
		start = sort.Search(len(entries), func(i int) bool {
			e := entries[i]
			return e.at.After(at) || e.at.Equal(at) && e.id > after.LastID
		})
	} else if lo, ok := filt.lowerUpdated(); ok {
		start = sort.Search(len(entries), func(i int) bool { return !entries[i].at.Before(lo) })
	}
	var cands []cand
	for i := start; i < len(entries) && len(cands) <= first; i++ {
		e := entries[i]
		if filt.beyondUpdated(e.at) {
			break
		}
		o := s.orders[e.id]
		if o == nil {
			continue
		}
		upd, ok := s.visibleUpdatedAt(o, q.now)
		if !ok || !upd.Equal(e.at) || !accept(o, upd) {
			continue
		}
		cands = append(cands, cand{o, upd.UTC().Format(time.RFC3339Nano), upd})
	}
	return cands
}

// sorted lists every matching order by a sort key, after the cursor.
func (q *queryRun) sorted(sortKey string, reverse bool, after *cursorKey, accept func(*order, time.Time) bool) []cand {
	var cands []cand
	for _, o := range q.s.orders {
		upd, ok := q.s.visibleUpdatedAt(o, q.now)
		if !ok || !accept(o, upd) {
			continue
		}
		cands = append(cands, cand{o, sortValue(o, sortKey, upd), upd})
	}
	less := func(a, b cand) bool {
		if sortKey == "ID" || a.val == b.val {
			return a.o.id < b.o.id
		}
		return a.val < b.val
	}
	sort.Slice(cands, func(i, j int) bool {
		if reverse {
			return less(cands[j], cands[i])
		}
		return less(cands[i], cands[j])
	})
	if after == nil {
		return cands
	}
	k := 0
	for k < len(cands) && !pastCursor(cands[k], *after, sortKey, reverse) {
		k++
	}
	return cands[k:]
}

func sortValue(o *order, sortKey string, upd time.Time) string {
	switch sortKey {
	case "UPDATED_AT":
		return upd.UTC().Format(time.RFC3339Nano)
	case "CREATED_AT":
		return o.createdAt.UTC().Format(time.RFC3339Nano)
	case "PROCESSED_AT":
		return o.spec.ProcessedAt.UTC().Format(time.RFC3339Nano)
	}
	return strconv.FormatInt(o.id, 10)
}

// pastCursor reports whether c comes after the cursor in the sort order.
func pastCursor(c cand, after cursorKey, sortKey string, reverse bool) bool {
	switch {
	case sortKey == "ID" && reverse:
		return c.o.id < after.LastID
	case sortKey == "ID":
		return c.o.id > after.LastID
	case reverse:
		return c.val < after.LastValue || c.val == after.LastValue && c.o.id < after.LastID
	}
	return c.val > after.LastValue || c.val == after.LastValue && c.o.id > after.LastID
}
