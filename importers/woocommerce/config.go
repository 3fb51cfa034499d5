package woocommerce

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tmas/storeagent/importers/record"
)

// SampleConfig is the commented `woocommerce:` section of the agent's
// configuration, for `storeagent` to print and for the docs.
//
//go:embed sample.yaml
var SampleConfig string

// Defaults.
const (
	DefaultSchedule     = "2 * * * *"
	DefaultSpread       = 10 * time.Minute
	DefaultBackfillDays = 7
	DefaultLookback     = 48 * time.Hour
	DefaultRecheck      = 72 * time.Hour
	DefaultLag          = time.Minute
	DefaultPageSize     = 100
	MaxPageSize         = 100 // WooCommerce refuses per_page above 100
	DefaultOrderPrefix  = "#"
)

// DefaultSaleStatuses are the order statuses that count as a sale unless
// configured otherwise.
var DefaultSaleStatuses = []string{"completed", "processing"}

// Auth modes.
const (
	AuthHeader = "header" // HTTP Basic in the Authorization header
	AuthQuery  = "query"  // consumer_key and consumer_secret in the query string
)

// Date types: which of an order's dates places its sale in an hour.
const (
	DateCreated   = "created"
	DatePaid      = "paid"
	DateCompleted = "completed"
)

// Fee policies.
const (
	FeesInclude = "include"
	FeesExclude = "exclude"
)

// Config is the `woocommerce:` section of the agent's configuration.
type Config struct {
	// URL is the shop's address (https://shop.example.com, or with a
	// WordPress subfolder). Its host (and path) names the shop in record keys.
	URL string `yaml:"url"`

	// The REST API key's consumer key and secret, each given one way.
	ConsumerKey        string `yaml:"consumer_key"`
	ConsumerKeyEnv     string `yaml:"consumer_key_env"`
	ConsumerKeyFile    string `yaml:"consumer_key_file"`
	ConsumerSecret     string `yaml:"consumer_secret"`
	ConsumerSecretEnv  string `yaml:"consumer_secret_env"`
	ConsumerSecretFile string `yaml:"consumer_secret_file"`

	// Auth is "header" (HTTP Basic, the default) or "query" (the key and
	// secret in the query string, for hosts that strip the Authorization
	// header; HTTPS only).
	Auth string `yaml:"auth"`

	// BaseURL replaces URL for requests (a proxy, a test double); keys keep
	// naming the shop by URL.
	BaseURL string `yaml:"base_url"`
	// RESTRoute calls /?rest_route=/wc/v3/… instead of /wp-json/wc/v3/…
	// (sites whose permalinks are "Plain").
	RESTRoute bool `yaml:"rest_route"`
	// CAFile is a PEM bundle trusted besides the system's roots.
	CAFile string `yaml:"ca_file"`

	// Location is the TMAS location web orders are counted at.
	Location string `yaml:"location"`
	// LocationMetaKey, when set, maps each order by the value of this order
	// meta key through LocationByMeta; orders without a mapped value go to
	// Location (or are skipped with a note when Location is empty).
	LocationMetaKey string            `yaml:"location_meta_key"`
	LocationByMeta  map[string]string `yaml:"location_by_meta"`

	// SaleStatuses are the order statuses (slugs, without "wc-") that
	// count as a sale; default completed and processing.
	SaleStatuses []string `yaml:"sale_statuses"`
	// OrderPrefix is put before the order number on receipts; default "#"
	// when left out, "" for the bare number.
	OrderPrefix *string `yaml:"order_prefix"`
	// DateType is created (default), paid or completed.
	DateType string `yaml:"date_type"`
	// Fees is include (default, as WooCommerce Analytics) or exclude.
	Fees string `yaml:"fees"`
	// TipFees names fee lines that are tips (compared without case).
	TipFees []string `yaml:"tip_fees"`

	Schedule     string          `yaml:"schedule"`      // cron; default "2 * * * *"
	Spread       record.Duration `yaml:"spread"`        // random per-agent offset; default 10m
	BackfillDays int             `yaml:"backfill_days"` // first run reads this far back; default 7
	Lookback     record.Duration `yaml:"lookback"`      // re-read of orders modified before the previous end; default 48h
	Recheck      record.Duration `yaml:"recheck"`       // re-read of orders created this recently; default 72h
	Lag          record.Duration `yaml:"lag"`           // windows end this long before now; default 1m
	PageSize     int             `yaml:"page_size"`     // per_page; default and at most 100
}

// SetDefaults fills in what was left out.
func (c *Config) SetDefaults() {
	c.URL = strings.TrimSpace(c.URL)
	if c.Auth == "" {
		c.Auth = AuthHeader
	}
	if len(c.SaleStatuses) == 0 {
		c.SaleStatuses = slices.Clone(DefaultSaleStatuses)
	}
	for k, s := range c.SaleStatuses {
		c.SaleStatuses[k] = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "wc-")
	}
	if c.OrderPrefix == nil {
		p := DefaultOrderPrefix
		c.OrderPrefix = &p
	}
	if c.DateType == "" {
		c.DateType = DateCreated
	}
	if c.Fees == "" {
		c.Fees = FeesInclude
	}
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.Spread == 0 {
		c.Spread = record.Duration(DefaultSpread)
	}
	if c.BackfillDays == 0 {
		c.BackfillDays = DefaultBackfillDays
	}
	if c.Lookback == 0 {
		c.Lookback = record.Duration(DefaultLookback)
	}
	if c.Recheck == 0 {
		c.Recheck = record.Duration(DefaultRecheck)
	}
	if c.Lag == 0 {
		c.Lag = record.Duration(DefaultLag)
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
}

// ConsumerKeyRef names the consumer key.
func (c Config) ConsumerKeyRef() record.SecretRef {
	return record.SecretRef{Inline: c.ConsumerKey, Env: c.ConsumerKeyEnv, File: c.ConsumerKeyFile}
}

// ConsumerSecretRef names the consumer secret.
func (c Config) ConsumerSecretRef() record.SecretRef {
	return record.SecretRef{Inline: c.ConsumerSecret, Env: c.ConsumerSecretEnv, File: c.ConsumerSecretFile}
}

// ShopID names the shop in record keys: the URL's host and path, lower case
// ("shop.example.com", "example.com/boutique").
func (c Config) ShopID() string {
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host + strings.TrimRight(u.Path, "/"))
}

// APIBase is where requests go: BaseURL, else URL, without a trailing slash.
func (c Config) APIBase() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return strings.TrimRight(c.URL, "/")
}

// Locations are the TMAS locations this section names, sorted.
func (c Config) Locations() []string {
	var out []string
	if c.Location != "" {
		out = append(out, c.Location)
	}
	for _, id := range c.LocationByMeta {
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Prefix is the receipt prefix.
func (c Config) Prefix() string {
	if c.OrderPrefix == nil {
		return DefaultOrderPrefix
	}
	return *c.OrderPrefix
}

// Counts reports whether orders in this status count as a sale.
func (c Config) Counts(status string) bool { return slices.Contains(c.SaleStatuses, status) }

var statusSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,19}$`)

// Validate checks the configuration without reading secrets or calling the
// shop. Every problem is reported, each prefixed by its key.
func (c *Config) Validate() error {
	var errs []error
	for _, e := range c.FieldErrors() {
		errs = append(errs, fmt.Errorf("woocommerce.%s: %s", e.Path, e.Msg))
	}
	return errors.Join(errs...)
}

// FieldErrors lists every problem, each at its key inside the
// `woocommerce:` section, without reading secrets or calling the shop.
func (c *Config) FieldErrors() []record.FieldError {
	var errs fieldErrors
	c.checkSite(&errs)
	c.checkCredentials(&errs)
	c.checkLocations(&errs)
	c.checkOrders(&errs)
	c.checkTiming(&errs)
	return errs
}

// fieldErrors collects a section's problems in the order they are found.
type fieldErrors []record.FieldError

func (e *fieldErrors) bad(key, format string, args ...any) {
	*e = append(*e, record.Fieldf(key, format, args...))
}

// checkSite checks url and base_url, and that credentials never travel in
// clear text, except to a loopback proxy.
func (c *Config) checkSite(errs *fieldErrors) {
	bad := errs.bad
	siteOK := false
	switch u, err := url.Parse(c.URL); {
	case c.URL == "":
		bad("url", "is required: the shop's address, e.g. https://shop.example.com")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		bad("url", "%q is not an address such as https://shop.example.com", c.URL)
	case u.RawQuery != "" || u.Fragment != "":
		bad("url", "%q: give the shop's address without ?query or #fragment", c.URL)
	default:
		siteOK = true
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url", "%q is not an http(s) URL", c.BaseURL)
		}
	}
	if !siteOK && c.BaseURL == "" {
		return
	}
	u, err := url.Parse(c.APIBase())
	if err != nil || u.Scheme != "http" {
		return
	}
	key := "url"
	if c.BaseURL != "" {
		key = "base_url"
	}
	switch {
	case c.Auth == AuthQuery:
		bad("auth", "query puts the consumer key and secret in the address: it is refused over plain HTTP (%s); use an https:// address", c.APIBase())
	case !isLoopback(u.Hostname()):
		bad(key, "%q is plain HTTP: WooCommerce accepts API keys only over HTTPS (and they would travel in clear text); use https://", c.APIBase())
	}
}

// checkCredentials checks the consumer key and secret references and auth.
func (c *Config) checkCredentials(errs *fieldErrors) {
	bad := errs.bad
	for _, r := range []struct {
		key string
		ref record.SecretRef
	}{{"consumer_key", c.ConsumerKeyRef()}, {"consumer_secret", c.ConsumerSecretRef()}} {
		switch {
		case !r.ref.IsSet():
			bad(r.key, "is required (%s, %s_env or %s_file): make a key with Read permission in WooCommerce > Settings > Advanced > REST API", r.key, r.key, r.key)
		default:
			if err := r.ref.Check(); err != nil {
				bad(r.key, "%v", err)
			}
		}
	}
	if c.ConsumerKey != "" && !strings.HasPrefix(c.ConsumerKey, "ck_") {
		bad("consumer_key", "does not look like a WooCommerce consumer key (they start with ck_)")
	}
	if c.ConsumerSecret != "" && !strings.HasPrefix(c.ConsumerSecret, "cs_") {
		bad("consumer_secret", "does not look like a WooCommerce consumer secret (they start with cs_)")
	}
	switch c.Auth {
	case AuthHeader, AuthQuery:
	default:
		bad("auth", "%q must be header (HTTP Basic) or query (key and secret in the query string)", c.Auth)
	}
}

// checkLocations checks location, location_meta_key and location_by_meta.
func (c *Config) checkLocations(errs *fieldErrors) {
	bad := errs.bad
	if c.Location == "" && c.LocationMetaKey == "" {
		bad("location", `is required: the TMAS location web orders are counted at (e.g. location: "0421")`)
	}
	if c.LocationMetaKey == "" && len(c.LocationByMeta) > 0 {
		bad("location_by_meta", "needs location_meta_key: the order meta key whose value it maps")
	}
	if c.LocationMetaKey != "" && len(c.LocationByMeta) == 0 {
		bad("location_by_meta", "is required with location_meta_key: map each meta value to a TMAS location")
	}
	for v, id := range c.LocationByMeta {
		if strings.TrimSpace(v) == "" || strings.TrimSpace(id) == "" {
			bad("location_by_meta", "%q: %q: both the meta value and the TMAS location must be given", v, id)
		}
	}
}

// checkOrders checks which orders count and how: sale_statuses, date_type
// and fees.
func (c *Config) checkOrders(errs *fieldErrors) {
	bad := errs.bad
	if len(c.SaleStatuses) == 0 {
		bad("sale_statuses", "must name at least one status (e.g. [completed, processing])")
	}
	for _, s := range c.SaleStatuses {
		switch {
		case !statusSlug.MatchString(s):
			bad("sale_statuses", "%q is not an order status slug (completed, processing, on-hold, …)", s)
		case s == "trash" || s == "checkout-draft":
			bad("sale_statuses", "%q can never count as a sale", s)
		}
	}
	switch c.DateType {
	case DateCreated, DatePaid, DateCompleted:
	default:
		bad("date_type", "%q must be created, paid or completed", c.DateType)
	}
	switch c.Fees {
	case FeesInclude, FeesExclude:
	default:
		bad("fees", "%q must be include or exclude", c.Fees)
	}
}

// checkTiming checks the schedule, the windows, the prefix and the page size.
func (c *Config) checkTiming(errs *fieldErrors) {
	bad := errs.bad
	if _, err := cron.ParseStandard(c.Schedule); err != nil {
		bad("schedule", "%q is not a cron schedule (minute hour day month weekday, e.g. %q): %v", c.Schedule, DefaultSchedule, err)
	}
	if c.Spread < 0 || c.Spread.D() > time.Hour {
		bad("spread", "%s is out of range (0 to 1h)", c.Spread)
	}
	if c.BackfillDays < 0 || c.BackfillDays > 3650 {
		bad("backfill_days", "%d is out of range (1 to 3650)", c.BackfillDays)
	}
	if c.Lag < 0 || c.Lag.D() > time.Hour {
		bad("lag", "%s is out of range (0 to 1h)", c.Lag)
	}
	if c.Lookback.D() <= c.Lag.D() {
		bad("lookback", "%s must be longer than lag (%s): each run re-reads this window to catch refunds and status changes", c.Lookback, c.Lag)
	}
	if c.Recheck < 0 {
		bad("recheck", "must not be negative")
	}
	if len(c.Prefix()) > 20 {
		bad("order_prefix", "%q is longer than 20 characters", c.Prefix())
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		bad("page_size", "%d is out of range (1 to %d)", c.PageSize, MaxPageSize)
	}
}

// OwnLocations are the section's location mappings for the agent's
// configuration (config.LocationOwner), by key path: "location" maps the
// shop (ShopID, the id `storeagent locations woocommerce` lists it by) and
// each "location_by_meta[VALUE]" the meta value (LocationMetaKey=VALUE).
func (c *Config) OwnLocations() map[string]record.Binding {
	out := map[string]record.Binding{}
	if c.Location != "" {
		out["location"] = record.Binding{LocationID: c.Location, SourceID: c.ShopID()}
	}
	for v, id := range c.LocationByMeta {
		out["location_by_meta["+v+"]"] = record.Binding{LocationID: id, SourceID: c.LocationMetaKey + "=" + v}
	}
	return out
}

// Timing is when the agent runs the importer: the cron schedule and the
// random per-agent offset.
func (c *Config) Timing() (string, time.Duration) { return c.Schedule, c.Spread.D() }

// Build makes the importer of a decoded, defaulted section for the agent.
func Build(c *Config, bindings []record.Binding, env record.SourceEnv) (*Importer, error) {
	return New(*c, bindings, Options{Logger: env.Logger})
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
