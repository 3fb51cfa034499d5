package ftpd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tmas/storeagent/importers/record"
)

// TLS modes.
const (
	TLSOff      = "off"
	TLSExplicit = "explicit" // AUTH TLS on the normal port (FTPES)
	TLSImplicit = "implicit" // TLS from the first byte (FTPS, usually port 990)
)

// Config is the `ftp:` section of the agent's configuration.
type Config struct {
	// Listen is the control address, host:port (":2121"). Port 0 picks a free
	// port (for demo and tests; Addr tells which).
	Listen string `yaml:"listen"`
	// PassivePorts is the range offered for passive data connections
	// ("50000-50100"); open it in the store's firewall. "0" lets the system
	// pick any free port.
	PassivePorts string `yaml:"passive_ports"`
	// PublicHost is the IPv4 address or host name given to clients in PASV
	// replies and put in the generated certificate; empty means the address
	// the client connected to.
	PublicHost string `yaml:"public_host"`
	// ActiveMode allows PORT/EPRT data connections (off by default).
	ActiveMode bool      `yaml:"active_mode"`
	TLS        TLSConfig `yaml:"tls"`
	// MaxFileSize is the largest upload accepted (50MB).
	MaxFileSize record.Size `yaml:"max_file_size"`
	Users       []User      `yaml:"users"`
	// HomeRoot holds one home folder per user, HomeRoot/<name>
	// (the agent sets it to <data_dir>/ftp).
	HomeRoot string `yaml:"home_root"`
	// CertDir keeps the self-signed certificate and key generated when TLS
	// is on and no cert_file is given (default HomeRoot/.tls).
	CertDir string `yaml:"cert_dir"`
	// MaxConnections bounds the simultaneous control connections (50), and
	// MaxConnectionsPerIP those from one address (8).
	MaxConnections      int `yaml:"max_connections"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// IdleTimeout closes a control connection without commands (5m).
	IdleTimeout record.Duration `yaml:"idle_timeout"`
	// ConnectionTimeout bounds the wait for a data connection and for the
	// TLS handshake of an implicit-TLS client (30s).
	ConnectionTimeout record.Duration `yaml:"connection_timeout"`
	Defender          DefenderConfig  `yaml:"defender"`
}

// TLSConfig sets FTPS up.
type TLSConfig struct {
	// Mode is "off", "explicit" (AUTH TLS, the default) or "implicit".
	Mode string `yaml:"mode"`
	// CertFile and KeyFile are a PEM certificate chain and key; when both are
	// empty a self-signed certificate is generated into CertDir.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Required refuses logins (and transfers) that are not encrypted.
	Required bool `yaml:"required"`
}

// DefenderConfig sets the brute-force protection: every failed login adds
// LoginFailurePoints to the client address's score, failures older than
// ObservationTime are forgotten, and an address reaching Threshold is banned
// for BanTime, multiplied by BanTimeGrowth for each earlier ban (at most a day).
type DefenderConfig struct {
	Threshold          int             `yaml:"threshold"`            // 15
	LoginFailurePoints int             `yaml:"login_failure_points"` // 3: a ban after 5 failures
	ObservationTime    record.Duration `yaml:"observation_time"`     // 30m
	BanTime            record.Duration `yaml:"ban_time"`             // 30m
	BanTimeGrowth      float64         `yaml:"ban_time_growth"`      // 2: each repeated ban doubles
	FailureDelay       record.Duration `yaml:"failure_delay"`        // 1s before answering a failed login
}

// User is one FTP account. Its files live in HomeRoot/<Name>.
type User struct {
	Name string `yaml:"name"`
	// PasswordHash is a bcrypt hash, as HashPassword and
	// `storeagent ftp passwd NAME` write it.
	PasswordHash string `yaml:"password_hash"`
	// Location binds the user's files to one TMAS location (optional: files
	// may name their location in a column instead).
	Location string `yaml:"location"`
}

// Defaults, as documented on the fields.
const (
	DefaultListen              = ":2121"
	DefaultPassivePorts        = "50000-50100"
	DefaultMaxFileSize         = record.Size(50e6)
	DefaultMaxConnections      = 50
	DefaultMaxConnectionsPerIP = 8
	DefaultIdleTimeout         = record.Duration(5 * time.Minute)
	DefaultConnectionTimeout   = record.Duration(30 * time.Second)
)

// SetDefaults fills every unset field with its default.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.PassivePorts == "" {
		c.PassivePorts = DefaultPassivePorts
	}
	if c.TLS.Mode == "" {
		c.TLS.Mode = TLSExplicit
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.CertDir == "" && c.HomeRoot != "" {
		c.CertDir = filepath.Join(c.HomeRoot, ".tls")
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ConnectionTimeout == 0 {
		c.ConnectionTimeout = DefaultConnectionTimeout
	}
	d := &c.Defender
	if d.Threshold == 0 {
		d.Threshold = 15
	}
	if d.LoginFailurePoints == 0 {
		d.LoginFailurePoints = 3
	}
	if d.ObservationTime == 0 {
		d.ObservationTime = record.Duration(30 * time.Minute)
	}
	if d.BanTime == 0 {
		d.BanTime = record.Duration(30 * time.Minute)
	}
	if d.BanTimeGrowth == 0 {
		d.BanTimeGrowth = 2
	}
	if d.FailureDelay == 0 {
		d.FailureDelay = record.Duration(time.Second)
	}
}

var (
	userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)
)

// Validate reports every problem of a defaulted configuration, joined, each
// prefixed with its key path ("ftp.users[1].name: ..."). It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	for _, e := range c.FieldErrors() {
		errs = append(errs, fmt.Errorf("ftp.%s: %s", e.Path, e.Msg))
	}
	return errors.Join(errs...)
}

// FieldErrors lists every problem of a defaulted configuration, each at its
// key path inside the `ftp:` section ("users[1].name"). It does no I/O.
func (c *Config) FieldErrors() []record.FieldError {
	var errs []record.FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, record.Fieldf(key, format, args...))
	}
	c.networkErrors(add)
	c.limitErrors(add)
	c.Defender.fieldErrors(add)
	c.userErrors(add)
	return errs
}

// addFunc records one problem at a key path.
type addFunc func(key, format string, args ...any)

// networkErrors checks listen, passive_ports, public_host and tls.
func (c *Config) networkErrors(add addFunc) {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q is not host:port (use :2121 or 0.0.0.0:2121)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen", "%q has no valid port", c.Listen)
	}
	if _, _, err := parsePortRange(c.PassivePorts); err != nil {
		add("passive_ports", "%v", err)
	}
	if h := c.PublicHost; h != "" {
		if ip, err := netip.ParseAddr(h); err == nil {
			if !ip.Is4() {
				add("public_host", "%q: passive mode needs an IPv4 address or a host name", h)
			}
		} else if !hostNameRE.MatchString(h) {
			add("public_host", "%q is neither an IPv4 address nor a host name", h)
		}
	}
	switch c.TLS.Mode {
	case TLSOff:
		if c.TLS.Required {
			add("tls.required", "needs tls.mode explicit or implicit")
		}
	case TLSExplicit, TLSImplicit:
	default:
		add("tls.mode", "%q is not off, explicit or implicit", c.TLS.Mode)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls", "give both cert_file and key_file, or neither to use a generated certificate")
	}
}

// limitErrors checks the size, connection and timeout limits.
func (c *Config) limitErrors(add addFunc) {
	if c.MaxFileSize <= 0 {
		add("max_file_size", "must be more than 0")
	}
	if strings.TrimSpace(c.HomeRoot) == "" {
		add("home_root", "is empty")
	}
	if c.MaxConnections < 1 {
		add("max_connections", "must be at least 1")
	}
	if c.MaxConnectionsPerIP < 1 {
		add("max_connections_per_ip", "must be at least 1")
	} else if c.MaxConnectionsPerIP > c.MaxConnections && c.MaxConnections >= 1 {
		add("max_connections_per_ip", "%d is more than max_connections (%d)", c.MaxConnectionsPerIP, c.MaxConnections)
	}
	if c.IdleTimeout.D() < time.Second {
		add("idle_timeout", "must be at least 1s")
	}
	if c.ConnectionTimeout.D() < time.Second {
		add("connection_timeout", "must be at least 1s")
	}
}

// userErrors checks users: each name valid and unique, each with a bcrypt
// hash.
func (c *Config) userErrors(add addFunc) {
	if len(c.Users) == 0 {
		add("users", "no user: add one with `storeagent ftp passwd NAME`")
	}
	seen := map[string]int{}
	for i, u := range c.Users {
		key := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Name == "":
			add(key+".name", "is empty")
		case !userNameRE.MatchString(u.Name) || checkName(u.Name) != nil:
			add(key+".name", "%q: use letters, digits, '.', '_' and '-' (at most 64, not a Windows device name)", u.Name)
		case strings.EqualFold(u.Name, "anonymous") || strings.EqualFold(u.Name, "ftp"):
			add(key+".name", "%q: anonymous logins are not allowed", u.Name)
		default:
			if j, dup := seen[strings.ToLower(u.Name)]; dup {
				add(key+".name", "%q is already users[%d] (names are compared without case)", u.Name, j)
			} else {
				seen[strings.ToLower(u.Name)] = i
			}
		}
		if u.PasswordHash == "" {
			add(key+".password_hash", "is empty: set it with `storeagent ftp passwd %s`", u.Name)
		} else if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			add(key+".password_hash", "is not a bcrypt hash: set it with `storeagent ftp passwd %s`", u.Name)
		}
	}
}

// fieldErrors checks the defender section.
func (d DefenderConfig) fieldErrors(add addFunc) {
	if d.Threshold < 1 {
		add("defender.threshold", "must be at least 1")
	}
	if d.LoginFailurePoints < 1 {
		add("defender.login_failure_points", "must be at least 1")
	}
	if d.ObservationTime <= 0 {
		add("defender.observation_time", "must be more than 0")
	}
	if d.BanTime <= 0 {
		add("defender.ban_time", "must be more than 0")
	}
	if d.BanTimeGrowth < 1 {
		add("defender.ban_time_growth", "must be at least 1")
	}
	if d.FailureDelay < 0 || d.FailureDelay.D() > time.Minute {
		add("defender.failure_delay", "must be between 0 and 1m")
	}
}

// parsePortRange reads "50000-50100", or "0" for any free port (0, 0).
func parsePortRange(s string) (int, int, error) {
	if s == "0" {
		return 0, 0, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || errA != nil || errB != nil {
		return 0, 0, fmt.Errorf("%q is not a port range (use 50000-50100)", s)
	}
	if a < 1024 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("%q: ports must be within 1024-65535, low first", s)
	}
	return a, b, nil
}

// HashPassword returns the bcrypt hash to store as a user's password_hash.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("hash password: the password is empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}
