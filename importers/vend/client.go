package vend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// ErrReconnect says the OAuth grant is gone: the refresh token was refused
// (expired, revoked, or already used by a renewal whose result was lost).
var ErrReconnect error = &credentialError{"vend: the Lightspeed connection has expired or was revoked: run `storeagent connect vend` to reconnect"}

// ErrNotConnected says no OAuth token was ever stored.
var ErrNotConnected error = &credentialError{"vend: not connected to Lightspeed yet: run `storeagent connect vend`"}

// Retry and pacing limits.
const (
	defaultMaxAttempts = 6
	maxBackoff         = 30 * time.Second
	maxRetryAfter      = 6 * time.Minute // one rate-limit window (5 min) and some
	refreshMargin      = 2 * time.Minute
	paceFloor          = 0.1 // slow down when fewer than 10% of the requests are left
	rateWindow         = 5 * time.Minute
)

// client speaks HTTP to one Lightspeed store: bearer auth, retries with
// back-off, Retry-After and pacing by X-RateLimit-Remaining.
type client struct {
	hc          *http.Client
	base        string
	log         *slog.Logger
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	maxAttempts int
	auth        *auth

	mu        sync.Mutex
	limit     int
	remaining int
	reset     time.Time
	// What Lightspeed's Deprecation/Sunset headers announced (version.go).
	deprecation string
	sunset      string
	noticed     time.Time
}

// auth hands out the bearer token: a personal token, or an OAuth access
// token renewed through the TokenStore.
type auth struct {
	personal     record.Secret
	store        TokenStore
	clientID     string
	clientSecret record.Secret
	tokenURL     string
	hc           *http.Client
	now          func() time.Time

	mu      sync.Mutex
	tok     *Token
	unsaved bool
}

// apiError is an answer the importer explains to the operator. A 401 or
// 403 is a refusal of the credentials (errors.Is record.ErrCredentials).
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

func (e *apiError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return record.ErrCredentials
	}
	return nil
}

// credentialError is a fixed message for a connection only a person can
// mend (errors.Is record.ErrCredentials).
type credentialError struct{ msg string }

func (e *credentialError) Error() string { return e.msg }
func (e *credentialError) Unwrap() error { return record.ErrCredentials }

// backoff is the wait after failed attempts: 1, 2, 4, 8, 16 s, at most 30 s.
var backoff = retry.Backoff{Base: time.Second, Max: maxBackoff}

// getJSON reads one API resource into out, with retries.
func (c *client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	forced := false
	var last string
	for attempt := 1; ; attempt++ {
		if err := c.pace(ctx); err != nil {
			return err
		}
		bearer, err := c.auth.access(ctx, false)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("vend: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+bearer.Reveal())
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "storeagent")
		resp, err := c.hc.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = "the connection failed (" + redactURL(err) + ")"
			wait = backoff.Delay(attempt)
		default:
			c.observe(resp.Header)
			c.observeDeprecation(resp.Header)
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK && rerr == nil:
				if err := json.Unmarshal(body, out); err != nil {
					return fmt.Errorf("vend: GET %s: Lightspeed answered something that is not the expected JSON: %w", path, err)
				}
				return nil
			case resp.StatusCode == http.StatusOK:
				last = "the answer was cut off (" + rerr.Error() + ")"
				wait = backoff.Delay(attempt)
			case resp.StatusCode == http.StatusTooManyRequests:
				last = "429 Too Many Requests (the rate limit is 300 requests per register + 50 per 5 minutes)"
				wait = retryAfter(resp.Header.Get("Retry-After"), c.now())
				if wait == 0 {
					wait = backoff.Delay(attempt)
				}
				if wait > maxRetryAfter {
					return fmt.Errorf("vend: GET %s: Lightspeed's rate limit asks to wait %s, more than this run waits: will try again at the next run", path, wait.Round(time.Second))
				}
				c.forgetLimits() // a new window starts after the wait
			case resp.StatusCode >= 500:
				last = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
				wait = backoff.Delay(attempt)
			case resp.StatusCode == http.StatusUnauthorized && c.auth.oauth() && !forced:
				// The access token may have been revoked early: renew once.
				forced = true
				if _, err := c.auth.access(ctx, true); err != nil {
					return err
				}
				attempt--
				continue
			default:
				return c.explain(path, resp.StatusCode, body)
			}
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("vend: GET %s: Lightspeed kept failing after %d attempts (last: %s); the next run tries again", path, attempt, last)
		}
		c.log.Debug("retrying", "path", path, "attempt", attempt, "wait", wait, "cause", last)
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// explain turns a final 4xx into the operator's words.
func (c *client) explain(path string, status int, body []byte) error {
	switch status {
	case http.StatusUnauthorized:
		if c.auth.oauth() {
			return &apiError{status, "vend: the Lightspeed token was rejected (401): reconnect with `storeagent connect vend`"}
		}
		return &apiError{status, "vend: the Lightspeed token was rejected (401): the personal token may have been deleted or expired; create a new one in Lightspeed (Setup > Personal tokens) and update vend.token"}
	case http.StatusForbidden:
		return &apiError{status, fmt.Sprintf("vend: Lightspeed refused access to %s (403): the connection lacks a permission; reconnect with `storeagent connect vend` (scopes %q) or use a personal token of an administrator", path, DefaultScope)}
	case http.StatusNotFound:
		return &apiError{status, fmt.Sprintf("vend: %s was not found (404): check vend.domain_prefix (and vend.base_url)", path)}
	case http.StatusGone:
		return c.goneError(path)
	case http.StatusPaymentRequired:
		return &apiError{status, "vend: Lightspeed answered 402: the store's subscription does not include API access (or has lapsed)"}
	}
	msg := strings.TrimSpace(string(body))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Error != "" || e.Message != "") {
		msg = strings.TrimSpace(e.Error + ": " + e.Message)
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &apiError{status, fmt.Sprintf("vend: GET %s: Lightspeed answered %d: %s", path, status, msg)}
}

// observe keeps the rate-limit headers for pacing.
func (c *client) observe(h http.Header) {
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 != nil || err2 != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit, c.remaining = lim, rem
	c.reset = time.Time{}
	if r := h.Get("X-RateLimit-Reset"); r != "" {
		if t, err := http.ParseTime(r); err == nil {
			c.reset = t
		} else if n, err := strconv.ParseInt(r, 10, 64); err == nil && n > 1e9 {
			c.reset = time.Unix(n, 0)
		}
	}
}

func (c *client) forgetLimits() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit, c.remaining, c.reset = 0, 0, time.Time{}
}

// paceDelay is how long to wait before the next request: nothing while more
// than 10% of the window's requests are left, then the rest of the window
// spread over what remains.
func (c *client) paceDelay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit <= 0 || float64(c.remaining) > paceFloor*float64(c.limit) {
		return 0
	}
	left := rateWindow
	if !c.reset.IsZero() {
		left = max(c.reset.Sub(c.now()), 0)
	}
	d := left / time.Duration(c.remaining+1)
	return min(d, maxBackoff)
}

func (c *client) pace(ctx context.Context) error {
	if d := c.paceDelay(); d > 0 {
		c.log.Debug("pacing", "wait", d)
		return c.sleep(ctx, d)
	}
	return ctx.Err()
}

// retryAfter reads Retry-After as an HTTP date (what Lightspeed sends) or
// as seconds, waiting at least 1 s once it is readable (a date just past, a
// sub-second rest). Zero when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if d, ok := retry.Parse(v, now); ok {
		return max(d, time.Second)
	}
	return 0
}

// redactURL keeps the error's text short and free of query strings.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (a *auth) oauth() bool { return a.store != nil }

// access returns the bearer to use, renewing the OAuth access token when it
// expires within refreshMargin (or at once when force is set).
func (a *auth) access(ctx context.Context, force bool) (record.Secret, error) {
	if !a.oauth() {
		return a.personal, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tok == nil {
		t, err := a.store.LoadToken(ctx)
		if errors.Is(err, ErrNoToken) {
			return record.Secret{}, ErrNotConnected
		}
		if err != nil {
			return record.Secret{}, fmt.Errorf("vend: load the Lightspeed token: %w", err)
		}
		a.tok = &t
	}
	if a.unsaved {
		if err := a.store.SaveToken(ctx, *a.tok); err != nil {
			return record.Secret{}, fmt.Errorf("vend: the renewed Lightspeed token still cannot be saved (it is kept in memory; if the agent stops before it is saved, run `storeagent connect vend`): %w", err)
		}
		a.unsaved = false
	}
	if !force && a.tok.Expires.After(a.now().Add(refreshMargin)) {
		return a.tok.AccessToken, nil
	}
	if a.tok.RefreshToken.IsZero() {
		return record.Secret{}, ErrReconnect
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {a.tok.RefreshToken.Reveal()},
		"client_id":     {a.clientID},
		"client_secret": {a.clientSecret.Reveal()},
	}
	nt, err := postToken(ctx, a.hc, a.tokenURL, form, a.now())
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) && (te.Code == "invalid_grant" || te.Status == http.StatusUnauthorized) {
			return record.Secret{}, ErrReconnect
		}
		return record.Secret{}, fmt.Errorf("vend: renew the Lightspeed token: %w", err)
	}
	if nt.RefreshToken.IsZero() {
		nt.RefreshToken = a.tok.RefreshToken
	}
	if nt.DomainPrefix == "" {
		nt.DomainPrefix = a.tok.DomainPrefix
	}
	// The old refresh token is revoked now: save the new one before any use.
	a.tok = &nt
	if err := a.store.SaveToken(ctx, nt); err != nil {
		a.unsaved = true
		return record.Secret{}, fmt.Errorf("vend: the renewed Lightspeed token could not be saved (it is kept in memory and saved at the next request; if the agent stops before that, run `storeagent connect vend`): %w", err)
	}
	return nt.AccessToken, nil
}

// tokenError is a refusal from the token endpoint.
type tokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *tokenError) Error() string {
	s := fmt.Sprintf("the token endpoint answered %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Expires      int64  `json:"expires"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	DomainPrefix string `json:"domain_prefix"`
	Scope        string `json:"scope"`
}

// postToken calls the token endpoint with a form body (never query
// parameters) and reads the grant.
func postToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values, now time.Time) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("the token endpoint could not be reached (%s)", redactURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, fmt.Errorf("read the token endpoint's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			Message     string `json:"message"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Description == "" {
			e.Description = e.Message
		}
		return Token{}, &tokenError{Status: resp.StatusCode, Code: e.Error, Description: e.Description}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return Token{}, fmt.Errorf("the token endpoint's answer holds no access token")
	}
	t := Token{
		AccessToken:  record.NewSecret(tr.AccessToken),
		RefreshToken: record.NewSecret(tr.RefreshToken),
		DomainPrefix: tr.DomainPrefix,
		Scope:        tr.Scope,
	}
	switch {
	case tr.Expires > 0:
		t.Expires = time.Unix(tr.Expires, 0).UTC()
	case tr.ExpiresIn > 0:
		t.Expires = now.Add(time.Duration(tr.ExpiresIn) * time.Second).UTC()
	default:
		t.Expires = now.Add(time.Hour).UTC()
	}
	return t, nil
}
