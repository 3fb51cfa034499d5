package vend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Options are the importer's collaborators.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// Sleep waits for back-off, Retry-After and pacing; it must return early
	// with ctx's error. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// TokenStore keeps the OAuth token (required with client_id).
	TokenStore TokenStore
	// MaxAttempts bounds the tries of one request (default 6).
	MaxAttempts int
}

// Importer reads one Lightspeed store.
type Importer struct {
	cfg      Config
	bindings []record.Binding
	log      *slog.Logger
	now      func() time.Time
	c        *client

	mu       sync.Mutex
	outlets  map[string]apiOutlet      // by outlet id
	byOutlet map[string]record.Binding // outlet id -> binding
	users    map[string]apiUser
	usersAt  time.Time
	// products caches SKUs and names by product id (product.go).
	products        map[string]product
	productsAfter   int64
	productsRefused bool
}

// Cursor phases.
const (
	phaseSeek   = "seek"
	phaseSales  = "sales"
	phaseShifts = "shifts"
	phaseDone   = "done"
)

const cursorVersion = 1

// cursor is the opaque state between Fetch calls.
type cursor struct {
	V           int    `json:"v"`
	SalesAfter  int64  `json:"sales_after"`
	ShiftsAfter int64  `json:"shifts_after"`
	Phase       string `json:"phase"`
	// Seek, when set, is the time the feeds are first positioned at.
	Seek *time.Time `json:"seek,omitempty"`
	// Since and Until bound a backfill: only sales (by sale_date) and shifts
	// (by time_in) inside [Since, Until) are emitted, and the walk ends.
	Since    *time.Time `json:"since,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
	Backfill bool       `json:"backfill,omitempty"`
	// Sales keeps, per user and outlet, when they made sales in the last
	// spanKeep, to place their shifts (shifts carry no outlet).
	Sales map[string]map[string]times `json:"sales_seen,omitempty"`
	// Seen is the older summary, spans of sales; written by earlier
	// versions, only read (a span counts when it lies wholly inside a
	// shift's window) until it ages out.
	Seen map[string][]span `json:"seen,omitempty"`
}

// span is a stretch of sales by one user at one outlet.
type span struct {
	O string `json:"o"` // outlet id
	F int64  `json:"f"` // first sale, unix seconds
	T int64  `json:"t"` // last sale, unix seconds
	N int    `json:"n"` // sales
}

// seekMargin is how far before the wanted start the feeds are positioned, for
// clock skew between a sale's date and its last update.
const seekMargin = time.Hour

// New builds an importer. It makes no network call.
func New(cfg Config, bindings []record.Binding, opts Options) (*Importer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
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
	a := &auth{hc: opts.HTTPClient, now: opts.Now, tokenURL: cfg.APIBase() + "/api/1.0/token"}
	if cfg.UsesOAuth() {
		if opts.TokenStore == nil {
			return nil, errors.New("vend: an OAuth connection (client_id) needs a token store")
		}
		sec, err := cfg.ClientSecretRef().Resolve()
		if err != nil {
			return nil, fmt.Errorf("vend.client_secret: %w", err)
		}
		a.store, a.clientID, a.clientSecret = opts.TokenStore, cfg.ClientID, sec
	} else {
		tok, err := cfg.TokenRef().Resolve()
		if err != nil {
			return nil, fmt.Errorf("vend.token: %w", err)
		}
		a.personal = tok
	}
	var errs []error
	for _, b := range bindings {
		if b.LocationID == "" || strings.TrimSpace(b.SourceID) == "" {
			errs = append(errs, fmt.Errorf("vend: location %q: the outlet id is empty", b.LocationID))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := opts.Logger.With("source", record.SourceVend)
	return &Importer{
		cfg:      cfg,
		bindings: append([]record.Binding(nil), bindings...),
		log:      log,
		now:      opts.Now,
		c: &client{
			hc: opts.HTTPClient, base: cfg.APIBase(), log: log, now: opts.Now,
			sleep: opts.Sleep, maxAttempts: opts.MaxAttempts, auth: a,
		},
	}, nil
}

// Name is the source's name.
func (i *Importer) Name() string { return record.SourceVend }

// BackfillCursor returns a cursor that makes Fetch walk [since, until) and
// then return More=false.
func (i *Importer) BackfillCursor(since, until time.Time) ([]byte, error) {
	if !since.Before(until) {
		return nil, fmt.Errorf("vend: backfill: since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	seek := since.Add(-seekMargin).UTC()
	s, u := since.UTC(), until.UTC()
	return json.Marshal(cursor{V: cursorVersion, Phase: phaseSeek, Seek: &seek, Since: &s, Until: &u, Backfill: true})
}

func (i *Importer) decodeCursor(raw []byte) (cursor, error) {
	if len(raw) == 0 {
		seek := i.now().Add(-time.Duration(i.cfg.BackfillDays) * 24 * time.Hour).Add(-seekMargin).UTC()
		return cursor{V: cursorVersion, Phase: phaseSeek, Seek: &seek}, nil
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return cursor{}, fmt.Errorf("vend: the saved cursor is unreadable (%v): reset the vend state or run a backfill", err)
	}
	if c.V != cursorVersion {
		return cursor{}, fmt.Errorf("vend: the saved cursor has version %d, this agent reads version %d", c.V, cursorVersion)
	}
	switch c.Phase {
	case phaseSeek, phaseSales, phaseShifts, phaseDone:
	default:
		return cursor{}, fmt.Errorf("vend: the saved cursor has an unknown phase %q", c.Phase)
	}
	return c, nil
}

// Fetch reads one API page. See the package README for the cursor's walk.
func (i *Importer) Fetch(ctx context.Context, raw []byte) (record.Page, error) {
	cur, err := i.decodeCursor(raw)
	if err != nil {
		return record.Page{}, err
	}
	if err := i.ensureOutlets(ctx, false); err != nil {
		return record.Page{}, err
	}
	var page record.Page
	switch cur.Phase {
	case phaseSeek:
		page, err = i.seekPage(ctx, &cur)
	case phaseSales:
		page, err = i.salesPage(ctx, &cur)
	case phaseShifts:
		page, err = i.shiftsPage(ctx, &cur)
	case phaseDone:
		return record.Page{Cursor: raw}, nil
	}
	if err != nil {
		return record.Page{}, err
	}
	page.Cursor, err = json.Marshal(cur)
	if err != nil {
		return record.Page{}, fmt.Errorf("vend: encode cursor: %w", err)
	}
	if n := i.c.deprecationNote(i.now()); n != "" {
		page.Notes = append(page.Notes, n)
	}
	return page, nil
}

// seekPage positions both feeds at the version current at cur.Seek, so a
// first run or a backfill does not walk the store's whole history.
func (i *Importer) seekPage(ctx context.Context, cur *cursor) (record.Page, error) {
	at := *cur.Seek
	v, err := i.seek(ctx, "/api/2.0/sales", at)
	if err != nil {
		return record.Page{}, err
	}
	cur.SalesAfter = v
	var page record.Page
	if i.cfg.StaffEnabled() {
		cur.ShiftsAfter, err = i.seek(ctx, "/api/2.0/shifts", at)
		if note, ok := shiftsUnavailable(err); ok {
			page.Notes = append(page.Notes, note)
		} else if err != nil {
			return record.Page{}, err
		}
	}
	cur.Seek = nil
	cur.Phase = phaseSales
	page.More = true
	return page, nil
}

// seek finds the feed position (an `after` value) past every record last
// changed before t. Versions grow with time, so the first record after a
// version v changed no earlier than those before it: a binary search over
// versions with one-record probes finds the boundary in about 2·log2(max)
// requests.
func (i *Importer) seek(ctx context.Context, path string, t time.Time) (int64, error) {
	probe := func(v int64) (probeItem, bool, error) {
		p, err := feed[probeItem](ctx, i.c, path, v, 1)
		if err != nil || len(p.Data) == 0 {
			return probeItem{}, false, err
		}
		return p.Data[0], true, nil
	}
	before := func(it probeItem) bool {
		w, ok := it.when()
		return ok && w.Before(t)
	}
	first, ok, err := probe(0)
	if err != nil || !ok || !before(first) {
		return 0, err
	}
	lo := first.Version // lo is a record changed before t
	hi := max(lo*2, lo+1024)
	for {
		it, ok, err := probe(hi)
		if err != nil {
			return 0, err
		}
		if !ok || !before(it) {
			break
		}
		lo, hi = it.Version, max(it.Version*2, it.Version+1024)
	}
	// Invariant: record lo changed before t; the first record after hi did not.
	for lo < hi {
		mid := lo + (hi-lo)/2
		it, ok, err := probe(mid)
		if err != nil {
			return 0, err
		}
		if ok && before(it) && it.Version <= hi {
			lo = it.Version
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// salesPage reads one page of the sales feed.
func (i *Importer) salesPage(ctx context.Context, cur *cursor) (record.Page, error) {
	p, err := feed[apiSale](ctx, i.c, "/api/2.0/sales", cur.SalesAfter, i.cfg.PageSize)
	if err != nil {
		return record.Page{}, err
	}
	if len(p.Data) == 0 {
		if i.cfg.StaffEnabled() {
			cur.Phase = phaseShifts
			return record.Page{More: true}, nil
		}
		return i.endRun(cur), nil
	}
	var page record.Page
	note, err := i.ensureProducts(ctx, p.Data)
	if err != nil {
		return record.Page{}, err
	}
	if note != "" {
		page.Notes = append(page.Notes, note)
	}
	skipped := newSkips()
	refreshed := false
	next := cur.SalesAfter
	for _, s := range p.Data {
		next = max(next, s.Version)
		if _, known := i.outlet(s.OutletID); !known && !refreshed && s.OutletID != "" {
			refreshed = true // a new outlet: read the list again, once per page
			if err := i.ensureOutlets(ctx, true); err != nil {
				return record.Page{}, err
			}
		}
		rec, note, err := i.saleRecord(s, cur, skipped)
		if err != nil {
			return record.Page{}, err
		}
		if note != "" {
			page.Notes = append(page.Notes, note)
		}
		if rec != nil {
			page.Records = append(page.Records, *rec)
		}
	}
	next, ok := p.resume(cur.SalesAfter, next)
	if !ok {
		return record.Page{}, fmt.Errorf("vend: the sales feed did not advance past version %d", cur.SalesAfter)
	}
	cur.SalesAfter = next
	page.Notes = append(page.Notes, skipped.notes()...)
	page.More = true
	return page, nil
}

// shiftsPage reads one page of the shifts feed.
func (i *Importer) shiftsPage(ctx context.Context, cur *cursor) (record.Page, error) {
	p, err := feed[apiShift](ctx, i.c, "/api/2.0/shifts", cur.ShiftsAfter, i.cfg.PageSize)
	if note, ok := shiftsUnavailable(err); ok {
		page := i.endRun(cur)
		page.Notes = []string{note}
		return page, nil
	}
	if err != nil {
		return record.Page{}, err
	}
	if len(p.Data) == 0 {
		return i.endRun(cur), nil
	}
	if err := i.ensureUsers(ctx, p.Data); err != nil {
		return record.Page{}, err
	}
	var page record.Page
	next := cur.ShiftsAfter
	for _, s := range p.Data {
		next = max(next, s.Version)
		rec, note := i.shiftRecord(s, cur)
		if note != "" {
			page.Notes = append(page.Notes, note)
		}
		if rec != nil {
			page.Records = append(page.Records, *rec)
		}
	}
	next, ok := p.resume(cur.ShiftsAfter, next)
	if !ok {
		return record.Page{}, fmt.Errorf("vend: the shifts feed did not advance past version %d", cur.ShiftsAfter)
	}
	cur.ShiftsAfter = next
	page.More = true
	return page, nil
}

// shiftsUnavailable says whether the shifts feed is missing for this store
// (no timeclock, or no access to it): the sales go on, with a note.
func shiftsUnavailable(err error) (string, bool) {
	var ae *apiError
	if errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound) {
		return "staff shifts could not be read (" + ae.Msg + "): staff hours are not imported; set vend.staff: false if the store does not use the timeclock", true
	}
	return "", false
}

// endRun closes a run: a backfill is done for good; the main cursor starts
// its next run at the sales feed.
func (i *Importer) endRun(cur *cursor) record.Page {
	if cur.Backfill {
		cur.Phase = phaseDone
		cur.Seen, cur.Sales = nil, nil
	} else {
		cur.Phase = phaseSales
	}
	return record.Page{More: false}
}

func (i *Importer) outlet(id string) (apiOutlet, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	o, ok := i.outlets[id]
	return o, ok
}

func (i *Importer) binding(outletID string) (record.Binding, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	b, ok := i.byOutlet[outletID]
	return b, ok
}

// ensureOutlets reads the outlet list (once, or again when force) and
// resolves the bindings against it.
func (i *Importer) ensureOutlets(ctx context.Context, force bool) error {
	i.mu.Lock()
	have := i.outlets != nil
	i.mu.Unlock()
	if have && !force {
		return nil
	}
	list, err := i.listOutlets(ctx)
	if err != nil {
		return err
	}
	byOutlet, err := resolve(i.bindings, list)
	if err != nil {
		return err
	}
	m := make(map[string]apiOutlet, len(list))
	for _, o := range list {
		m[o.ID] = o
	}
	i.mu.Lock()
	i.outlets, i.byOutlet = m, byOutlet
	i.mu.Unlock()
	return nil
}

func (i *Importer) listOutlets(ctx context.Context) ([]apiOutlet, error) {
	return listAll(ctx, i.c, "/api/2.0/outlets", i.cfg.PageSize, func(o apiOutlet) int64 { return o.Version })
}

// ensureUsers reads the users once per hour, or again when a shift names a
// user not yet known.
func (i *Importer) ensureUsers(ctx context.Context, shifts []apiShift) error {
	i.mu.Lock()
	stale := i.users == nil || i.now().Sub(i.usersAt) > time.Hour
	for _, s := range shifts {
		if _, ok := i.users[s.UserID]; !ok && s.UserID != "" {
			stale = true
		}
	}
	fresh := !i.usersAt.IsZero() && i.now().Sub(i.usersAt) < time.Minute
	i.mu.Unlock()
	if !stale || fresh {
		return nil
	}
	list, err := listAll(ctx, i.c, "/api/2.0/users", i.cfg.PageSize, func(u apiUser) int64 { return u.Version })
	if err != nil {
		return err
	}
	m := make(map[string]apiUser, len(list))
	for _, u := range list {
		m[u.ID] = u
	}
	i.mu.Lock()
	i.users, i.usersAt = m, i.now()
	i.mu.Unlock()
	return nil
}

// resolve maps each outlet to its binding. A binding's SourceID is the full
// outlet id or its last characters (TMAS uses the last 8).
func resolve(bindings []record.Binding, outlets []apiOutlet) (map[string]record.Binding, error) {
	out := make(map[string]record.Binding, len(bindings))
	var errs []error
	for _, b := range bindings {
		id, err := matchOutlet(b.SourceID, outlets)
		if err != nil {
			errs = append(errs, fmt.Errorf("vend: location %s: %w", b.LocationID, err))
			continue
		}
		if prev, dup := out[id]; dup {
			errs = append(errs, fmt.Errorf("vend: locations %s and %s are both bound to outlet %s", prev.LocationID, b.LocationID, id))
			continue
		}
		out[id] = b
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func matchOutlet(sourceID string, outlets []apiOutlet) (string, error) {
	want := strings.ToLower(strings.TrimSpace(sourceID))
	var hits []apiOutlet
	for _, o := range outlets {
		id := strings.ToLower(o.ID)
		if id == want {
			return o.ID, nil
		}
		if len(want) < len(id) && strings.HasSuffix(id, want) {
			hits = append(hits, o)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].ID, nil
	case 0:
		return "", fmt.Errorf("no Lightspeed outlet has the id %q (list them with `storeagent locations vend`)", sourceID)
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].ID < hits[b].ID })
	names := make([]string, len(hits))
	for k, o := range hits {
		names[k] = fmt.Sprintf("%q (%s)", o.Name, o.ID)
	}
	return "", fmt.Errorf("the outlet id %q is ambiguous: it ends %s; give the full outlet id", sourceID, strings.Join(names, " and "))
}

// zone is where a location's hours are counted: the binding's zone, else the
// outlet's, else UTC.
func (i *Importer) zone(b record.Binding, outletID string) *time.Location {
	if b.Zone != nil {
		return b.Zone
	}
	if o, ok := i.outlet(outletID); ok && o.TimeZone != "" {
		if z, err := time.LoadLocation(o.TimeZone); err == nil {
			return z
		}
	}
	return time.UTC
}

// Locations lists the store's outlets, with the last 8 characters of each id
// that TMAS uses as the location id.
func (i *Importer) Locations(ctx context.Context) ([]record.Location, error) {
	list, err := i.listOutlets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]record.Location, 0, len(list))
	for _, o := range list {
		l := record.Location{ID: o.ID, Name: o.Name, TimeZone: o.TimeZone, Active: !set(o.DeletedAt)}
		if len(o.ID) > 8 {
			l.Note = "TMAS location id: " + o.ID[len(o.ID)-8:]
		}
		if !l.Active {
			l.Note = strings.TrimSpace(l.Note + " (deleted)")
		}
		out = append(out, l)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// Check reports, for `doctor`, whether the credentials work, the location
// mapping matches the outlet list, and the feeds can be read.
func (i *Importer) Check(ctx context.Context) []record.Finding {
	var fs []record.Finding
	list, err := i.listOutlets(ctx)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusGone {
		return append(fs, record.Finding{Check: "vend API version", OK: false, Detail: err.Error(), Fix: "upgrade storeagent"})
	}
	if err != nil {
		fix := "check vend.domain_prefix and the token"
		if errors.Is(err, ErrReconnect) || errors.Is(err, ErrNotConnected) || strings.Contains(err.Error(), "(401)") {
			fix = "run `storeagent connect vend` (or replace the personal token)"
		}
		return append(fs, record.Finding{Check: "vend credentials", OK: false, Detail: err.Error(), Fix: fix})
	}
	fs = append(fs, record.Finding{Check: "vend credentials", OK: true, Detail: fmt.Sprintf("%s: %d outlets readable", i.cfg.DomainPrefix, len(list))})
	byID := map[string]apiOutlet{}
	for _, o := range list {
		byID[o.ID] = o
	}
	currencyMissing := false
	for _, b := range i.bindings {
		f := record.Finding{Check: "vend location " + b.LocationID}
		id, err := matchOutlet(b.SourceID, list)
		if err != nil {
			f.Detail, f.Fix = err.Error(), "set the location's vend id to a full outlet id or its last 8 characters from `storeagent locations vend`"
		} else {
			o := byID[id]
			f.OK = true
			f.Detail = fmt.Sprintf("outlet %q (%s, %s)", o.Name, o.ID, o.TimeZone)
			if set(o.DeletedAt) {
				f.OK, f.Fix = false, "this outlet is deleted in Lightspeed: bind the location to another outlet"
			}
			if o.Currency == "" && i.cfg.Currency == "" {
				currencyMissing = true
			}
		}
		fs = append(fs, f)
	}
	if len(i.bindings) == 0 {
		fs = append(fs, record.Finding{Check: "vend locations", OK: false, Detail: "no location is bound to a Lightspeed outlet", Fix: "add `vend: <outlet id>` to the locations that use Lightspeed"})
	}
	if currencyMissing {
		fs = append(fs, record.Finding{Check: "vend currency", OK: false, Detail: "Lightspeed does not say the currency of a bound outlet", Fix: "set vend.currency (e.g. NZD)"})
	}
	if _, err := feed[probeItem](ctx, i.c, "/api/2.0/sales", 0, 1); err != nil {
		fs = append(fs, record.Finding{Check: "vend sales", OK: false, Detail: err.Error(), Fix: "the connection needs the sales:read scope"})
	} else {
		fs = append(fs, record.Finding{Check: "vend sales", OK: true})
	}
	if _, err := feed[probeItem](ctx, i.c, "/api/2.0/products", 0, 1); err != nil {
		fs = append(fs, record.Finding{Check: "vend products", OK: false, Detail: err.Error() + ": sale lines carry no SKU", Fix: "the connection needs the products:read scope: run `storeagent connect vend` again (or use a personal token)"})
	} else {
		fs = append(fs, record.Finding{Check: "vend products", OK: true})
	}
	if i.cfg.StaffEnabled() {
		_, errS := feed[probeItem](ctx, i.c, "/api/2.0/shifts", 0, 1)
		_, errU := feed[probeItem](ctx, i.c, "/api/2.0/users", 0, 1)
		if err := errors.Join(errS, errU); err != nil {
			fs = append(fs, record.Finding{Check: "vend staff shifts", OK: false, Detail: err.Error(), Fix: "the connection needs access to shifts and users, or set vend.staff: false"})
		} else {
			fs = append(fs, record.Finding{Check: "vend staff shifts", OK: true})
		}
	}
	if d := i.c.deprecated(); d != "" {
		fs = append(fs, record.Finding{Check: "vend API version", OK: false, Detail: d, Fix: "upgrade storeagent to a version that speaks a dated Lightspeed API"})
	}
	if d := i.cfg.DefaultLocation; d != "" {
		found := false
		for _, b := range i.bindings {
			found = found || b.LocationID == d
		}
		f := record.Finding{Check: "vend default_location", OK: found, Detail: d}
		if !found {
			f.Detail = fmt.Sprintf("%s is not bound to a Lightspeed outlet; its shifts are counted in UTC", d)
			f.Fix = "bind that location to an outlet, or pick a bound one"
		}
		fs = append(fs, f)
	}
	return fs
}
