// Package config reads and validates the agent's one YAML file: strict (an
// unknown key is an error), every problem reported at once with its line and
// key path, secrets given inline, by environment variable or by file and never
// printed, relative paths anchored to the config file's folder.
//
// Validate makes no network call: checking credentials against the outside
// world is `storeagent doctor`'s job.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tmas/storeagent/ftpd"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify"
	"github.com/tmas/storeagent/importers/vend"
)

// Config is the whole file.
type Config struct {
	Agent     Agent               `yaml:"agent"`
	Upstream  Upstream            `yaml:"upstream"`
	Locations map[string]Location `yaml:"locations"`
	FTP       *ftpd.Config        `yaml:"ftp"`
	Inbox     Inbox               `yaml:"inbox"`
	CSV       CSV                 `yaml:"csv"`
	Shopify   *shopify.Config     `yaml:"shopify"`
	Vend      *vend.Config        `yaml:"vend"`
	Buffer    Buffer              `yaml:"buffer"`
	Status    Status              `yaml:"status"`
	Log       Log                 `yaml:"log"`

	// Path is the file the configuration was read from ("" when built in code).
	Path string `yaml:"-"`
	// UpstreamToken is the resolved upstream token.
	UpstreamToken record.Secret `yaml:"-"`
	zones         map[string]*time.Location
	agentZone     *time.Location
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

// Location is one store: its TMAS id is the map key.
type Location struct {
	Timezone string `yaml:"timezone"`
	Shopify  string `yaml:"shopify"`
	Vend     string `yaml:"vend"`
	Active   *bool  `yaml:"active"`
	Name     string `yaml:"name"`
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

// Load reads, decodes strictly and validates a file. Its errors name the file,
// the line and the key.
func Load(path string) (*Config, error) {
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
	return Parse(abs, raw)
}

// Parse decodes and validates configuration text read from path.
func Parse(path string, raw []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", filepath.Base(path), cleanYAMLError(err))
	}
	lines := map[string]int{}
	indexLines(&doc, "", lines)
	c := &Config{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", filepath.Base(path), cleanYAMLError(err))
	}
	c.Path = path
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, annotate(filepath.Base(path), err, lines)
	}
	return c, nil
}

func cleanYAMLError(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.ReplaceAll(s, "unmarshal errors:\n  ", "")
	s = strings.ReplaceAll(s, "\n  ", "; ")
	s = regexp.MustCompile(`field (\w+) not found in type [\w.]+`).ReplaceAllString(s, "unknown key $1")
	s = regexp.MustCompile(`cannot unmarshal !!\w+ `+"`"+`([^`+"`"+`]*)`+"`"+` into [\w.\[\]*]+`).ReplaceAllString(s, "$1 has the wrong type")
	return s
}

// indexLines records the line of every key path: "shopify.shop",
// "locations.0421.timezone", "locations[0421]", "ftp.users[1].name".
func indexLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			indexLines(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			out[p] = k.Line
			indexLines(v, p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s.%d", path, i)
			out[p] = c.Line
			indexLines(c, p, out)
			// Elements with a name are also found by it: ftp.users[timeclock].
			if c.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(c.Content); j += 2 {
					if c.Content[j].Value == "name" {
						np := path + "." + c.Content[j+1].Value
						out[np] = c.Line
						indexLines(c, np, out)
					}
				}
			}
		}
	}
}

var keyPath = regexp.MustCompile(`^([a-z_]+(?:[.\[][^:\s]*)?): `)

// annotate prefixes every problem with file:line when its key path is known.
func annotate(file string, err error, lines map[string]int) error {
	var out []string
	for _, msg := range strings.Split(err.Error(), "\n") {
		line := 0
		if m := keyPath.FindStringSubmatch(msg); m != nil {
			// locations[0421].timezone and ftp.users[1] are indexed as
			// locations.0421.timezone and ftp.users.1.
			p := strings.NewReplacer("[", ".", "]", "").Replace(m[1])
			for p != "" {
				if l, ok := lines[p]; ok {
					line = l
					break
				}
				i := strings.LastIndexAny(p, ".[")
				if i < 0 {
					break
				}
				p = p[:i]
			}
		}
		if line > 0 {
			out = append(out, fmt.Sprintf("%s:%d: %s", file, line, msg))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", file, msg))
		}
	}
	return errors.New(strings.Join(out, "\n"))
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
	if c.Shopify != nil {
		c.Shopify.SetDefaults()
	}
	if c.Vend != nil {
		c.Vend.SetDefaults()
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

// Validate checks everything that can be checked without the network and
// returns every problem, one per line, each prefixed with its key path.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Agent.ID == "" {
		add("agent.id: required: a name for this agent, e.g. store-042")
	} else if !agentID.MatchString(c.Agent.ID) {
		add("agent.id: %q may only hold letters, digits and . _ : - (at most 64)", c.Agent.ID)
	}
	agentZone := time.Local
	if c.Agent.Timezone != "" {
		z, err := time.LoadLocation(c.Agent.Timezone)
		if err != nil {
			add("agent.timezone: %q is not an IANA time zone (e.g. America/Toronto)", c.Agent.Timezone)
		} else {
			agentZone = z
		}
	}
	if c.Upstream.URL == "" {
		add("upstream.url: required: the TMAS API address")
	} else if u, err := urlParse(c.Upstream.URL); err != nil {
		add("upstream.url: %v", err)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		add("upstream.url: %q is plain HTTP: use https:// (plain HTTP is accepted on loopback only)", c.Upstream.URL)
	}
	ref := record.SecretRef{Inline: c.Upstream.Token, Env: c.Upstream.TokenEnv, File: c.Upstream.TokenFile}
	if !ref.IsSet() {
		add("upstream.token: required: give token, token_env or token_file")
	} else if tok, err := ref.Resolve(); err != nil {
		add("upstream.%s: %v", secretKey("token", ref), err)
	} else {
		c.UpstreamToken = tok
	}
	if c.Upstream.Proxy != "" {
		if _, err := urlParse(c.Upstream.Proxy); err != nil {
			add("upstream.proxy: %v", err)
		}
	}
	if c.Upstream.BatchSize < 1 || c.Upstream.BatchSize > 10000 {
		add("upstream.batch_max_lines: %d is outside 1..10000 (the API's limit)", c.Upstream.BatchSize)
	}
	if c.Upstream.BatchMax < 1024 || c.Upstream.BatchMax > 8<<20 {
		add("upstream.batch_max_bytes: %v is outside 1KiB..8MiB (the API's limit)", c.Upstream.BatchMax)
	}
	if c.Upstream.StatusInterval < record.Duration(10*time.Second) {
		add("upstream.status_interval: %v is shorter than 10s", c.Upstream.StatusInterval)
	}
	if c.Upstream.RetryMin > c.Upstream.RetryMax {
		add("upstream.retry_min: %v is longer than retry_max %v", c.Upstream.RetryMin, c.Upstream.RetryMax)
	}
	if len(c.Locations) == 0 {
		add("locations: required: at least one TMAS location, e.g. \"0421\": {timezone: America/Toronto}")
	}
	c.agentZone = agentZone
	c.zones = map[string]*time.Location{}
	for _, id := range c.LocationIDs() {
		l := c.Locations[id]
		z := agentZone
		if l.Timezone != "" {
			lz, err := time.LoadLocation(l.Timezone)
			if err != nil {
				add("locations[%s].timezone: %q is not an IANA time zone (e.g. America/Toronto)", id, l.Timezone)
				continue
			}
			z = lz
		}
		c.zones[id] = z
		if l.Shopify != "" && c.Shopify == nil {
			add("locations[%s].shopify: a Shopify location is mapped but there is no shopify section", id)
		}
		if l.Vend != "" && c.Vend == nil {
			add("locations[%s].vend: a Lightspeed outlet is mapped but there is no vend section", id)
		}
	}
	switch c.CSV.DateOrder {
	case "dmy", "mdy":
	default:
		add("csv.date_order: %q must be dmy (DD/MM/YYYY) or mdy (MM/DD/YYYY)", c.CSV.DateOrder)
	}
	if c.Inbox.Location != "" {
		if _, ok := c.Locations[c.Inbox.Location]; !ok {
			add("inbox.location: %q is not one of the locations", c.Inbox.Location)
		}
	}
	if c.Buffer.WhenFull != "refuse_uploads" {
		add("buffer.when_full: %q: the only policy is refuse_uploads (accepted data is never dropped)", c.Buffer.WhenFull)
	}
	if c.Buffer.MaxSize < 1<<20 {
		add("buffer.max_size: %v is too small (at least 1MiB)", c.Buffer.MaxSize)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format: %q must be json or text", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q must be debug, info, warn or error", c.Log.Level)
	}
	if c.FTP != nil {
		for _, u := range c.FTP.Users {
			if u.Location != "" {
				if _, ok := c.Locations[u.Location]; !ok {
					add("ftp.users[%s].location: %q is not one of the locations", u.Name, u.Location)
				}
			}
		}
		if err := c.FTP.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Shopify != nil {
		if err := c.Shopify.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Vend != nil {
		if err := c.Vend.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

// Bindings returns the mapping of one source ("shopify", "vend").
func (c *Config) Bindings(source string) []record.Binding {
	var out []record.Binding
	for _, id := range c.LocationIDs() {
		l := c.Locations[id]
		sid := map[string]string{"shopify": l.Shopify, "vend": l.Vend}[source]
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
