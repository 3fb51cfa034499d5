package vend

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/tmas/storeagent/importers/record"
)

// SampleConfig is a commented example of the `vend:` section.
//
//go:embed sample.yaml
var SampleConfig string

// Defaults.
const (
	DefaultSchedule     = "2 * * * *"
	DefaultSpread       = 10 * time.Minute
	DefaultBackfillDays = 7
	DefaultPageSize     = 200
	MaxPageSize         = 10000
	DefaultAuthURL      = "https://secure.retail.lightspeed.app"
	// DefaultScope is what the importer reads: sales, outlets, users (to
	// place shifts) and products (the lines' SKUs). registers:read is not
	// asked: the register id comes with each sale. Lightspeed documents no
	// scope for shifts; if one becomes required, add it with `scope:`.
	DefaultScope = "sales:read outlets:read users:read products:read"
)

// Config is the `vend:` section of the agent's configuration.
type Config struct {
	// DomainPrefix is the store's Lightspeed name: acme for acme.retail.lightspeed.app.
	DomainPrefix string `yaml:"domain_prefix"`

	// A personal token (Setup > Personal tokens), given one way only...
	Token     string `yaml:"token,omitempty"`
	TokenEnv  string `yaml:"token_env,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`

	// ...or an OAuth application: `storeagent connect vend` signs in once and
	// the agent keeps the rotating refresh token in its data folder.
	ClientID         string `yaml:"client_id,omitempty"`
	ClientSecret     string `yaml:"client_secret,omitempty"`
	ClientSecretEnv  string `yaml:"client_secret_env,omitempty"`
	ClientSecretFile string `yaml:"client_secret_file,omitempty"`
	// RedirectURL is the loopback address registered with the application,
	// e.g. http://127.0.0.1:8765/callback. Empty: a free port on 127.0.0.1.
	RedirectURL string `yaml:"redirect_url,omitempty"`
	Scope       string `yaml:"scope,omitempty"`

	// BaseURL overrides https://{domain_prefix}.retail.lightspeed.app (API and
	// token endpoint) for staging, a proxy or a test double.
	BaseURL string `yaml:"base_url,omitempty"`
	// AuthURL overrides https://secure.retail.lightspeed.app (the sign-in page).
	AuthURL string `yaml:"auth_url,omitempty"`

	// Staff imports timeclock shifts (default true).
	Staff *bool `yaml:"staff,omitempty"`
	// DefaultLocation is the TMAS location of shifts no outlet can be found for.
	DefaultLocation string `yaml:"default_location,omitempty"`
	// Currency is used when Lightspeed does not say an outlet's currency.
	Currency string `yaml:"currency,omitempty"`
	PageSize int    `yaml:"page_size,omitempty"`

	Schedule     string          `yaml:"schedule"`
	Spread       record.Duration `yaml:"spread"`
	BackfillDays int             `yaml:"backfill_days"`
}

// SetDefaults fills what was left out.
func (c *Config) SetDefaults() {
	c.DomainPrefix = strings.ToLower(strings.TrimSpace(c.DomainPrefix))
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.Spread == 0 {
		c.Spread = record.Duration(DefaultSpread)
	}
	if c.BackfillDays == 0 {
		c.BackfillDays = DefaultBackfillDays
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.AuthURL == "" {
		c.AuthURL = DefaultAuthURL
	}
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.Staff == nil {
		t := true
		c.Staff = &t
	}
}

// StaffEnabled reports whether shifts are imported.
func (c *Config) StaffEnabled() bool { return c.Staff == nil || *c.Staff }

// TokenRef is the personal token's reference.
func (c *Config) TokenRef() record.SecretRef {
	return record.SecretRef{Inline: c.Token, Env: c.TokenEnv, File: c.TokenFile}
}

// ClientSecretRef is the OAuth client secret's reference.
func (c *Config) ClientSecretRef() record.SecretRef {
	return record.SecretRef{Inline: c.ClientSecret, Env: c.ClientSecretEnv, File: c.ClientSecretFile}
}

// UsesOAuth reports whether the configuration names an OAuth application
// rather than a personal token.
func (c *Config) UsesOAuth() bool { return c.ClientID != "" }

// APIBase is the root of the API and token endpoints, without a trailing slash.
func (c *Config) APIBase() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return "https://" + c.DomainPrefix + ".retail.lightspeed.app"
}

var (
	prefixRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks the section without any network call. All problems are
// joined, each prefixed by its key path.
func (c *Config) Validate() error {
	var errs []error
	for _, e := range c.FieldErrors() {
		errs = append(errs, fmt.Errorf("vend.%s: %s", e.Path, e.Msg))
	}
	return errors.Join(errs...)
}

// FieldErrors lists every problem, each at its key inside the `vend:`
// section, without any network call or reading a secret.
func (c *Config) FieldErrors() []record.FieldError {
	var errs []record.FieldError
	bad := func(key, format string, a ...any) {
		errs = append(errs, record.Fieldf(key, format, a...))
	}
	switch {
	case c.DomainPrefix == "":
		bad("domain_prefix", "is required (acme for acme.retail.lightspeed.app)")
	case strings.Contains(c.DomainPrefix, "."):
		bad("domain_prefix", "%q: give the name only (acme, not acme.retail.lightspeed.app)", c.DomainPrefix)
	case !prefixRE.MatchString(c.DomainPrefix):
		bad("domain_prefix", "%q is not a Lightspeed store name (letters, digits and dashes)", c.DomainPrefix)
	}
	tok, sec := c.TokenRef(), c.ClientSecretRef()
	if err := tok.Check(); err != nil {
		bad("token", "%v", err)
	}
	if err := sec.Check(); err != nil {
		bad("client_secret", "%v", err)
	}
	switch {
	case tok.IsSet() && c.ClientID != "":
		bad("token", "give either a personal token or client_id/client_secret, not both")
	case !tok.IsSet() && c.ClientID == "":
		bad("token", "is required: a personal token (token, token_env or token_file) or an OAuth application (client_id and client_secret)")
	case c.ClientID != "" && !sec.IsSet():
		bad("client_secret", "is required with client_id (client_secret, client_secret_env or client_secret_file)")
	case c.ClientID == "" && sec.IsSet():
		bad("client_id", "is required with client_secret")
	}
	if c.RedirectURL != "" {
		if err := checkLoopback(c.RedirectURL); err != nil {
			bad("redirect_url", "%v", err)
		}
	}
	for _, kv := range [][2]string{{"base_url", c.BaseURL}, {"auth_url", c.AuthURL}} {
		key, v := kv[0], kv[1]
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(key, "%q is not an http(s) URL", v)
		}
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		bad("page_size", "%d is out of range (1 to %d)", c.PageSize, MaxPageSize)
	}
	if c.Currency != "" && !currencyRE.MatchString(c.Currency) {
		bad("currency", "%q is not an ISO 4217 code such as NZD", c.Currency)
	}
	if c.Schedule != "" {
		if _, err := cron.ParseStandard(c.Schedule); err != nil {
			bad("schedule", "%q is not a cron schedule: %v", c.Schedule, err)
		}
	}
	if c.Spread < 0 {
		bad("spread", "must not be negative")
	}
	if c.BackfillDays < 0 || c.BackfillDays > 3650 {
		bad("backfill_days", "%d is out of range (1 to 3650)", c.BackfillDays)
	}
	return errs
}

func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an http://127.0.0.1:PORT/PATH address", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q must be a loopback address (127.0.0.1 or localhost): the sign-in comes back to this machine", raw)
	}
	return nil
}

var outletIDRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// CheckLocationID checks the outlet id given for a TMAS location under
// `locations:`: the outlet's id, or its last characters (8 are usually enough).
func (c *Config) CheckLocationID(id string) error {
	if !outletIDRE.MatchString(strings.TrimSpace(id)) {
		return fmt.Errorf("%q is not a Lightspeed outlet id (letters, digits and dashes, such as 1f2e3d4c or the whole id; `storeagent locations vend` lists them)", id)
	}
	return nil
}

// Timing is when the agent runs the importer: the cron schedule and the
// random per-agent offset.
func (c *Config) Timing() (string, time.Duration) { return c.Schedule, c.Spread.D() }

// Build makes the importer of a decoded, defaulted section for the agent:
// with an OAuth application its token is kept in env.State.
func Build(c *Config, bindings []record.Binding, env record.SourceEnv) (*Importer, error) {
	opts := Options{Logger: env.Logger}
	if c.UsesOAuth() && env.State != nil {
		opts.TokenStore = StateTokens(env.State)
	}
	return New(*c, bindings, opts)
}

// TokenState is the name of the state the OAuth token is kept under.
const TokenState = "token:vend"

// StateTokens keeps the token in the agent's state (its buffer file), so a
// rotated refresh token is durable before it is used.
func StateTokens(st record.StateStore) TokenStore { return stateTokens{st} }

type stateTokens struct{ st record.StateStore }

func (v stateTokens) LoadToken(context.Context) (Token, error) {
	raw, err := v.st.State(TokenState)
	if err != nil {
		return Token{}, err
	}
	if raw == nil {
		return Token{}, ErrNoToken
	}
	var t Token
	return t, t.UnmarshalBinary(raw)
}

func (v stateTokens) SaveToken(_ context.Context, t Token) error {
	raw, err := t.MarshalBinary()
	if err != nil {
		return err
	}
	return v.st.SetState(map[string][]byte{TokenState: raw})
}
