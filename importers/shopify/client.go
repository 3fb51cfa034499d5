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
	c.log.Debug("pacing for the rate limit", "need", need, "available", math.Floor(avail), "wait", wait)
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
		c.log.Warn("the pinned API version is not supported any more: Shopify answered with another one; set shopify.api_version to a supported version",
			"api_version", c.version, "answered_with", v)
	}
}

func (c *client) servedVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.served
}

// answer is what one round trip brought back: a transport failure, or a
// status with its body.
type answer struct {
	netErr error // the request or the body broke off
	status int
	header http.Header
	raw    []byte
	gr     gqlResponse
	jerr   error // the body is not a GraphQL answer
}

// step is what classify decides to do about an answer.
type step int

const (
	stepOK       step = iota // decode the data
	stepRetry                // a transient failure: back off and try again
	stepThrottle             // rate-limited: wait (pace, or wait) and try again
	stepRenew                // the token was refused: obtain a new one, once
	stepFail                 // give up with err
)

type verdict struct {
	step step
	why  string        // stepRetry: the reason, for logs and the last error
	wait time.Duration // stepThrottle: how long, when pace cannot tell
	err  error         // stepFail
}

// attempts counts what a request has been through.
type attempts struct {
	transient, throttled int
	renewed              bool
}

// do runs one GraphQL request, waiting out the rate limit and retrying
// transient failures, and decodes data into out: a loop of one round trip
// and one classify step.
func (c *client) do(ctx context.Context, r request, out any) (*costInfo, error) {
	body, err := json.Marshal(map[string]any{"query": r.query, "variables": r.vars})
	if err != nil {
		return nil, fmt.Errorf("shopify: encode the %s query: %w", r.what, err)
	}
	var at attempts
	for {
		if err := c.pace(ctx, r.cost); err != nil {
			return nil, err
		}
		a, err := c.roundTrip(ctx, body)
		if err != nil {
			return nil, err
		}
		v := c.classify(&r, &a, &at)
		switch v.step {
		case stepOK:
			return c.accept(r, &a, out)
		case stepFail:
			return nil, v.err
		case stepRenew:
			c.invalidate()
		case stepThrottle:
			if err := c.sleep(ctx, v.wait); err != nil {
				return nil, err
			}
		case stepRetry:
			if err := c.retryAfter(ctx, r, &at, v.why, a.status); err != nil {
				return nil, err
			}
		}
	}
}

// roundTrip sends the request once. Its error is only the context's or a
// request that cannot be built; transport failures are in the answer.
func (c *client) roundTrip(ctx context.Context, body []byte) (answer, error) {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("shopify: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Shopify-Access-Token", tok.Reveal())
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		return answer{netErr: err}, nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		return answer{netErr: err}, nil
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	a.jerr = json.Unmarshal(raw, &a.gr)
	c.noteVersion(resp.Header.Get("X-Shopify-Api-Version"))
	c.noteCost(a.gr.Extensions.Cost)
	return a, nil
}

// classify decides what an answer means: ok, retry, throttle, renew or
// fail.
func (c *client) classify(r *request, a *answer, at *attempts) verdict {
	switch st := a.status; {
	case a.netErr != nil:
		return verdict{step: stepRetry, why: netReason(a.netErr)}
	case st == http.StatusTooManyRequests || st == http.StatusOK && a.gr.code("THROTTLED") != nil:
		return c.throttled(r, a, at)
	case st == http.StatusOK:
		return c.classifyOK(r, a)
	case st == http.StatusUnauthorized:
		if c.clientID != "" && !at.renewed {
			at.renewed = true
			return verdict{step: stepRenew}
		}
		return verdict{step: stepFail, err: errRevoked()}
	case st == http.StatusPaymentRequired:
		return verdict{step: stepFail, err: errFrozen(c.shop)}
	case st == http.StatusLocked:
		return verdict{step: stepFail, err: errLocked(c.shop)}
	case st == http.StatusNotFound:
		return verdict{step: stepFail, err: errNoShop(c.shop, c.base, c.version)}
	case st == http.StatusForbidden:
		return verdict{step: stepFail, err: errDenied(r.what, a.gr.Errors.text(), st)}
	case st >= 500:
		return verdict{step: stepRetry, why: http.StatusText(st)}
	}
	return verdict{step: stepFail, err: fmt.Errorf("shopify: unexpected answer while reading %s (HTTP %d): %s", r.what, a.status, trim(string(a.raw), 200))}
}

// throttled waits a THROTTLED answer out: pace waits the deficit when the
// answer tells the bucket, else Retry-After or a back-off.
func (c *client) throttled(r *request, a *answer, at *attempts) verdict {
	at.throttled++
	if at.throttled > maxThrottled {
		return verdict{step: stepFail, err: fmt.Errorf("shopify: still throttled after %d waits while reading %s: another app or agent may be using this app's rate limit", at.throttled, r.what)}
	}
	ci := a.gr.Extensions.Cost
	if ci != nil && ci.ThrottleStatus.MaximumAvailable > 0 && ci.RequestedQueryCost > ci.ThrottleStatus.MaximumAvailable {
		// No wait can ever make room: the query must ask for less.
		return verdict{step: stepFail, err: &maxCostError{cost: ci.RequestedQueryCost, max: ci.ThrottleStatus.MaximumAvailable}}
	}
	if ci != nil && ci.ThrottleStatus.RestoreRate > 0 {
		r.cost = math.Max(r.cost, ci.RequestedQueryCost)
		c.log.Info("throttled, waiting for the bucket to refill", "what", r.what, "requested", ci.RequestedQueryCost, "available", ci.ThrottleStatus.CurrentlyAvailable)
		return verdict{step: stepThrottle} // pace waits the deficit out
	}
	wait := backoff.Delay(min(at.throttled, 4))
	ra := a.header.Get("Retry-After")
	if s, err := strconv.ParseFloat(ra, 64); err == nil && s > 0 { // Shopify sends "2.0"
		wait = time.Duration(s * float64(time.Second))
	} else if d := retry.After(ra, c.now()); d > 0 {
		wait = d
	}
	return verdict{step: stepThrottle, wait: wait}
}

// classifyOK reads an HTTP 200 that is not THROTTLED.
func (c *client) classifyOK(r *request, a *answer) verdict {
	if a.jerr != nil {
		return verdict{step: stepRetry, why: "unreadable answer"}
	}
	if e := a.gr.code("MAX_COST_EXCEEDED"); e != nil {
		return verdict{step: stepFail, err: &maxCostError{cost: e.Extensions.Cost, max: e.Extensions.MaxCost}}
	}
	if a.gr.code("INTERNAL_SERVER_ERROR") != nil && len(a.gr.Data) == 0 {
		a.status = 500
		return verdict{step: stepRetry, why: "internal server error"}
	}
	if err := c.fatalErrors(*r, a.gr); err != nil {
		return verdict{step: stepFail, err: err}
	}
	return verdict{step: stepOK}
}

// accept decodes an answer classified ok.
func (c *client) accept(r request, a *answer, out any) (*costInfo, error) {
	if out != nil && len(a.gr.Data) > 0 && string(a.gr.Data) != "null" {
		if err := json.Unmarshal(a.gr.Data, out); err != nil {
			return nil, fmt.Errorf("shopify: unreadable answer to the %s query: %w", r.what, err)
		}
	}
	if w := searchWarnings(a.gr.Extensions.Search); w != "" {
		c.log.Warn("the search filter was not fully understood", "what", r.what, "warnings", w)
	}
	return a.gr.Extensions.Cost, nil
}

// retryAfter counts a transient failure and backs off, or gives up after
// maxTransient of them.
func (c *client) retryAfter(ctx context.Context, r request, at *attempts, why string, status int) error {
	at.transient++
	if at.transient >= maxTransient {
		if status > 0 {
			return fmt.Errorf("shopify: the API kept failing while reading %s (HTTP %d, %d attempts): Shopify may be having an incident; the next run tries again", r.what, status, at.transient)
		}
		return fmt.Errorf("shopify: cannot reach %s (%d attempts): %s", c.base, at.transient, why)
	}
	c.log.Info("transient failure, retrying", "what", r.what, "why", why, "attempt", at.transient)
	return c.sleep(ctx, backoff.Delay(at.transient))
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
					c.log.Warn("staff ids are not readable with this app's scopes: sales are imported without staff_id", "shopify_says", e.Message)
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
			c.log.Info("obtained an access token with the client credentials", "valid_for", life)
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
