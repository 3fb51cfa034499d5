package shopify

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tmas/storeagent/importers/record"
)

// SampleConfig is the commented `shopify:` section of the agent's
// configuration, for `storeagent` to print and for the docs.
//
//go:embed sample.yaml
var SampleConfig string

// Defaults.
const (
	DefaultSchedule   = "2 * * * *"
	DefaultAPIVersion = "2026-10"
	DefaultPageSize   = 100
	MaxPageSize       = 250
)

// Config is the `shopify:` section of the agent's configuration.
type Config struct {
	// Shop is the shop's myshopify name: "acme", "acme.myshopify.com" and
	// "https://acme.myshopify.com/" are all read as "acme".
	Shop string `yaml:"shop"`

	// A legacy custom-app Admin API token (shpat_…), given one way.
	Token     string `yaml:"token"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`

	// Or a Dev Dashboard app's client id and secret: the agent exchanges them
	// for a token (client-credentials grant) and renews it before it expires.
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`

	// APIVersion is the pinned GraphQL Admin API version.
	APIVersion string `yaml:"api_version"`
	// BaseURL replaces https://{shop}.myshopify.com (a test double, a proxy).
	BaseURL string `yaml:"base_url"`

	Schedule     string          `yaml:"schedule"`      // cron; default "2 * * * *"
	Spread       record.Duration `yaml:"spread"`        // random per-agent offset; default 10m
	BackfillDays int             `yaml:"backfill_days"` // first run reads this far back; default 7
	Lookback     record.Duration `yaml:"lookback"`      // each run re-reads this much before the last; default 48h
	Lag          record.Duration `yaml:"lag"`           // stay this far behind now (search index lag); default 2m
	PageSize     int             `yaml:"page_size"`     // most orders per request; default 100, at most 250

	// ReadAllOrders says the app was granted read_all_orders, without which
	// Shopify hides orders older than 60 days.
	ReadAllOrders bool `yaml:"read_all_orders"`

	// BulkAfter: windows longer than this are read with a bulk operation
	// instead of paged queries; default 14d. DisableBulk turns bulk off.
	BulkAfter   record.Duration `yaml:"bulk_after"`
	DisableBulk bool            `yaml:"disable_bulk"`
}

// SetDefaults fills in what was left out.
func (c *Config) SetDefaults() {
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.Spread == 0 {
		c.Spread = record.Duration(10 * time.Minute)
	}
	if c.BackfillDays == 0 {
		c.BackfillDays = 7
	}
	if c.Lookback == 0 {
		c.Lookback = record.Duration(48 * time.Hour)
	}
	if c.Lag == 0 {
		c.Lag = record.Duration(2 * time.Minute)
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.BulkAfter == 0 {
		c.BulkAfter = record.Duration(14 * 24 * time.Hour)
	}
}

var (
	shopName   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	apiVersion = regexp.MustCompile(`^(\d{4}-(01|04|07|10)|unstable)$`)
)

// ShopName is the shop's myshopify name, whatever form Shop was given in.
func (c Config) ShopName() string {
	s := strings.ToLower(strings.TrimSpace(c.Shop))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	return strings.TrimSuffix(s, ".myshopify.com")
}

// TokenRef names the legacy admin token.
func (c Config) TokenRef() record.SecretRef {
	return record.SecretRef{Inline: c.Token, Env: c.TokenEnv, File: c.TokenFile}
}

// ClientSecretRef names the client secret.
func (c Config) ClientSecretRef() record.SecretRef {
	return record.SecretRef{Inline: c.ClientSecret, Env: c.ClientSecretEnv, File: c.ClientSecretFile}
}

// Validate checks the configuration without reading secrets or calling
// Shopify. Every problem is reported, each prefixed by its key.
func (c *Config) Validate() error {
	var errs []error
	for _, e := range c.FieldErrors() {
		errs = append(errs, fmt.Errorf("shopify.%s: %s", e.Path, e.Msg))
	}
	return errors.Join(errs...)
}

// FieldErrors lists every problem, each at its key inside the `shopify:`
// section, without reading secrets or calling Shopify.
func (c *Config) FieldErrors() []record.FieldError {
	var errs []record.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, record.Fieldf(key, format, args...))
	}
	switch name := c.ShopName(); {
	case c.Shop == "":
		bad("shop", "is required: the name before .myshopify.com (e.g. acme for acme.myshopify.com)")
	case strings.Contains(name, "."):
		bad("shop", "%q is not a myshopify name: give the name before .myshopify.com (Shopify admin > Settings > Domains shows it), not the store's own domain", c.Shop)
	case !shopName.MatchString(name):
		bad("shop", "%q is not a myshopify name (letters, digits and dashes before .myshopify.com)", c.Shop)
	}
	tok, id, sec := c.TokenRef(), c.ClientID != "", c.ClientSecretRef()
	switch {
	case tok.IsSet() && (id || sec.IsSet()):
		bad("token", "give either a token (token, token_env or token_file) or client_id with a client secret, not both")
	case tok.IsSet():
		if err := tok.Check(); err != nil {
			bad("token", "%v", err)
		}
	case id && !sec.IsSet():
		bad("client_secret", "is required with client_id (or client_secret_env / client_secret_file)")
	case !id && sec.IsSet():
		bad("client_id", "is required with a client secret")
	case id:
		if err := sec.Check(); err != nil {
			bad("client_secret", "%v", err)
		}
	default:
		bad("token", "no credentials: give token, token_env or token_file (a custom app's Admin API access token, shpat_…), or client_id with client_secret, client_secret_env or client_secret_file (an app made in the Dev Dashboard)")
	}
	if !apiVersion.MatchString(c.APIVersion) {
		bad("api_version", "%q is not an API version (YYYY-01, -04, -07 or -10, e.g. %s)", c.APIVersion, DefaultAPIVersion)
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url", "%q is not an http(s) URL", c.BaseURL)
		}
	}
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
		bad("lookback", "%s must be longer than lag (%s): each run re-reads this window to catch refunds and edits", c.Lookback, c.Lag)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		bad("page_size", "%d is out of range (1 to %d)", c.PageSize, MaxPageSize)
	}
	if c.BulkAfter.D() < time.Hour && !c.DisableBulk {
		bad("bulk_after", "%s is too short (at least 1h; use disable_bulk: true to never use bulk operations)", c.BulkAfter)
	}
	return errs
}

// CheckLocationID checks the id given for a TMAS location under
// `locations:` (a number such as 1234567890, or gid://shopify/Location/1234567890).
func (c *Config) CheckLocationID(sid string) error {
	s := strings.TrimSpace(sid)
	id := s[strings.LastIndexByte(s, '/')+1:]
	if id == "" || strings.Trim(id, "0123456789") != "" || (strings.Contains(s, "/") && !strings.HasPrefix(s, "gid://shopify/Location/")) {
		return fmt.Errorf("%q is not a Shopify location id (a number such as 1234567890, or gid://shopify/Location/1234567890; `storeagent locations shopify` lists them)", sid)
	}
	return nil
}

// Timing is when the agent runs the importer: the cron schedule and the
// random per-agent offset.
func (c *Config) Timing() (string, time.Duration) { return c.Schedule, c.Spread.D() }

// Build makes the importer of a decoded, defaulted section for the agent.
func Build(c *Config, bindings []record.Binding, env record.SourceEnv) (*Importer, error) {
	return New(*c, bindings, Options{Logger: env.Logger})
}
