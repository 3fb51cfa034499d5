package shopifytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure the double. The zero value is a Standard-plan shop
// named "acme" on the real clock.
type Options struct {
	Shop         Shop
	Clock        Clock         // nil: real time; a *VirtualClock for fast, exact tests
	BucketSize   float64       // points; default 2000
	RestoreRate  float64       // points per second; default 100
	MaxCost      int           // most a single query may request; default 1000
	Throttle429  bool          // answer THROTTLED with HTTP 429 instead of 200
	SearchLag    time.Duration // writes reach the orders search index after this; default 5s, negative for none
	Versions     []string      // supported API versions, oldest first; default DefaultVersions()
	Latency      time.Duration // with a *VirtualClock: how long each request takes
	TokenTTL     time.Duration // lifetime of client-credentials tokens; default 24h
	BulkDuration time.Duration // how long a bulk query runs; default 0 (done at the first poll)
	Scopes       []string      // the app's access scopes; default read_orders, read_locations
	// StaffPlanless: the shop's plan is below Advanced, so staffMember is
	// denied even with read_users.
	StaffPlanless bool
	// UngroupedBulk ignores groupObjects, as older API versions do: every
	// child line comes after all parent lines instead of under its parent.
	UngroupedBulk bool
}

// DefaultVersions are the API versions the double supports by default,
// oldest first.
func DefaultVersions() []string {
	return []string{"2025-10", "2026-01", "2026-04", "2026-07", "2026-10"}
}

// ShopState is the shop's standing with Shopify.
type ShopState int

const (
	ShopOK       ShopState = iota
	ShopFrozen             // unpaid bill: HTTP 402
	ShopLocked             // locked by Shopify: HTTP 423
	ShopNotFound           // no such shop: HTTP 404
)

// Stats count what the double saw.
type Stats struct {
	Requests      int     // GraphQL requests received
	Throttled     int     // answered THROTTLED
	Failed        int     // failures injected
	PointsCharged float64 // sum of actualQueryCost
	TokensIssued  int     // client-credentials tokens issued
	BulkRuns      int     // bulk query operations started
	OrdersServed  int     // orders returned by orders connections (paged and bulk)
}

// Server is an httptest server that behaves like the Shopify GraphQL Admin
// API of one shop.
type Server struct {
	URL  string
	http *httptest.Server
	opts Options
	sch  schemaDef

	mu        sync.Mutex
	seq       int64
	orderSeq  int64
	locations []*Location
	orders    map[int64]*order
	entries   []indexEntry
	dirty     bool

	scopes     map[string]bool
	legacy     map[string]bool
	clients    map[string]string // client id -> secret
	issued     map[string]time.Time
	revoked    bool
	state      ShopState
	deniedData bool

	avail  float64
	lastAt time.Time

	failNext   []int
	resetNext  int
	bulkOps    []*bulkOp
	failBulk   string
	stats      Stats
	lastQuery  string
	lastIssued string
}

// NewServer starts the double; it is closed when the test ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := newServer(opts)
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	tb.Cleanup(s.Close)
	return s
}

func newServer(opts Options) *Server {
	if opts.Shop.Name == "" {
		opts.Shop.Name = "acme"
	}
	if opts.Shop.DisplayName == "" {
		opts.Shop.DisplayName = "Acme"
	}
	if opts.Shop.IANATimezone == "" {
		opts.Shop.IANATimezone = "America/Toronto"
	}
	if opts.Shop.Currency == "" {
		opts.Shop.Currency = "CAD"
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.BucketSize == 0 {
		opts.BucketSize = 2000
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = 100
	}
	if opts.MaxCost == 0 {
		opts.MaxCost = 1000
	}
	if opts.SearchLag == 0 {
		opts.SearchLag = 5 * time.Second
	} else if opts.SearchLag < 0 {
		opts.SearchLag = 0
	}
	if len(opts.Versions) == 0 {
		opts.Versions = DefaultVersions()
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.Scopes == nil {
		opts.Scopes = []string{"read_orders", "read_locations"}
	}
	s := &Server{
		opts: opts, sch: buildSchema(), orders: map[int64]*order{},
		legacy: map[string]bool{}, clients: map[string]string{}, issued: map[string]time.Time{},
		avail: opts.BucketSize, lastAt: opts.Clock.Now(),
	}
	s.setScopes(opts.Scopes)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.http.Client() }

// Now is the double's time.
func (s *Server) Now() time.Time { return s.opts.Clock.Now() }

// AddToken accepts a legacy admin token (shpat_…), which never expires.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legacy[token] = true
}

// RevokeToken stops accepting a legacy token, as when the custom app is
// uninstalled or its creator removed from the shop: requests with it get 401.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.legacy, token)
}

// AddClient accepts a client id and secret for the client-credentials grant.
func (s *Server) AddClient(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = secret
}

// SetScopes sets the app's granted access scopes.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setScopes(scopes)
}

func (s *Server) setScopes(scopes []string) {
	s.scopes = map[string]bool{}
	for _, sc := range scopes {
		s.scopes[sc] = true
	}
}

// Uninstall revokes everything, as when the custom app is uninstalled or its
// creator is removed from the shop: every token answers 401 and the client
// credentials are refused.
func (s *Server) Uninstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// ExpireTokens makes every client-credentials token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.issued {
		s.issued[t] = time.Time{}
	}
}

// SetShopState freezes, locks, or removes the shop (or restores it).
func (s *Server) SetShopState(st ShopState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
}

// FailNext makes the next GraphQL requests answer these HTTP statuses, one
// each, with the bodies Shopify sends for them.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// ResetNext makes the next n GraphQL requests drop the connection without an
// answer.
func (s *Server) ResetNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetNext += n
}

// DrainBucket empties the rate-limit bucket.
func (s *Server) DrainBucket() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refill()
	s.avail = 0
}

// DenyProtectedCustomerData makes order fields answer ACCESS_DENIED as for an
// app that was not granted protected customer data access.
func (s *Server) DenyProtectedCustomerData(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deniedData = deny
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// LastQuery is the text of the last GraphQL query received.
func (s *Server) LastQuery() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastQuery
}

var (
	_ http.Handler = (*Server)(nil)
	_ Clock        = (*VirtualClock)(nil)
)

var graphqlPath = regexp.MustCompile(`^/admin/api/([^/]+)/graphql\.json$`)

// ServeHTTP routes like Shopify's admin host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/admin/oauth/access_token" && r.Method == http.MethodPost:
		s.serveToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/bulk/") && r.Method == http.MethodGet:
		s.serveBulkFile(w, r)
	case graphqlPath.MatchString(r.URL.Path) && r.Method == http.MethodPost:
		s.serveGraphQL(w, r, graphqlPath.FindStringSubmatch(r.URL.Path)[1])
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := appendJSON(nil, v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	vals := url.Values{}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		var m map[string]string
		_ = json.Unmarshal(body, &m)
		for k, v := range m {
			vals.Set(k, v)
		}
	} else {
		vals, _ = url.ParseQuery(string(body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == ShopNotFound {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if vals.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type",
			"error_description": "The authorization grant type is not supported by the authorization server."})
		return
	}
	secret, ok := s.clients[vals.Get("client_id")]
	if !ok || s.revoked || secret != vals.Get("client_secret") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_client",
			"error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "shpat_" + hex.EncodeToString(b)
	s.issued[tok] = s.opts.Clock.Now().Add(s.opts.TokenTTL)
	s.stats.TokensIssued++
	s.lastIssued = tok
	scopes := slices.Sorted(maps.Keys(s.scopes))
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "scope": strings.Join(scopes, ","),
		"expires_in": int(s.opts.TokenTTL / time.Second)})
}

func (s *Server) authorised(tok string) bool {
	if tok == "" || s.revoked {
		return false
	}
	if s.legacy[tok] {
		return true
	}
	exp, ok := s.issued[tok]
	return ok && s.opts.Clock.Now().Before(exp)
}

// servedVersion is the version Shopify answers a request for v with: an
// unsupported old version falls forward to the oldest supported one.
func (s *Server) servedVersion(v string) (string, bool) {
	if v == "unstable" || slices.Contains(s.opts.Versions, v) {
		return v, true
	}
	if len(v) == 7 && v[4] == '-' && v < s.opts.Versions[0] {
		return s.opts.Versions[0], true
	}
	return "", false
}

func failureBody(status int) any {
	switch status {
	case http.StatusUnauthorized:
		return map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
	case http.StatusPaymentRequired:
		return map[string]any{"errors": "Unavailable Shop"}
	case http.StatusForbidden:
		return map[string]any{"errors": "[API] This action requires merchant approval for read_orders scope."}
	case http.StatusNotFound:
		return map[string]any{"errors": "Not Found"}
	case http.StatusLocked:
		return map[string]any{"errors": "This shop is unavailable"}
	case http.StatusTooManyRequests:
		return map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
	}
	return map[string]any{"errors": "Internal Server Error"}
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request, version string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if vc, ok := s.opts.Clock.(*VirtualClock); ok && s.opts.Latency > 0 {
		vc.Advance(s.opts.Latency)
	}
	if s.resetNext > 0 {
		s.resetNext--
		s.stats.Failed++
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if len(s.failNext) > 0 {
		st := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.stats.Failed++
		writeJSON(w, st, failureBody(st))
		return
	}
	switch s.state {
	case ShopNotFound:
		writeJSON(w, http.StatusNotFound, failureBody(http.StatusNotFound))
		return
	case ShopFrozen:
		writeJSON(w, http.StatusPaymentRequired, failureBody(http.StatusPaymentRequired))
		return
	case ShopLocked:
		writeJSON(w, http.StatusLocked, failureBody(http.StatusLocked))
		return
	}
	served, ok := s.servedVersion(version)
	if !ok {
		writeJSON(w, http.StatusNotFound, failureBody(http.StatusNotFound))
		return
	}
	w.Header().Set("X-Shopify-Api-Version", served)
	if !s.authorised(r.Header.Get("X-Shopify-Access-Token")) {
		writeJSON(w, http.StatusUnauthorized, failureBody(http.StatusUnauthorized))
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err != nil || dec.Decode(&req) != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}
	s.lastQuery = req.Query
	status, resp := s.run(req.Query, req.Variables, req.OperationName, served)
	writeJSON(w, status, resp)
}

// refill leaks the bucket back up to its size at the restore rate.
func (s *Server) refill() {
	now := s.opts.Clock.Now()
	if el := now.Sub(s.lastAt).Seconds(); el > 0 {
		s.avail = math.Min(s.opts.BucketSize, s.avail+el*s.opts.RestoreRate)
	}
	s.lastAt = now
}

func (s *Server) throttleStatus() ordered {
	return ordered{{"maximumAvailable", s.opts.BucketSize}, {"currentlyAvailable", math.Floor(s.avail)},
		{"restoreRate", s.opts.RestoreRate}}
}

// run executes one GraphQL request and returns the HTTP status and body.
func (s *Server) run(query string, vars map[string]any, opName, version string) (int, any) {
	doc, err := parseDocument(query)
	if err != nil {
		return http.StatusOK, ordered{{"errors", []any{err}}}
	}
	var op *operation
	for _, o := range doc.ops {
		if opName == "" || o.name == opName {
			op = o
			break
		}
	}
	if op == nil || (opName == "" && len(doc.ops) > 1) {
		return http.StatusOK, ordered{{"errors", []any{&gqlError{Message: "An operation name is required", Code: "operationNotFound"}}}}
	}
	if vars == nil {
		vars = map[string]any{}
	}
	for _, vd := range op.vars {
		if _, ok := vars[vd.name]; !ok && vd.def != nil {
			vars[vd.name], _ = vd.def.resolve(nil)
		}
	}
	rootType := "QueryRoot"
	if op.kind == "mutation" {
		rootType = "Mutation"
	}
	e := &exec{s: s.sch, doc: doc, vars: vars, scopes: s.scopes}
	requested := e.analyze(rootType, op.sel, nil, 0)
	if len(e.errs) > 0 {
		return http.StatusOK, ordered{{"errors", e.errs}}
	}
	if requested > s.opts.MaxCost {
		return http.StatusOK, ordered{{"errors", []any{&gqlError{
			Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n", requested, s.opts.MaxCost),
			Code:    "MAX_COST_EXCEEDED", Extra: map[string]any{"cost": requested, "maxCost": s.opts.MaxCost},
		}}}}
	}
	s.refill()
	if float64(requested) > s.avail {
		s.stats.Throttled++
		status := http.StatusOK
		if s.opts.Throttle429 {
			status = http.StatusTooManyRequests
		}
		return status, ordered{
			{"errors", []any{&gqlError{Message: "Throttled", Code: "THROTTLED",
				Extra: map[string]any{"documentation": "https://shopify.dev/api/usage/rate-limits"}}}},
			{"extensions", ordered{{"cost", ordered{{"requestedQueryCost", requested}, {"actualQueryCost", nil},
				{"throttleStatus", s.throttleStatus()}}}}},
		}
	}
	s.avail -= float64(requested)
	q := &queryRun{s: s, now: s.opts.Clock.Now(), version: version}
	root := q.root(rootType)
	data := e.object(root, op.sel, nil)
	actual := e.actual
	if op.kind == "mutation" {
		actual = 10 * len(op.sel)
	}
	actual = min(actual, requested)
	s.avail = math.Min(s.opts.BucketSize, s.avail+float64(requested-actual))
	s.stats.PointsCharged += float64(actual)
	resp := ordered{{"data", data}}
	if len(e.errs) > 0 {
		resp = append(resp, kv{"errors", e.errs})
	}
	ext := ordered{{"cost", ordered{{"requestedQueryCost", requested}, {"actualQueryCost", actual},
		{"throttleStatus", s.throttleStatus()}}}}
	if len(q.search) > 0 {
		ext = append(ext, kv{"search", q.search})
	}
	return http.StatusOK, append(resp, kv{"extensions", ext})
}
