package woocommerce

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Options are the importer's collaborators.
type Options struct {
	// HTTPClient replaces the default client (60 s timeout, ca_file trusted).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// Sleep waits for back-off and Retry-After; it must return early with
	// ctx's error. Default: retry.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts bounds the tries of one request (default 6).
	MaxAttempts int
}

// Importer reads one WooCommerce shop.
type Importer struct {
	cfg   Config
	conv  conv
	zones map[string]*time.Location // TMAS location -> zone
	log   *slog.Logger
	now   func() time.Time
	c     *client
}

// Cursor phases. A run walks orders → trash → recheck, then rests in idle
// until the next run opens a new window; a backfill walks orders → trash
// and ends in done.
const (
	phaseOrders  = "orders"  // orders modified in [From, To) (any status but trash)
	phaseTrash   = "trash"   // trashed orders modified in [From, To)
	phaseRecheck = "recheck" // orders created since Recheck but modified before From
	phaseIdle    = "idle"
	phaseDone    = "done"
)

const cursorVersion = 1

// cursor is the opaque state between Fetch calls. Pages are read in order
// of creation, keyed by the last creation time read (After) and a page
// number within it, so an order that leaves the result while it is paged
// (modified again, trashed) cannot shift another past the reader.
type cursor struct {
	V       int       `json:"v"`
	Phase   string    `json:"phase"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to,omitzero"`
	Recheck time.Time `json:"recheck,omitzero"`
	After   time.Time `json:"after,omitzero"`
	Page    int       `json:"page"`
	LastEnd time.Time `json:"last_end,omitzero"`
	// A backfill reads orders modified since Since and created before
	// Until, keeping records that occurred in [Since, Until).
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Backfill bool      `json:"backfill,omitempty"`
}

// New builds an importer. bindings give the zone of each TMAS location the
// section names (SourceID is not used: the section itself holds the
// mapping). It makes no network call.
func New(cfg Config, bindings []record.Binding, opts Options) (*Importer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := cfg.ConsumerKeyRef().Resolve()
	if err != nil {
		return nil, fmt.Errorf("woocommerce.consumer_key: %w", err)
	}
	secret, err := cfg.ConsumerSecretRef().Resolve()
	if err != nil {
		return nil, fmt.Errorf("woocommerce.consumer_secret: %w", err)
	}
	zones := map[string]*time.Location{}
	for _, b := range bindings {
		z := b.Zone
		if z == nil {
			z = time.UTC
		}
		zones[b.LocationID] = z
	}
	var errs []error
	for _, id := range cfg.Locations() {
		if _, ok := zones[id]; !ok {
			errs = append(errs, fmt.Errorf("woocommerce: location %q is not one of the agent's locations (add it under locations: with its timezone)", id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient, err = httpClient(cfg.CAFile)
		if err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = retry.Sleep
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = defaultMaxAttempts
	}
	log := opts.Logger.With("source", record.SourceWooCommerce)
	return &Importer{
		cfg: cfg, conv: newConv(cfg), zones: zones, log: log, now: opts.Now,
		c: &client{hc: opts.HTTPClient, base: cfg.APIBase(), restRoute: cfg.RESTRoute, auth: cfg.Auth, key: key, secret: secret,
			log: log, now: opts.Now, sleep: opts.Sleep, maxAttempts: opts.MaxAttempts},
	}, nil
}

func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("woocommerce.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("woocommerce.ca_file: %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}, nil
}

// Name is the source's name.
func (i *Importer) Name() string { return record.SourceWooCommerce }

// BackfillCursor returns a cursor that makes Fetch re-read [since, until)
// and then return More=false for good.
func (i *Importer) BackfillCursor(since, until time.Time) ([]byte, error) {
	if !since.Before(until) {
		return nil, fmt.Errorf("woocommerce: backfill: since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	s := since.UTC().Truncate(time.Second)
	return json.Marshal(cursor{V: cursorVersion, Phase: phaseOrders, From: s.Add(-time.Second), Since: since.UTC(), Until: until.UTC(), Backfill: true, Page: 1})
}

func (i *Importer) decodeCursor(raw []byte) (cursor, error) {
	if len(raw) == 0 {
		return cursor{V: cursorVersion, Phase: phaseIdle}, nil
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return cursor{}, fmt.Errorf("woocommerce: the saved cursor is unreadable (%v): reset the woocommerce state or run a backfill", err)
	}
	if c.V != cursorVersion {
		return cursor{}, fmt.Errorf("woocommerce: the saved cursor has version %d, this agent reads version %d", c.V, cursorVersion)
	}
	switch c.Phase {
	case phaseOrders, phaseTrash, phaseRecheck, phaseIdle, phaseDone:
	default:
		return cursor{}, fmt.Errorf("woocommerce: the saved cursor has an unknown phase %q", c.Phase)
	}
	return c, nil
}

// open starts a run's window: the first run reads backfill_days back, the
// next ones re-read lookback before the previous end.
func (i *Importer) open(cur *cursor) {
	now := i.now().UTC().Truncate(time.Second)
	to := now.Add(-i.cfg.Lag.D())
	from := now.Add(-time.Duration(i.cfg.BackfillDays) * 24 * time.Hour)
	if !cur.LastEnd.IsZero() {
		from = cur.LastEnd.Add(-i.cfg.Lookback.D())
	}
	if !from.Before(to) {
		from = to.Add(-time.Second)
	}
	*cur = cursor{V: cursorVersion, Phase: phaseOrders, From: from, To: to, Page: 1, LastEnd: cur.LastEnd}
	if r := now.Add(-i.cfg.Recheck.D()); !cur.LastEnd.IsZero() && i.cfg.Recheck > 0 && r.Before(from) {
		cur.Recheck = r
	}
}

// Fetch reads one page of orders (and the refunds of those that have
// some). See the README for the walk.
func (i *Importer) Fetch(ctx context.Context, raw []byte) (record.Page, error) {
	cur, err := i.decodeCursor(raw)
	if err != nil {
		return record.Page{}, err
	}
	switch cur.Phase {
	case phaseDone:
		return record.Page{Cursor: raw}, nil
	case phaseIdle:
		i.open(&cur)
	}
	page, err := i.page(ctx, &cur)
	if err != nil {
		return record.Page{}, err
	}
	page.Cursor, err = json.Marshal(cur)
	if err != nil {
		return record.Page{}, fmt.Errorf("woocommerce: encode cursor: %w", err)
	}
	return page, nil
}

// query is the request of the cursor's current page.
func (i *Importer) query(cur cursor) url.Values {
	q := url.Values{
		"per_page":      {strconv.Itoa(i.cfg.PageSize)},
		"page":          {strconv.Itoa(max(cur.Page, 1))},
		"orderby":       {"date"},
		"order":         {"asc"},
		"dates_are_gmt": {"true"},
	}
	after := cur.After
	switch cur.Phase {
	case phaseOrders, phaseTrash:
		q.Set("modified_after", gmt(cur.From))
		if !cur.To.IsZero() {
			q.Set("modified_before", gmt(cur.To))
		}
		if cur.Phase == phaseTrash {
			q.Set("status", "trash")
		}
	case phaseRecheck:
		q.Set("modified_before", gmt(cur.From.Add(time.Second)))
		if cur.Recheck.After(after) {
			after = cur.Recheck
		}
	}
	if cur.Backfill {
		q.Set("before", gmt(cur.Until))
	}
	if !after.IsZero() {
		q.Set("after", gmt(after))
	}
	return q
}

func gmt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func (i *Importer) page(ctx context.Context, cur *cursor) (record.Page, error) {
	rep, err := i.c.get(ctx, "/wc/v3/orders", i.query(*cur))
	if err != nil {
		return record.Page{}, err
	}
	orders, notes, err := i.decodeOrders(rep.body)
	if err != nil {
		return record.Page{}, err
	}
	page := record.Page{Notes: notes}
	skipped := map[string]int{}
	var last time.Time
	for _, o := range orders {
		if o.DateCreatedGMT.t.After(last) {
			last = o.DateCreatedGMT.t
		}
		if (cur.Phase == phaseOrders || cur.Phase == phaseTrash) && !o.DateModifiedGMT.t.IsZero() && o.DateModifiedGMT.t.Before(cur.From.Add(-time.Second)) {
			return record.Page{}, &Error{Msg: fmt.Sprintf("woocommerce: the shop ignored modified_after (order %d was modified at %s, before %s): WooCommerce 5.8 or later is needed", o.ID, gmt(o.DateModifiedGMT.t), gmt(cur.From)),
				Fix: "update WooCommerce to 5.8 or later"}
		}
		loc, reason := i.locate(o)
		if loc == "" {
			skipped[reason]++
			continue
		}
		var refunds []apiRefund
		if len(o.Refunds) > 0 && i.cfg.Counts(o.Status) {
			if refunds, err = i.refunds(ctx, o.ID); err != nil {
				return record.Page{}, err
			}
		}
		recs, notes, err := i.conv.orderRecords(o, refunds, loc, i.zones[loc])
		if err != nil {
			return record.Page{}, err
		}
		page.Notes = append(page.Notes, notes...)
		page.Records = append(page.Records, cur.inBackfill(recs)...)
	}
	for _, reason := range slices.Sorted(maps.Keys(skipped)) {
		n := skipped[reason]
		page.Notes = append(page.Notes, fmt.Sprintf("%d order(s) not imported: %s", n, reason))
	}
	more := len(orders) == i.cfg.PageSize
	if rep.totalPages >= 0 {
		more = max(cur.Page, 1) < rep.totalPages
	}
	more = more || rep.next
	if len(orders) > 0 && more {
		if next := last.Add(-time.Second); next.After(cur.After) {
			cur.After, cur.Page = next, 1
		} else {
			cur.Page++
		}
		if cur.Phase == phaseOrders {
			// Every order of the window created up to After has been read.
			page.Reached = cur.After
		}
		page.More = true
		return page, nil
	}
	if cur.Phase == phaseOrders {
		// The orders pass is complete: the window has been read to its end
		// (the trash and recheck passes that follow are short and re-read).
		page.Reached = cur.To
		if cur.Backfill {
			page.Reached = cur.Until
		}
	}
	i.nextPhase(cur)
	page.More = cur.Phase != phaseIdle && cur.Phase != phaseDone
	return page, nil
}

// inBackfill keeps the records a backfill asks for: those that occurred in
// [Since, Until). Outside a backfill it keeps them all.
func (c *cursor) inBackfill(recs []record.Record) []record.Record {
	var out []record.Record
	for _, r := range recs {
		if c.Backfill && (r.OccurredAt.Before(c.Since) || !r.OccurredAt.Before(c.Until)) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// decodeOrders reads a page of orders. One unreadable order must not stop
// the shop's import: it is named in a note and skipped.
func (i *Importer) decodeOrders(body []byte) ([]apiOrder, []string, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("woocommerce: %s answered something that is not a list of orders: %v", i.c.where("/wc/v3/orders"), err), kind: ErrNotJSON,
			Fix: "a plugin may be altering the REST API's answers"}
	}
	var notes []string
	orders := make([]apiOrder, 0, len(raws))
	for _, raw := range raws {
		var o apiOrder
		if err := json.Unmarshal(raw, &o); err != nil {
			var id struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			notes = append(notes, fmt.Sprintf("order %s could not be read (%v): not imported", strings.Trim(string(id.ID), `"`), err))
			continue
		}
		orders = append(orders, o)
	}
	return orders, notes, nil
}

// nextPhase moves the cursor past a finished pass.
func (i *Importer) nextPhase(cur *cursor) {
	cur.After, cur.Page = time.Time{}, 1
	switch {
	case cur.Phase == phaseOrders:
		cur.Phase = phaseTrash
	case cur.Phase == phaseTrash && cur.Backfill:
		cur.Phase = phaseDone
	case cur.Phase == phaseTrash && !cur.Recheck.IsZero():
		cur.Phase = phaseRecheck
	default:
		*cur = cursor{V: cursorVersion, Phase: phaseIdle, LastEnd: cur.To}
	}
}

// locate finds an order's TMAS location; "" with the reason when none.
func (i *Importer) locate(o apiOrder) (string, string) {
	if i.cfg.LocationMetaKey == "" {
		return i.cfg.Location, ""
	}
	v, ok := o.meta(i.cfg.LocationMetaKey)
	if ok {
		if id, mapped := i.cfg.LocationByMeta[strings.TrimSpace(v)]; mapped {
			return id, ""
		}
	}
	if i.cfg.Location != "" {
		return i.cfg.Location, ""
	}
	if !ok {
		return "", fmt.Sprintf("no %s meta and no woocommerce.location to count them at", i.cfg.LocationMetaKey)
	}
	return "", fmt.Sprintf("%s is %q, which woocommerce.location_by_meta does not map", i.cfg.LocationMetaKey, v)
}

// refunds reads all refunds of an order.
func (i *Importer) refunds(ctx context.Context, id int64) ([]apiRefund, error) {
	var all []apiRefund
	path := fmt.Sprintf("/wc/v3/orders/%d/refunds", id)
	for p := 1; ; p++ {
		rep, err := i.c.get(ctx, path, url.Values{"per_page": {"100"}, "page": {strconv.Itoa(p)}, "dates_are_gmt": {"true"}})
		if err != nil {
			return nil, err
		}
		var rs []apiRefund
		if err := json.Unmarshal(rep.body, &rs); err != nil {
			return nil, &Error{Msg: fmt.Sprintf("woocommerce: %s answered something that is not a list of refunds: %v", i.c.where(path), err), kind: ErrNotJSON}
		}
		all = append(all, rs...)
		if len(rs) == 0 || (rep.totalPages >= 0 && p >= rep.totalPages) || (rep.totalPages < 0 && len(rs) < 100) {
			return all, nil
		}
	}
}

// Locations lists where the shop's orders are counted: the shop itself and,
// with a meta mapping, each mapped value. It checks the API answers.
func (i *Importer) Locations(ctx context.Context) ([]record.Location, error) {
	if _, err := i.c.get(ctx, "/wc/v3/orders", url.Values{"per_page": {"1"}}); err != nil {
		return nil, err
	}
	var out []record.Location
	if i.cfg.Location != "" {
		note := "all web orders are counted at TMAS location " + i.cfg.Location
		if i.cfg.LocationMetaKey != "" {
			note = "orders without a mapped " + i.cfg.LocationMetaKey + " are counted at TMAS location " + i.cfg.Location
		}
		out = append(out, record.Location{ID: i.conv.shop, Name: i.cfg.URL, Active: true, Note: note})
	}
	for _, v := range slices.Sorted(maps.Keys(i.cfg.LocationByMeta)) {
		out = append(out, record.Location{ID: i.cfg.LocationMetaKey + "=" + v, Name: v, Active: true, Note: "counted at TMAS location " + i.cfg.LocationByMeta[v]})
	}
	return out, nil
}

// Check reports, for `doctor`, whether the key reads orders through the
// REST route, which statuses the shop has and which of them count, and
// whether every named location has a zone.
func (i *Importer) Check(ctx context.Context) []record.Finding {
	var fs []record.Finding
	rep, err := i.c.get(ctx, "/wc/v3/orders", url.Values{"per_page": {"1"}})
	if err != nil {
		f := record.Finding{Check: "woocommerce orders", Detail: err.Error(), Fix: "check woocommerce.url and the key"}
		var e *Error
		if errors.As(err, &e) && e.Fix != "" {
			f.Fix = e.Fix
		}
		return append(fs, f)
	}
	detail := i.cfg.URL + ": the key reads orders"
	if rep.total >= 0 {
		detail += fmt.Sprintf(" (%d in the shop)", rep.total)
	}
	fs = append(fs, record.Finding{Check: "woocommerce orders", OK: true, Detail: detail})
	fs = append(fs, i.checkStatuses(ctx))
	for _, id := range i.cfg.Locations() {
		fs = append(fs, record.Finding{Check: "woocommerce location " + id, OK: true, Detail: "hours counted in " + i.zones[id].String()})
	}
	return fs
}

func (i *Importer) checkStatuses(ctx context.Context) record.Finding {
	f := record.Finding{Check: "woocommerce statuses"}
	rep, err := i.c.get(ctx, "/wc/v3/reports/orders/totals", nil)
	if err != nil {
		f.Detail, f.Fix = "the order statuses could not be read: "+err.Error(), "the key needs Read permission on reports too"
		return f
	}
	var totals []struct {
		Slug  string `json:"slug"`
		Name  string `json:"name"`
		Total int    `json:"total"`
	}
	if err := json.Unmarshal(rep.body, &totals); err != nil {
		f.Detail = "the order statuses answer is unreadable: " + err.Error()
		return f
	}
	have := map[string]bool{}
	var counted, other []string
	for _, t := range totals {
		have[t.Slug] = true
		s := fmt.Sprintf("%s (%d)", t.Slug, t.Total)
		if i.cfg.Counts(t.Slug) {
			counted = append(counted, s)
		} else {
			other = append(other, s)
		}
	}
	var missing []string
	for _, s := range i.cfg.SaleStatuses {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	f.Detail = "counted as sales: " + strings.Join(counted, ", ") + "; not counted: " + strings.Join(other, ", ")
	if len(missing) > 0 {
		f.Detail = fmt.Sprintf("woocommerce.sale_statuses names %s, which this shop does not have; %s", strings.Join(missing, ", "), f.Detail)
		f.Fix = "set woocommerce.sale_statuses to statuses the shop has (slugs as listed)"
		return f
	}
	f.OK = true
	return f
}
