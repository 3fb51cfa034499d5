// Package config reads and validates the agent's one YAML file: strict (an
// unknown key is an error), every problem reported at once with its line and
// key path, secrets given inline, by environment variable or by file and never
// printed, relative paths anchored to the config file's folder.
//
// Validate makes no network call: checking credentials against the outside
// world is `storeagent doctor`'s job.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tmas/storeagent/ftpd"
	"github.com/tmas/storeagent/importers/record"
)

// Config is the whole file.
type Config struct {
	Agent     Agent               `yaml:"agent"`
	Upstream  Upstream            `yaml:"upstream"`
	Locations map[string]Location `yaml:"locations"`
	FTP       *ftpd.Config        `yaml:"ftp"`
	Inbox     Inbox               `yaml:"inbox"`
	CSV       CSV                 `yaml:"csv"`
	Buffer    Buffer              `yaml:"buffer"`
	Status    Status              `yaml:"status"`
	Log       Log                 `yaml:"log"`

	// Path is the file the configuration was read from ("" when built in code).
	Path string `yaml:"-"`
	// UpstreamToken is the resolved upstream token.
	UpstreamToken record.Secret `yaml:"-"`
	zones         map[string]*time.Location
	agentZone     *time.Location
	// sections are the kinds' sections present in the file, by name.
	sections map[string]Section
}

// Agent identifies this agent and where it keeps its data.
type Agent struct {
	ID       string `yaml:"id"`
	DataDir  string `yaml:"data_dir"`
	Timezone string `yaml:"timezone"`
}

// Upstream is headquarters.
type Upstream struct {
	URL       string          `yaml:"url"`
	Token     string          `yaml:"token"`
	TokenEnv  string          `yaml:"token_env"`
	TokenFile string          `yaml:"token_file"`
	CAFile    string          `yaml:"ca_file"`
	Proxy     string          `yaml:"proxy"`
	BatchSize int             `yaml:"batch_max_lines"`
	BatchMax  record.Size     `yaml:"batch_max_bytes"`
	BatchAge  record.Duration `yaml:"batch_max_age"`
	Timeout   record.Duration `yaml:"timeout"`
	// Back-off between failed deliveries: from retry_min, doubling, up to
	// retry_max, with full jitter.
	RetryMin record.Duration `yaml:"retry_min"`
	RetryMax record.Duration `yaml:"retry_max"`
	// StatusInterval is the pace of the agent's status reports to
	// headquarters (PUT /v1/agents/{id}/status), jittered; default 5m.
	StatusInterval record.Duration `yaml:"status_interval"`
}

// Location is one store: its TMAS id is the map key. Besides its own keys it
// holds, under each source's name, that source's id for it:
// "0421": {timezone: America/Toronto, shopify: "gid://shopify/Location/1", vend: "1f2e3d4c"}.
type Location struct {
	Timezone string `yaml:"timezone"`
	Active   *bool  `yaml:"active"`
	Name     string `yaml:"name"`
	// IDs are the sources' ids for the location, by source name.
	IDs map[string]string `yaml:"-"`
}

// IsActive reports whether the location is served (default true).
func (l Location) IsActive() bool { return l.Active == nil || *l.Active }

// Inbox is the watched folder for staff-hours CSV files.
type Inbox struct {
	Dir    string          `yaml:"dir"`
	Watch  *bool           `yaml:"watch"`
	Rescan record.Duration `yaml:"rescan"` // periodic full scan, so a missed event never loses a file
	Settle record.Duration `yaml:"settle"` // a file must keep the same size this long to count as complete
	// Location binds files of this folder to one location, so rows may omit location_id.
	Location string `yaml:"location"`
}

// Watching reports whether fsnotify events are used (default true).
func (i Inbox) Watching() bool { return i.Watch == nil || *i.Watch }

// CSV tunes the staff-hours parser.
type CSV struct {
	DateOrder   string      `yaml:"date_order"` // dmy (default) or mdy
	MaxFileSize record.Size `yaml:"max_file_size"`
}

// Buffer is the durable buffer.
type Buffer struct {
	Path     string      `yaml:"path"`
	MaxSize  record.Size `yaml:"max_size"`
	WhenFull string      `yaml:"when_full"`
	// KeyRetention is how long the buffer remembers delivered record keys, to
	// drop unchanged re-imports and number revisions.
	KeyRetention record.Duration `yaml:"key_retention"`
}

// Status is the local status page.
type Status struct {
	Listen string `yaml:"listen"`
}

// Log configures logging besides the journal / event log.
type Log struct {
	Level   string      `yaml:"level"`
	File    string      `yaml:"file"`
	Format  string      `yaml:"format"` // json (default) or text
	MaxSize record.Size `yaml:"max_size"`
	Keep    int         `yaml:"keep"` // rotated files kept
}

// Load reads, decodes strictly and validates a file. Its errors are Errors:
// every problem at once, each naming the file, the line and the key. kinds
// are the sections besides the built-in ones (the POS sources).
func Load(path string, kinds ...Kind) (*Config, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: %s does not exist: give one with --config, or run `storeagent install` to write a sample there (`storeagent demo` needs none)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(abs, raw, kinds...)
}

// Parse decodes and validates configuration text read from path: decoding,
// defaults, validation and resolving (secrets, time zones) each add their
// problems, and all are returned together as Errors in the order of lines.
func Parse(path string, raw []byte, kinds ...Kind) (*Config, error) {
	file := filepath.Base(path)
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		fe := syntaxError(err, raw)
		fe.File = file
		return nil, Errors{fe}
	}
	d := newDecoder(kinds)
	c := &Config{}
	d.config(&doc, c)
	c.Path, c.sections = path, d.sections
	c.SetDefaults()
	probs := d.errs
	later := append(c.validate(), c.resolve()...)
	for _, p := range later {
		if !decodeFailed(d.failed, p.Path) {
			p.Line = lineOf(d.lines, p.Path)
			probs = append(probs, p)
		}
	}
	if len(probs) == 0 {
		return c, nil
	}
	for i := range probs {
		probs[i].File = file
	}
	slices.SortStableFunc(probs, func(a, b FieldError) int { return cmp.Compare(lineKey(a.Line), lineKey(b.Line)) })
	return nil, Errors(probs)
}

// lineKey sorts problems without a line last.
func lineKey(l int) int {
	if l == 0 {
		return math.MaxInt
	}
	return l
}

// decodeFailed reports whether path, or a key above or below it, could not
// be decoded: its validation would only repeat that (a "required" for a
// value that was given but malformed).
func decodeFailed(failed []string, path string) bool {
	under := func(p, parent string) bool {
		return p == parent || parent == "" || strings.HasPrefix(p, parent+".") || strings.HasPrefix(p, parent+"[")
	}
	for _, f := range failed {
		if under(path, f) || under(f, path) {
			return true
		}
	}
	return false
}

// Section is the named source section when the file has one, else nil.
func (c *Config) Section(name string) Section { return c.sections[name] }

// SetSection adds or replaces a source section (for configurations built in
// code; Parse sets those of the file).
func (c *Config) SetSection(name string, s Section) {
	if c.sections == nil {
		c.sections = map[string]Section{}
	}
	c.sections[name] = s
}

// SetDefaults fills what the file left out.
func (c *Config) SetDefaults() {
	if c.Agent.DataDir == "" {
		c.Agent.DataDir = DefaultDataDir()
	}
	c.Agent.DataDir = c.abs(c.Agent.DataDir)
	if c.Upstream.BatchSize == 0 {
		c.Upstream.BatchSize = 10000
	}
	if c.Upstream.BatchMax == 0 {
		c.Upstream.BatchMax = 8 << 20
	}
	if c.Upstream.BatchAge == 0 {
		c.Upstream.BatchAge = record.Duration(5 * time.Second)
	}
	if c.Upstream.RetryMin == 0 {
		c.Upstream.RetryMin = record.Duration(time.Second)
	}
	if c.Upstream.RetryMax == 0 {
		c.Upstream.RetryMax = record.Duration(5 * time.Minute)
	}
	if c.Upstream.StatusInterval == 0 {
		c.Upstream.StatusInterval = record.Duration(5 * time.Minute)
	}
	if c.Upstream.Timeout == 0 {
		c.Upstream.Timeout = record.Duration(2 * time.Minute)
	}
	if c.Inbox.Dir == "" {
		c.Inbox.Dir = filepath.Join(c.Agent.DataDir, "inbox")
	}
	c.Inbox.Dir = c.abs(c.Inbox.Dir)
	if c.Inbox.Rescan == 0 {
		c.Inbox.Rescan = record.Duration(time.Minute)
	}
	if c.Inbox.Settle == 0 {
		c.Inbox.Settle = record.Duration(2 * time.Second)
	}
	if c.CSV.DateOrder == "" {
		c.CSV.DateOrder = "dmy"
	}
	if c.CSV.MaxFileSize == 0 {
		c.CSV.MaxFileSize = 50e6
	}
	if c.Buffer.Path == "" {
		c.Buffer.Path = filepath.Join(c.Agent.DataDir, "buffer.db")
	}
	c.Buffer.Path = c.abs(c.Buffer.Path)
	if c.Buffer.MaxSize == 0 {
		c.Buffer.MaxSize = 2e9
	}
	if c.Buffer.WhenFull == "" {
		c.Buffer.WhenFull = "refuse_uploads"
	}
	if c.Buffer.KeyRetention == 0 {
		c.Buffer.KeyRetention = record.Duration(120 * 24 * time.Hour)
	}
	if c.Status.Listen == "" {
		c.Status.Listen = "127.0.0.1:9181"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.File == "" {
		c.Log.File = filepath.Join(c.Agent.DataDir, "logs", "storeagent.log")
	}
	c.Log.File = c.abs(c.Log.File)
	if c.Log.MaxSize == 0 {
		c.Log.MaxSize = 10 << 20
	}
	if c.Log.Keep == 0 {
		c.Log.Keep = 5
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Upstream.TokenFile != "" {
		c.Upstream.TokenFile = c.abs(c.Upstream.TokenFile)
	}
	if c.Upstream.CAFile != "" {
		c.Upstream.CAFile = c.abs(c.Upstream.CAFile)
	}
	if c.FTP != nil {
		if c.FTP.HomeRoot == "" {
			c.FTP.HomeRoot = filepath.Join(c.Agent.DataDir, "ftp")
		}
		if c.FTP.CertDir == "" {
			c.FTP.CertDir = filepath.Join(c.Agent.DataDir, "tls")
		}
		c.FTP.HomeRoot, c.FTP.CertDir = c.abs(c.FTP.HomeRoot), c.abs(c.FTP.CertDir)
		if c.FTP.TLS.CertFile != "" {
			c.FTP.TLS.CertFile, c.FTP.TLS.KeyFile = c.abs(c.FTP.TLS.CertFile), c.abs(c.FTP.TLS.KeyFile)
		}
		if c.FTP.MaxFileSize == 0 {
			c.FTP.MaxFileSize = c.CSV.MaxFileSize
		}
		c.FTP.SetDefaults()
	}
	for _, name := range slices.Sorted(maps.Keys(c.sections)) {
		c.sections[name].SetDefaults()
	}
}

// abs anchors a relative path to the config file's folder (a Windows service
// starts in system32, so the working directory means nothing).
func (c *Config) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	base := "."
	if c.Path != "" {
		base = filepath.Dir(c.Path)
	}
	a, err := filepath.Abs(filepath.Join(base, p))
	if err != nil {
		return p
	}
	return a
}

var agentID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// Validate checks everything that can be checked without the network,
// secrets or the time-zone database and returns every problem as Errors
// (without lines: Parse adds them).
func (c *Config) Validate() error {
	if p := c.validate(); len(p) > 0 {
		return Errors(p)
	}
	return nil
}

// Resolve reads the upstream token (inline, from the environment or a file)
// and loads the agent's and the locations' time zones. It returns every
// problem as Errors.
func (c *Config) Resolve() error {
	if p := c.resolve(); len(p) > 0 {
		return Errors(p)
	}
	return nil
}

func (c *Config) validate() []FieldError {
	var errs fieldErrors
	c.validateUpstream(&errs)
	c.validateLocations(&errs)
	c.validateLocal(&errs)
	for _, name := range slices.Sorted(maps.Keys(c.sections)) {
		errs = append(errs, sectionErrors(name, c.sections[name].FieldErrors())...)
		c.validateOwnLocations(&errs, name)
	}
	return errs
}

// validateOwnLocations checks the TMAS ids a source maps in its own section
// (a LocationOwner, such as woocommerce) against locations:.
func (c *Config) validateOwnLocations(errs *fieldErrors, name string) {
	own, ok := c.sections[name].(LocationOwner)
	if !ok {
		return
	}
	m := own.OwnLocations()
	for _, path := range slices.Sorted(maps.Keys(m)) {
		if id := m[path].LocationID; id != "" {
			if _, ok := c.Locations[id]; !ok {
				errs.add(joinPath(name, path), "%q is not one of the locations", id)
			}
		}
	}
}

// fieldErrors gathers validate's problems in the order they are checked.
type fieldErrors []FieldError

func (e *fieldErrors) add(path, format string, a ...any) {
	*e = append(*e, FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
}

// validateUpstream checks the agent's name and how it reaches headquarters.
func (c *Config) validateUpstream(errs *fieldErrors) {
	add := errs.add
	if c.Agent.ID == "" {
		add("agent.id", "required: a name for this agent, e.g. store-042")
	} else if !agentID.MatchString(c.Agent.ID) {
		add("agent.id", "%q may only hold letters, digits and . _ : - (at most 64)", c.Agent.ID)
	}
	if c.Upstream.URL == "" {
		add("upstream.url", "required: the TMAS API address")
	} else if u, err := urlParse(c.Upstream.URL); err != nil {
		add("upstream.url", "%v", err)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		add("upstream.url", "%q is plain HTTP: use https:// (plain HTTP is accepted on loopback only)", c.Upstream.URL)
	}
	ref := c.upstreamTokenRef()
	if !ref.IsSet() {
		add("upstream.token", "required: give token, token_env or token_file")
	} else if err := ref.Check(); err != nil {
		add("upstream.token", "%v", err)
	}
	if c.Upstream.Proxy != "" {
		if _, err := urlParse(c.Upstream.Proxy); err != nil {
			add("upstream.proxy", "%v", err)
		}
	}
	if c.Upstream.BatchSize < 1 || c.Upstream.BatchSize > 10000 {
		add("upstream.batch_max_lines", "%d is outside 1..10000 (the API's limit)", c.Upstream.BatchSize)
	}
	if c.Upstream.BatchMax < 1024 || c.Upstream.BatchMax > 8<<20 {
		add("upstream.batch_max_bytes", "%v is outside 1KiB..8MiB (the API's limit)", c.Upstream.BatchMax)
	}
	if c.Upstream.StatusInterval < record.Duration(10*time.Second) {
		add("upstream.status_interval", "%v is shorter than 10s", c.Upstream.StatusInterval)
	}
	if c.Upstream.RetryMin > c.Upstream.RetryMax {
		add("upstream.retry_min", "%v is longer than retry_max %v", c.Upstream.RetryMin, c.Upstream.RetryMax)
	}
}

// validateLocations checks that there are locations, and that each id mapped
// for a source has a section that accepts it.
func (c *Config) validateLocations(errs *fieldErrors) {
	if len(c.Locations) == 0 {
		errs.add("locations", "required: at least one TMAS location, e.g. \"0421\": {timezone: America/Toronto}")
	}
	for _, id := range c.LocationIDs() {
		l := c.Locations[id]
		for _, src := range slices.Sorted(maps.Keys(l.IDs)) {
			sid := l.IDs[src]
			if sid == "" {
				continue
			}
			key := fmt.Sprintf("locations[%s].%s", id, src)
			sec, ok := c.sections[src].(LocationMapper)
			if !ok {
				errs.add(key, "an id is mapped for %s but there is no %s section", src, src)
			} else if err := sec.CheckLocationID(sid); err != nil {
				errs.add(key, "%v", err)
			}
		}
	}
}

// validateLocal checks the store-side settings: CSV, inbox, buffer, log, FTP.
func (c *Config) validateLocal(errs *fieldErrors) {
	add := errs.add
	switch c.CSV.DateOrder {
	case "dmy", "mdy":
	default:
		add("csv.date_order", "%q must be dmy (DD/MM/YYYY) or mdy (MM/DD/YYYY)", c.CSV.DateOrder)
	}
	if c.Inbox.Location != "" {
		if _, ok := c.Locations[c.Inbox.Location]; !ok {
			add("inbox.location", "%q is not one of the locations", c.Inbox.Location)
		}
	}
	if c.Buffer.WhenFull != "refuse_uploads" {
		add("buffer.when_full", "%q: the only policy is refuse_uploads (accepted data is never dropped)", c.Buffer.WhenFull)
	}
	if c.Buffer.MaxSize < 1<<20 {
		add("buffer.max_size", "%v is too small (at least 1MiB)", c.Buffer.MaxSize)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "%q must be json or text", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	if c.FTP != nil {
		for _, u := range c.FTP.Users {
			if u.Location != "" {
				if _, ok := c.Locations[u.Location]; !ok {
					add(fmt.Sprintf("ftp.users[%s].location", u.Name), "%q is not one of the locations", u.Location)
				}
			}
		}
		*errs = append(*errs, sectionErrors("ftp", c.FTP.FieldErrors())...)
	}
}

// sectionErrors puts a section's own problems under its name.
func sectionErrors(name string, in []record.FieldError) []FieldError {
	out := make([]FieldError, len(in))
	for i, e := range in {
		out[i] = FieldError{Path: joinPath(name, e.Path), Msg: e.Msg}
	}
	return out
}

func (c *Config) upstreamTokenRef() record.SecretRef {
	return record.SecretRef{Inline: c.Upstream.Token, Env: c.Upstream.TokenEnv, File: c.Upstream.TokenFile}
}

func (c *Config) resolve() []FieldError {
	var errs []FieldError
	add := func(path, format string, a ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	c.agentZone = time.Local
	if c.Agent.Timezone != "" {
		if z, err := time.LoadLocation(c.Agent.Timezone); err != nil {
			add("agent.timezone", "%q is not an IANA time zone (e.g. America/Toronto)", c.Agent.Timezone)
		} else {
			c.agentZone = z
		}
	}
	if ref := c.upstreamTokenRef(); ref.IsSet() && ref.Check() == nil {
		if tok, err := ref.Resolve(); err != nil {
			add("upstream."+secretKey("token", ref), "%v", err)
		} else {
			c.UpstreamToken = tok
		}
	}
	c.zones = map[string]*time.Location{}
	for _, id := range c.LocationIDs() {
		l := c.Locations[id]
		z := c.agentZone
		if l.Timezone != "" {
			lz, err := time.LoadLocation(l.Timezone)
			if err != nil {
				add(fmt.Sprintf("locations[%s].timezone", id), "%q is not an IANA time zone (e.g. America/Toronto)", l.Timezone)
				continue
			}
			z = lz
		}
		c.zones[id] = z
	}
	return errs
}

// secretKey names the key a secret was given by, for error messages.
func secretKey(base string, r record.SecretRef) string {
	switch {
	case r.Check() != nil || r.Inline != "":
		return base
	case r.Env != "":
		return base + "_env"
	}
	return base + "_file"
}

// LocationIDs lists the configured TMAS location ids in order.
func (c *Config) LocationIDs() []string {
	ids := make([]string, 0, len(c.Locations))
	for id := range c.Locations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Zone is a location's time zone (valid after Validate).
func (c *Config) Zone(id string) *time.Location {
	if z, ok := c.zones[id]; ok {
		return z
	}
	return time.Local
}

// AgentZone is agent.timezone, else the machine's zone.
func (c *Config) AgentZone() *time.Location {
	if c.agentZone == nil {
		return time.Local
	}
	return c.agentZone
}

// Zones maps every active location to its zone: what the CSV parser serves.
func (c *Config) Zones() map[string]*time.Location {
	out := map[string]*time.Location{}
	for id, l := range c.Locations {
		if l.IsActive() {
			out[id] = c.Zone(id)
		}
	}
	return out
}

// Bindings returns the mapping of one source ("shopify", "vend"): the ids
// under each location, or a LocationOwner's own mappings (in the order of
// their key paths, those naming no configured location left out).
func (c *Config) Bindings(source string) []record.Binding {
	var out []record.Binding
	if own, ok := c.sections[source].(LocationOwner); ok {
		m := own.OwnLocations()
		for _, path := range slices.Sorted(maps.Keys(m)) {
			b := m[path]
			l, ok := c.Locations[b.LocationID]
			if !ok {
				continue
			}
			b.Zone, b.Active = c.Zone(b.LocationID), l.IsActive()
			out = append(out, b)
		}
		return out
	}
	for _, id := range c.LocationIDs() {
		l := c.Locations[id]
		sid := l.IDs[source]
		if sid == "" {
			continue
		}
		out = append(out, record.Binding{LocationID: id, SourceID: sid, Zone: c.Zone(id), Active: l.IsActive()})
	}
	return out
}

func urlParse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
