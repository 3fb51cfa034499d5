package woocommerce

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Retry limits.
const (
	defaultMaxAttempts = 6
	maxRetryAfter      = 10 * time.Minute
)

var backoff = retry.Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: 0.2}

// ErrNoRoute is wrapped by the error of a shop that has no WooCommerce REST
// route (WooCommerce inactive, or the REST API disabled).
var ErrNoRoute = errors.New("woocommerce: no WooCommerce REST API route")

// ErrNotJSON is wrapped by the error of an answer that is an HTML page (a
// security plugin, a maintenance page, permalinks off).
var ErrNotJSON = errors.New("woocommerce: the shop answered a web page instead of JSON")

// Error is an answer the importer explains to the operator. It never holds
// a secret.
type Error struct {
	Status int    // HTTP status, 0 when no answer came
	Code   string // WordPress error code (woocommerce_rest_cannot_view, rest_no_route, …)
	Msg    string
	Fix    string // what to do, for doctor
	kind   error  // record.ErrCredentials, ErrNoRoute, ErrNotJSON or nil
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is find record.ErrCredentials, ErrNoRoute, ErrNotJSON.
func (e *Error) Unwrap() error { return e.kind }

// client speaks HTTP to one shop.
type client struct {
	hc          *http.Client
	base        string // scheme://host[/path]
	restRoute   bool
	auth        string
	key, secret record.Secret
	log         *slog.Logger
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	maxAttempts int
}

// reply is a successful answer: its body and the headers pagination needs.
type reply struct {
	body       []byte
	total      int // X-WP-Total, -1 when absent
	totalPages int // X-WP-TotalPages, -1 when absent
	next       bool
}

// endpoint builds the address of a REST path such as "/wc/v3/orders".
func (c *client) endpoint(path string, q url.Values) string {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	if c.auth == AuthQuery {
		q2.Set("consumer_key", c.key.Reveal())
		q2.Set("consumer_secret", c.secret.Reveal())
	}
	if c.restRoute {
		q2.Set("rest_route", path)
		return c.base + "/?" + q2.Encode()
	}
	u := c.base + "/wp-json" + path
	if len(q2) > 0 {
		u += "?" + q2.Encode()
	}
	return u
}

// where names a request in messages, without credentials.
func (c *client) where(path string) string {
	if c.restRoute {
		return c.base + "/?rest_route=" + path
	}
	return c.base + "/wp-json" + path
}

// get reads one resource, retrying what may pass.
func (c *client) get(ctx context.Context, path string, q url.Values) (reply, error) {
	var last string
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(path, q), nil)
		if err != nil {
			return reply{}, fmt.Errorf("woocommerce: %s", redact(err))
		}
		if c.auth == AuthHeader {
			req.SetBasicAuth(c.key.Reveal(), c.secret.Reveal())
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "storeagent")
		resp, err := c.hc.Do(req)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			if e := tlsError(c.where(path), err); e != nil {
				return reply{}, e
			}
			last = "the connection failed (" + redact(err) + ")"
			wait = backoff.Delay(attempt)
		} else {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK && rerr != nil:
				last = "the answer was cut off (" + redact(rerr) + ")"
				wait = backoff.Delay(attempt)
			case resp.StatusCode == http.StatusOK:
				if isHTML(resp.Header, body) {
					return reply{}, c.htmlError(path, resp.StatusCode, body)
				}
				return reply{body: body, total: intHeader(resp.Header, "X-WP-Total"), totalPages: intHeader(resp.Header, "X-WP-TotalPages"), next: hasNext(resp.Header)}, nil
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
				last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
				if resp.StatusCode == http.StatusServiceUnavailable && isHTML(resp.Header, body) {
					last += " (a maintenance or firewall page)"
				}
				wait = retry.After(resp.Header.Get("Retry-After"), c.now())
				if wait == 0 {
					wait = backoff.Delay(attempt)
				}
				if wait > maxRetryAfter {
					return reply{}, &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("woocommerce: %s answered %s and asks to wait %s, longer than a run waits: the next run tries again", c.where(path), last, wait.Round(time.Second)), Fix: "if this lasts, ask the host to let the agent's address through its firewall or rate limit"}
				}
			case resp.StatusCode >= 500:
				last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
				wait = backoff.Delay(attempt)
			default:
				return reply{}, c.explain(path, resp.StatusCode, resp.Header, body)
			}
		}
		if attempt >= c.maxAttempts {
			return reply{}, &Error{Msg: fmt.Sprintf("woocommerce: %s kept failing after %d attempts (last: %s); the next run tries again", c.where(path), attempt, last), Fix: "check that the shop is online and reachable from this machine"}
		}
		c.log.Debug("retrying", "path", path, "attempt", attempt, "wait", wait, "cause", last)
		if err := c.sleep(ctx, wait); err != nil {
			return reply{}, err
		}
	}
}

// wpError is WordPress's error body.
type wpError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
	} `json:"data"`
}

// explain turns a final 4xx into the operator's words.
func (c *client) explain(path string, status int, h http.Header, body []byte) error {
	var we wpError
	if isHTML(h, body) || json.Unmarshal(body, &we) != nil || we.Code == "" {
		if status == http.StatusNotFound && isHTML(h, body) {
			return &Error{Status: status, kind: ErrNotJSON,
				Msg: fmt.Sprintf("woocommerce: %s answered a web page \"not found\" (HTTP 404) instead of the REST API: the site's permalinks are probably \"Plain\"", c.where(path)),
				Fix: "in WordPress > Settings > Permalinks choose any structure but Plain, or set woocommerce.rest_route: true"}
		}
		if isHTML(h, body) {
			return c.htmlError(path, status, body)
		}
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		e := &Error{Status: status, Msg: fmt.Sprintf("woocommerce: %s answered HTTP %d: %s", c.where(path), status, msg)}
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			e.kind = record.ErrCredentials
			e.Fix = "check the consumer key and secret (WooCommerce > Settings > Advanced > REST API)"
		}
		return e
	}
	e := &Error{Status: status, Code: we.Code}
	text := fmt.Sprintf("%q (HTTP %d %s)", we.Message, status, we.Code)
	switch {
	case we.Code == "rest_no_route":
		e.kind = ErrNoRoute
		e.Msg = fmt.Sprintf("woocommerce: %s has no WooCommerce REST API: %s: WooCommerce is not active on this site, or a plugin disabled its REST API", c.where(path), text)
		e.Fix = "check that WooCommerce is installed and active (WordPress > Plugins) and that woocommerce.url is the shop's address"
	case we.Code == "woocommerce_rest_authentication_error" && strings.Contains(strings.ToLower(we.Message), "permission"):
		e.kind = record.ErrCredentials
		e.Msg = fmt.Sprintf("woocommerce: the API key may not read: %s: its permission is Write only", text)
		e.Fix = "set the key's permission to Read (or Read/Write) in WooCommerce > Settings > Advanced > REST API"
	case we.Code == "woocommerce_rest_authentication_error" || we.Code == "woocommerce_rest_cannot_authenticate":
		e.kind = record.ErrCredentials
		e.Msg = fmt.Sprintf("woocommerce: the shop refused the API key: %s: the consumer key or secret is wrong, or the key was revoked", text)
		e.Fix = "make a new key with Read permission in WooCommerce > Settings > Advanced > REST API and update woocommerce.consumer_key and consumer_secret"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// woocommerce_rest_cannot_view, rest_forbidden: the request was not
		// allowed to read, either because the key lacks Read permission or
		// because it never reached WordPress (a host that strips the
		// Authorization header makes the request anonymous).
		e.kind = record.ErrCredentials
		e.Msg = fmt.Sprintf("woocommerce: the shop does not let the API key read orders: %s", text)
		e.Fix = "give the key Read permission (WooCommerce > Settings > Advanced > REST API), owned by a user who can manage WooCommerce"
		if c.auth == AuthHeader {
			e.Msg += ": the key lacks Read permission, or the host strips the Authorization header"
			e.Fix += "; if it has, the host strips the Authorization header: set woocommerce.auth: query"
		} else {
			e.Msg += ": the key lacks Read permission or its user may not manage WooCommerce"
		}
	case we.Code == "rest_invalid_param":
		e.Msg = fmt.Sprintf("woocommerce: %s refused the agent's query: %s: the shop's WooCommerce may be too old (5.8 or later is needed)", c.where(path), text)
		e.Fix = "update WooCommerce"
	default:
		e.Msg = fmt.Sprintf("woocommerce: %s answered %s", c.where(path), text)
	}
	return e
}

// htmlError explains an HTML page where JSON was expected.
func (c *client) htmlError(path string, status int, body []byte) error {
	title := htmlTitle(body)
	if title != "" {
		title = fmt.Sprintf(" titled %q", title)
	}
	return &Error{Status: status, kind: ErrNotJSON,
		Msg: fmt.Sprintf("woocommerce: %s answered a web page%s (HTTP %d) instead of JSON: a security plugin or firewall (captcha, bot check), a maintenance page or a cache is in the way", c.where(path), title, status),
		Fix: "let the agent's requests to /wp-json/ through (security plugin or host firewall allow-list), or end maintenance mode"}
}

// tlsError explains a certificate problem; nil for other errors.
func tlsError(where string, err error) error {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		return &Error{Msg: fmt.Sprintf("woocommerce: %s: the shop's TLS certificate is not signed by a trusted authority (%s)", where, redact(err)),
			Fix: "install a certificate from a public authority on the shop (e.g. Let's Encrypt), or give its CA with woocommerce.ca_file"}
	case errors.As(err, &hn):
		return &Error{Msg: fmt.Sprintf("woocommerce: %s: the shop's TLS certificate is for another name (%s)", where, redact(err)),
			Fix: "check woocommerce.url (the certificate's name must match it)"}
	case errors.As(err, &ci):
		return &Error{Msg: fmt.Sprintf("woocommerce: %s: the shop's TLS certificate is invalid (%s)", where, redact(err)),
			Fix: "renew the shop's certificate (it may have expired), or check this machine's clock"}
	case errors.As(err, &rec):
		return &Error{Msg: fmt.Sprintf("woocommerce: %s: the shop does not speak HTTPS on this port (%s)", where, redact(err)),
			Fix: "check woocommerce.url"}
	}
	return nil
}

// redact keeps an error's text free of the address (which may carry the
// key and secret in its query string).
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func isHTML(h http.Header, body []byte) bool {
	if strings.Contains(strings.ToLower(h.Get("Content-Type")), "text/html") {
		return true
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '<'
}

func htmlTitle(body []byte) string {
	low := bytes.ToLower(body)
	i := bytes.Index(low, []byte("<title"))
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(low[i:], '>')
	if j < 0 {
		return ""
	}
	start := i + j + 1
	end := bytes.Index(low[start:], []byte("</title>"))
	if end < 0 {
		return ""
	}
	t := strings.Join(strings.Fields(string(body[start:start+end])), " ")
	if len(t) > 80 {
		t = t[:80] + "…"
	}
	return t
}

func intHeader(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil {
		return -1
	}
	return n
}

// hasNext reports a Link header with rel="next".
func hasNext(h http.Header) bool {
	for _, v := range h.Values("Link") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.Contains(strings.ReplaceAll(part, " ", ""), `rel="next"`) {
				return true
			}
		}
	}
	return false
}
