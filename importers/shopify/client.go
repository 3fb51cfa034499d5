package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

const (
	maxTransient = 6   // attempts on 5xx, dropped connections and unreadable answers
	maxThrottled = 100 // THROTTLED answers in a row, each waited out as the bucket says
	userAgent    = "storeagent (TMAS store agent)"
)

// client speaks to one shop's GraphQL Admin API: credentials, pacing by the
// cost-based leaky bucket, retries, and errors in the operator's words.
type client struct {
	hc       *http.Client
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	shop     string
	base     string
	version  string
	legacy   record.Secret
	clientID string
	secret   record.Secret

	mu          sync.Mutex
	token       record.Secret
	renewAt     time.Time
	bucket      bucket
	served      string
	warned      bool
	staffWarned bool
	tokens      int
}

// bucket is what the last answer said of the leaky bucket.
type bucket struct {
	max, avail, rate float64
	at               time.Time
}

// projected is the bucket's content now, given the restore rate.
func (b bucket) projected(now time.Time) float64 {
	return math.Min(b.max, b.avail+b.rate*now.Sub(b.at).Seconds())
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type costInfo struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type gqlErr struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code    string  `json:"code"`
		Cost    float64 `json:"cost"`
		MaxCost float64 `json:"maxCost"`
	} `json:"extensions"`
}

// gqlErrors reads "errors" as Shopify sends it: a list of GraphQL errors, a
// string (401, 402, 404), or an object of messages (400).
type gqlErrors []gqlErr

func (g *gqlErrors) UnmarshalJSON(b []byte) error {
	var list []gqlErr
	if err := json.Unmarshal(b, &list); err == nil {
		*g = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*g = gqlErrors{{Message: s}}
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err == nil {
		for k, v := range m {
			*g = append(*g, gqlErr{Message: fmt.Sprintf("%s: %v", k, v)})
		}
		return nil
	}
	return nil
}

func (g gqlErrors) text() string {
	var parts []string
	for _, e := range g {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     gqlErrors       `json:"errors"`
	Extensions struct {
		Cost   *costInfo       `json:"cost"`
		Search json.RawMessage `json:"search"`
	} `json:"extensions"`
}

func (r *gqlResponse) code(c string) *gqlErr {
	for i := range r.Errors {
		if r.Errors[i].Extensions.Code == c {
			return &r.Errors[i]
		}
	}
	return nil
}

// maxCostError says a query asked for more points than one query may.
type maxCostError struct{ cost, max float64 }

func (e *maxCostError) Error() string {
	return fmt.Sprintf("shopify: query cost %.0f exceeds the single-query limit %.0f", e.cost, e.max)
}

// request is one GraphQL call.
type request struct {
	what  string // what it reads, for errors: "orders", "locations", "the shop"
	query string
	vars  map[string]any
	cost  float64 // the requested cost it is expected to have
}

func (c *client) endpoint() string {
	return c.base + "/admin/api/" + c.version + "/graphql.json"
}

// backoff is the wait after failed attempts: 1 s doubling to 30 s, ±20 %.
var backoff = retry.Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: 0.2}

// pace waits until the bucket, as projected from the last answer, holds the
// points a query is expected to reserve.
func (c *client) pace(ctx context.Context, need float64) error {
	c.mu.Lock()
	b := c.bucket
	c.mu.Unlock()
	if b.rate <= 0 || need <= 0 {
		return nil
	}
	need = math.Min(need, b.max)
	avail := b.projected(c.now())
	if avail >= need {
		return nil
	}
	wait := time.Duration((need - avail) / b.rate * float64(time.Second))
	c.log.Debug("shopify: pacing for the rate limit", "need", need, "available", math.Floor(avail), "wait", wait)
	return c.sleep(ctx, wait)
}

func (c *client) noteCost(ci *costInfo) {
	if ci == nil || ci.ThrottleStatus.RestoreRate <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bucket = bucket{max: ci.ThrottleStatus.MaximumAvailable, avail: ci.ThrottleStatus.CurrentlyAvailable,
		rate: ci.ThrottleStatus.RestoreRate, at: c.now()}
}

func (c *client) noteVersion(v string) {
	if v == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served = v
	if v != c.version && !c.warned {
		c.warned = true
		c.log.Warn("shopify: the pinned API version is not supported any more: Shopify answered with another one; set shopify.api_version to a supported version",
			"api_version", c.version, "answered_with", v)
	}
}

func (c *client) servedVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.served
}

// do runs one GraphQL request, waiting out the rate limit and retrying
// transient failures, and decodes data into out.
func (c *client) do(ctx context.Context, r request, out any) (*costInfo, error) {
	body, err := json.Marshal(map[string]any{"query": r.query, "variables": r.vars})
	if err != nil {
		return nil, fmt.Errorf("shopify: encode the %s query: %w", r.what, err)
	}
	transient, throttled, renewed := 0, 0, false
	retry := func(why string, status int) error {
		transient++
		if transient >= maxTransient {
			if status > 0 {
				return fmt.Errorf("shopify: the API kept failing while reading %s (HTTP %d, %d attempts): Shopify may be having an incident; the next run tries again", r.what, status, transient)
			}
			return fmt.Errorf("shopify: cannot reach %s (%d attempts): %s", c.base, transient, why)
		}
		c.log.Info("shopify: transient failure, retrying", "what", r.what, "why", why, "attempt", transient)
		return c.sleep(ctx, backoff.Delay(transient))
	}
	for {
		if err := c.pace(ctx, r.cost); err != nil {
			return nil, err
		}
		tok, err := c.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("shopify: build request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("X-Shopify-Access-Token", tok.Reveal())
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := retry(netReason(err), 0); err != nil {
				return nil, err
			}
			continue
		}
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if rerr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := retry(netReason(rerr), 0); err != nil {
				return nil, err
			}
			continue
		}
		c.noteVersion(resp.Header.Get("X-Shopify-Api-Version"))
		var gr gqlResponse
		jerr := json.Unmarshal(raw, &gr)
		c.noteCost(gr.Extensions.Cost)
		status := resp.StatusCode
		switch {
		case status == http.StatusOK || status == http.StatusTooManyRequests:
			if gr.code("THROTTLED") != nil || status == http.StatusTooManyRequests {
				throttled++
				if throttled > maxThrottled {
					return nil, fmt.Errorf("shopify: still throttled after %d waits while reading %s: another app or agent may be using this app's rate limit", throttled, r.what)
				}
				if ci := gr.Extensions.Cost; ci != nil && ci.ThrottleStatus.MaximumAvailable > 0 && ci.RequestedQueryCost > ci.ThrottleStatus.MaximumAvailable {
					// No wait can ever make room: the query must ask for less.
					return nil, &maxCostError{cost: ci.RequestedQueryCost, max: ci.ThrottleStatus.MaximumAvailable}
				}
				if ci := gr.Extensions.Cost; ci != nil && ci.ThrottleStatus.RestoreRate > 0 {
					r.cost = math.Max(r.cost, ci.RequestedQueryCost)
					c.log.Info("shopify: throttled, waiting for the bucket to refill", "what", r.what, "requested", ci.RequestedQueryCost, "available", ci.ThrottleStatus.CurrentlyAvailable)
					continue // pace waits the deficit out
				}
				wait := backoff.Delay(min(throttled, 4))
				if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
					wait = time.Duration(s * float64(time.Second))
				}
				if err := c.sleep(ctx, wait); err != nil {
					return nil, err
				}
				continue
			}
			if jerr != nil {
				if err := retry("unreadable answer", status); err != nil {
					return nil, err
				}
				continue
			}
			if e := gr.code("MAX_COST_EXCEEDED"); e != nil {
				return nil, &maxCostError{cost: e.Extensions.Cost, max: e.Extensions.MaxCost}
			}
			if gr.code("INTERNAL_SERVER_ERROR") != nil && len(gr.Data) == 0 {
				if err := retry("internal server error", 500); err != nil {
					return nil, err
				}
				continue
			}
			if err := c.fatalErrors(r, gr); err != nil {
				return nil, err
			}
			if out != nil && len(gr.Data) > 0 && string(gr.Data) != "null" {
				if err := json.Unmarshal(gr.Data, out); err != nil {
					return nil, fmt.Errorf("shopify: unreadable answer to the %s query: %w", r.what, err)
				}
			}
			if w := searchWarnings(gr.Extensions.Search); w != "" {
				c.log.Warn("shopify: the search filter was not fully understood", "what", r.what, "warnings", w)
			}
			return gr.Extensions.Cost, nil
		case status == http.StatusUnauthorized:
			if c.clientID != "" && !renewed {
				renewed = true
				c.invalidate()
				continue
			}
			return nil, errRevoked()
		case status == http.StatusPaymentRequired:
			return nil, errFrozen(c.shop)
		case status == http.StatusLocked:
			return nil, errLocked(c.shop)
		case status == http.StatusNotFound:
			return nil, errNoShop(c.shop, c.base, c.version)
		case status == http.StatusForbidden:
			return nil, errDenied(r.what, gr.Errors.text(), status)
		case status >= 500:
			if err := retry(http.StatusText(status), status); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("shopify: unexpected answer while reading %s (HTTP %d): %s", r.what, status, trim(string(raw), 200))
		}
	}
}

// fatalErrors turns GraphQL errors into the operator's explanation. An
// ACCESS_DENIED on staffMember only costs the staff id, so it is tolerated.
func (c *client) fatalErrors(r request, gr gqlResponse) error {
	for _, e := range gr.Errors {
		if e.Extensions.Code == "ACCESS_DENIED" {
			if pathHas(e.Path, "staffMember") {
				c.mu.Lock()
				if !c.staffWarned {
					c.staffWarned = true
					c.log.Warn("shopify: staff ids are not readable with this app's scopes: sales are imported without staff_id", "shopify_says", e.Message)
				}
				c.mu.Unlock()
				continue
			}
			what := r.what
			if len(e.Path) > 0 {
				what = fmt.Sprint(e.Path[len(e.Path)-1])
			}
			return errDenied(what, e.Message, http.StatusOK)
		}
		return fmt.Errorf("shopify: the API refused the %s query: %s", r.what, trim(e.Message, 300))
	}
	return nil
}

// searchWarnings returns the warnings of extensions.search (Shopify also
// describes filters it understood there, which is no cause for alarm).
func searchWarnings(raw json.RawMessage) string {
	var s []struct {
		Warnings []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"warnings"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	var out []string
	for _, e := range s {
		for _, w := range e.Warnings {
			out = append(out, w.Field+": "+w.Message)
		}
	}
	return strings.Join(out, "; ")
}

func pathHas(path []any, name string) bool {
	for _, p := range path {
		if s, ok := p.(string); ok && s == name {
			return true
		}
	}
	return false
}

func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (c *client) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = record.Secret{}
}

// accessToken returns the token to send: the legacy token, or one obtained
// with the client-credentials grant, renewed before it expires.
func (c *client) accessToken(ctx context.Context) (record.Secret, error) {
	if !c.legacy.IsZero() {
		return c.legacy, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.token.IsZero() && c.now().Before(c.renewAt) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.clientID}, "client_secret": {c.secret.Reveal()}}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/admin/oauth/access_token", strings.NewReader(form.Encode()))
		if err != nil {
			return record.Secret{}, fmt.Errorf("shopify: build token request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := c.hc.Do(req)
		status := 0
		var body struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
			Error       string `json:"error"`
		}
		if err == nil {
			status = resp.StatusCode
			_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
			resp.Body.Close()
		} else if ctx.Err() != nil {
			return record.Secret{}, ctx.Err()
		}
		switch {
		case status == http.StatusOK && body.AccessToken != "":
			life := time.Duration(body.ExpiresIn) * time.Second
			if life <= 0 {
				life = 24 * time.Hour
			}
			now := c.now()
			c.token = record.NewSecret(body.AccessToken)
			c.renewAt = now.Add(life - min(10*time.Minute, life/2))
			c.tokens++
			c.log.Info("shopify: obtained an access token with the client credentials", "valid_for", life)
			return c.token, nil
		case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
			return record.Secret{}, errClientRefused(status, body.Error)
		case status == http.StatusPaymentRequired:
			return record.Secret{}, errFrozen(c.shop)
		case status == http.StatusLocked:
			return record.Secret{}, errLocked(c.shop)
		case status == http.StatusNotFound:
			return record.Secret{}, errNoShop(c.shop, c.base, c.version)
		case status == http.StatusOK || status == 0 || status >= 500 || status == http.StatusTooManyRequests:
			if attempt >= maxTransient {
				why := "no token in the answer"
				if err != nil {
					why = netReason(err)
				} else if status != http.StatusOK {
					why = fmt.Sprintf("HTTP %d", status)
				}
				return record.Secret{}, fmt.Errorf("shopify: cannot obtain an access token from %s (%d attempts): %s", c.base, attempt, why)
			}
			if err := c.sleep(ctx, backoff.Delay(attempt)); err != nil {
				return record.Secret{}, err
			}
		default:
			return record.Secret{}, fmt.Errorf("shopify: unexpected answer to the token request (HTTP %d)", status)
		}
	}
}

// download opens a bulk operation's result file from byte offset on. The
// URL is a signed storage URL: no access token is sent to it.
func (c *client) download(ctx context.Context, u string, offset int64) (io.ReadCloser, error) {
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("shopify: bulk result URL: %w", err)
		}
		req.Header.Set("User-Agent", userAgent)
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		resp, err := c.hc.Do(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
			switch {
			case status == http.StatusPartialContent || (status == http.StatusOK && offset == 0):
				return resp.Body, nil
			case status == http.StatusOK:
				if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
					resp.Body.Close()
					return nil, fmt.Errorf("shopify: bulk result shorter than the saved position: %w", err)
				}
				return resp.Body, nil
			case status == http.StatusRequestedRangeNotSatisfiable:
				resp.Body.Close()
				return io.NopCloser(strings.NewReader("")), nil
			}
			resp.Body.Close()
			if status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusGone {
				return nil, errBulkExpired
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt >= maxTransient {
			why := fmt.Sprintf("HTTP %d", status)
			if err != nil {
				why = netReason(err)
			}
			return nil, fmt.Errorf("shopify: cannot download the bulk result (%d attempts): %s", attempt, why)
		}
		if err := c.sleep(ctx, backoff.Delay(attempt)); err != nil {
			return nil, err
		}
	}
}

var errBulkExpired = errors.New("shopify: the bulk result is no longer available")
