package vendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultNow is where the double's clock starts.
var DefaultNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// Defaults of the double.
const (
	DefaultPageSize = 200
	MaxPageSize     = 10000
	CodeTTL         = 10 * time.Minute
	RateWindow      = 5 * time.Minute
)

// Server is the double. Its exported methods are the scenario builder; all
// are safe for concurrent use.
type Server struct {
	URL string

	srv *httptest.Server
	mu  sync.Mutex

	now     time.Time
	version int64
	edits   int64
	prefix  string

	personal     map[string]bool
	clientID     string
	clientSecret string
	codes        map[string]*authCode
	access       map[string]time.Time // access token -> expiry
	refresh      map[string]bool      // live refresh tokens
	accessTTL    time.Duration

	outlets   map[string]*outletRow
	registers map[string]*registerRow
	users     map[string]*userRow
	sales     map[string]*saleRow
	shifts    map[string]*shiftRow
	products  map[string]*productRow
	seq       int

	budget      int
	windowStart time.Time
	used        int

	maxPage    int
	shortPages bool
	// deprecation and sunset are sent on every API answer when set; retired
	// answers 410 Gone.
	deprecation, sunset string
	retired             bool
	faults              []fault
	requests            []string
}

type authCode struct {
	redirect string
	issued   time.Time
	used     bool
}

type fault struct {
	path   string // prefix; "" any API path
	status int    // 0: drop the connection
}

// Option configures a new Server.
type Option func(*Server)

// WithPersonalToken accepts a personal token.
func WithPersonalToken(tok string) Option { return func(s *Server) { s.personal[tok] = true } }

// WithClient registers an OAuth application.
func WithClient(id, secret string) Option {
	return func(s *Server) { s.clientID, s.clientSecret = id, secret }
}

// WithNow sets the starting time of the clock.
func WithNow(t time.Time) Option { return func(s *Server) { s.now = t } }

// NewServer starts a double; it is closed when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	s := &Server{
		now:       DefaultNow,
		version:   1000,
		prefix:    "acme",
		personal:  map[string]bool{},
		codes:     map[string]*authCode{},
		access:    map[string]time.Time{},
		refresh:   map[string]bool{},
		accessTTL: time.Hour,
		outlets:   map[string]*outletRow{},
		registers: map[string]*registerRow{},
		users:     map[string]*userRow{},
		sales:     map[string]*saleRow{},
		shifts:    map[string]*shiftRow{},
		products:  map[string]*productRow{},
		maxPage:   MaxPageSize,
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /connect", s.authorize)
	mux.HandleFunc("POST /api/1.0/token", s.token)
	mux.HandleFunc("GET /api/2.0/outlets", s.api(func() []row { return rows(s.outlets) }))
	mux.HandleFunc("GET /api/2.0/registers", s.api(func() []row { return rows(s.registers) }))
	mux.HandleFunc("GET /api/2.0/users", s.api(func() []row { return rows(s.users) }))
	mux.HandleFunc("GET /api/2.0/sales", s.api(func() []row { return rows(s.sales) }))
	mux.HandleFunc("GET /api/2.0/shifts", s.api(func() []row { return rows(s.shifts) }))
	mux.HandleFunc("GET /api/2.0/products", s.api(func() []row { return rows(s.products) }))
	mux.HandleFunc("GET /api/2.0/products/{id}", s.one(func(id string) (row, bool) {
		p, ok := s.products[id]
		return p, ok
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.log(r)
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not Found", "message": "no such endpoint"})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// DomainPrefix is the store's name.
func (s *Server) DomainPrefix() string { return s.prefix }

// Now reads the double's clock (pass it as the importer's Options.Now).
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// SetNow sets the clock.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = t
}

// Advance moves the clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Sleep is a fake sleeper for the importer's Options.Sleep: it advances the
// clock by d at once and records the wait.
func (s *Server) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.requests = append(s.requests, "sleep "+d.String())
	return nil
}

// Requests lists what the double saw, in order: "GET /api/2.0/sales?after=…",
// "POST /api/1.0/token" and the fake sleeps ("sleep 1s").
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// ResetRequests forgets the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// SetBudget limits API requests to n per 5-minute window (0: no limit).
// Over budget the double answers 429 with Retry-After as an HTTP date.
func (s *Server) SetBudget(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.budget, s.used, s.windowStart = n, 0, s.now
}

// SetMaxPageSize caps page_size; SetShortPages makes every page shorter
// than asked (about half), as the real API sometimes does.
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPage = n
}

// SetShortPages: see SetMaxPageSize.
func (s *Server) SetShortPages(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shortPages = on
}

// Deprecate makes every API answer carry a Deprecation header (RFC 9745,
// e.g. "@1767225600") and, when sunset is not empty, a Sunset header (an
// HTTP date), as Lightspeed announces a version's retirement.
func (s *Server) Deprecate(deprecation, sunset string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deprecation, s.sunset = deprecation, sunset
}

// Retire makes every API request answer 410 Gone: the version is withdrawn.
func (s *Server) Retire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
}

// FailNext makes the next n API requests whose path starts with path ("" for
// any) answer status; status 0 drops the connection without an answer.
func (s *Server) FailNext(n int, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{path: path, status: status})
	}
}

func (s *Server) log(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" && r.URL.Path != "/connect" {
		line += "?" + r.URL.RawQuery
	}
	s.requests = append(s.requests, line)
}

// nextVersion steps the global version by an uneven amount, so versions are
// increasing but not consecutive. Call with s.mu held.
func (s *Server) nextVersion() int64 {
	s.edits++
	s.version += 1 + (s.edits*37)%11
	return s.version
}

func (s *Server) newID() string {
	s.seq++
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("0a%06x-%s-11f0-%s-%012x", s.seq, hex.EncodeToString(b[:2]), hex.EncodeToString(b[2:4]), s.seq*7919+int(b[4]))
}

func randomToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// row is one record of a feed.
type row interface {
	ver() int64
	deleted() bool
	render(s *Server) any
}

func rows[T row](m map[string]T) []row {
	out := make([]row, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// admit applies authentication, faults and the budget to an API request. It
// returns false when it has answered.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	if s.deprecation != "" {
		w.Header().Set("Deprecation", s.deprecation)
	}
	if s.sunset != "" {
		w.Header().Set("Sunset", s.sunset)
	}
	if s.retired {
		s.mu.Unlock()
		writeJSON(w, http.StatusGone, map[string]string{"error": "Gone", "message": "This API version is no longer available"})
		return false
	}
	for k, f := range s.faults {
		if strings.HasPrefix(r.URL.Path, f.path) {
			s.faults = append(s.faults[:k], s.faults[k+1:]...)
			s.mu.Unlock()
			if f.status == 0 {
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						_ = c.Close()
						return false
					}
				}
				f.status = http.StatusBadGateway
			}
			writeJSON(w, f.status, map[string]string{"error": http.StatusText(f.status)})
			return false
		}
	}
	if s.budget > 0 {
		if !s.now.Before(s.windowStart.Add(RateWindow)) {
			s.windowStart, s.used = s.now, 0
		}
		if s.used >= s.budget {
			reset := s.windowStart.Add(RateWindow)
			if reset.Truncate(time.Second) != reset {
				reset = reset.Truncate(time.Second).Add(time.Second)
			}
			s.mu.Unlock()
			w.Header().Set("Retry-After", reset.UTC().Format(http.TimeFormat))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too Many Requests", "message": "Rate limiting enforced"})
			return false
		}
		s.used++
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.budget))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.budget-s.used))
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ok := s.personal[tok]
	if exp, live := s.access[tok]; live && s.now.Before(exp) {
		ok = true
	}
	s.mu.Unlock()
	if !ok || tok == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "message": "The access token provided is invalid or has expired"})
		return false
	}
	return true
}

// api serves a version feed: after, before, page_size, deleted.
func (s *Server) api(all func() []row) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.log(r)
		if !s.admit(w, r) {
			return
		}
		q := r.URL.Query()
		after, before := int64(0), int64(0)
		var err error
		if v := q.Get("after"); v != "" {
			if after, err = strconv.ParseInt(v, 10, 64); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad Request", "message": "after must be an integer"})
				return
			}
		}
		if v := q.Get("before"); v != "" {
			if before, err = strconv.ParseInt(v, 10, 64); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad Request", "message": "before must be an integer"})
				return
			}
		}
		size := DefaultPageSize
		if v := q.Get("page_size"); v != "" {
			if size, err = strconv.Atoi(v); err != nil || size < 1 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad Request", "message": "page_size must be a positive integer"})
				return
			}
		}
		withDeleted := q.Get("deleted") == "true" || q.Get("deleted") == "1"
		s.mu.Lock()
		defer s.mu.Unlock()
		size = min(size, s.maxPage)
		if s.shortPages && size > 1 {
			size = (size + 1) / 2
		}
		var pick []row
		for _, x := range all() {
			if x.ver() <= after || (before > 0 && x.ver() >= before) || (x.deleted() && !withDeleted) {
				continue
			}
			pick = append(pick, x)
		}
		sort.Slice(pick, func(a, b int) bool { return pick[a].ver() < pick[b].ver() })
		if len(pick) > size {
			pick = pick[:size]
		}
		data := make([]any, 0, len(pick))
		for _, x := range pick {
			data = append(data, x.render(s))
		}
		body := map[string]any{"data": data}
		if len(pick) > 0 {
			body["version"] = map[string]int64{"min": pick[0].ver(), "max": pick[len(pick)-1].ver()}
		} else {
			body["version"] = map[string]any{"min": nil, "max": nil}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// one serves a single record by id: {"data": {…}}, or 404.
func (s *Server) one(find func(id string) (row, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.log(r)
		if !s.admit(w, r) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		x, ok := find(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not Found", "message": "Entity not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": x.render(s)})
	}
}

// --- OAuth ---

// SetAccessTTL sets how long new access tokens live (default 1h).
func (s *Server) SetAccessTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = d
}

// Grant is what the token endpoint hands out.
type Grant struct {
	AccessToken  string
	RefreshToken string
	Expires      time.Time
}

// IssueGrant creates a grant as a finished connect would, for tests that
// start already connected.
func (s *Server) IssueGrant() Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue()
}

func (s *Server) issue() Grant {
	g := Grant{randomToken("lsxs_at_"), randomToken("lsxs_rt_"), s.now.Add(s.accessTTL)}
	s.access[g.AccessToken] = g.Expires
	s.refresh[g.RefreshToken] = true
	return g
}

// RevokeAll revokes every access and refresh token (the app was removed,
// or the user who connected it was deleted).
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access, s.refresh = map[string]time.Time{}, map[string]bool{}
}

// RefreshTokenLive reports whether a refresh token would be accepted.
func (s *Server) RefreshTokenLive(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh[tok]
}

// authorize is the merchant's sign-in page: it checks the request and sends
// the browser back to redirect_uri with a single-use code, the store's
// domain_prefix and the state, unchanged.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.log(r)
	q := r.URL.Query()
	bad := func(msg string) {
		http.Error(w, msg, http.StatusBadRequest)
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("response_type") != "code":
		bad("response_type must be code")
		return
	case q.Get("client_id") == "" || q.Get("client_id") != s.clientID:
		bad("unknown client_id")
		return
	case err != nil || redirect.Scheme == "" || redirect.Host == "":
		bad("redirect_uri is missing or invalid")
		return
	case len(q.Get("state")) < 8:
		bad("state must be at least 8 characters")
		return
	case strings.TrimSpace(q.Get("scope")) == "":
		bad("scope is required")
		return
	}
	s.mu.Lock()
	code := randomToken("code_")
	s.codes[code] = &authCode{redirect: q.Get("redirect_uri"), issued: s.now}
	s.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("domain_prefix", s.prefix)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token is POST /api/1.0/token: authorization_code and refresh_token grants,
// form body only.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.log(r)
	if r.URL.RawQuery != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "parameters must be sent in the request body"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "unreadable form"})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Get("client_id") != s.clientID || f.Get("client_secret") != s.clientSecret || s.clientID == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	invalid := func(why string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": why})
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[f.Get("code")]
		switch {
		case !ok:
			invalid("the code is unknown")
			return
		case c.used:
			invalid("the code was already used")
			return
		case s.now.Sub(c.issued) > CodeTTL:
			invalid("the code has expired")
			return
		case c.redirect != f.Get("redirect_uri"):
			invalid("redirect_uri does not match")
			return
		}
		c.used = true
	case "refresh_token":
		rt := f.Get("refresh_token")
		if !s.refresh[rt] {
			invalid("the refresh token is invalid or was revoked")
			return
		}
		delete(s.refresh, rt) // each refresh revokes the old refresh token
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	g := s.issue()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  g.AccessToken,
		"token_type":    "Bearer",
		"expires":       g.Expires.Unix(),
		"expires_in":    int64(s.accessTTL / time.Second),
		"refresh_token": g.RefreshToken,
		"domain_prefix": s.prefix,
		"scope":         "sales:read outlets:read users:read products:read",
	})
}
