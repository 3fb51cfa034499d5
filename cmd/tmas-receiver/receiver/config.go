package receiver

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Limits of the contract: at most 10,000 lines and 8 MiB (before compression)
// per batch.
const (
	DefaultMaxLines       = 10000
	DefaultMaxBytes int64 = 8 << 20
)

// Config configures a Receiver.
type Config struct {
	// Store holds records, batches and agents; the Receiver closes it. Nil
	// opens the bbolt file DBPath, or keeps everything in memory when
	// DBPath is "" (tests, demo).
	Store  Store
	DBPath string
	// Tokens are shared bearer tokens, valid with any agent id: the
	// single-token mode of the demo and tests. They are compared in
	// constant time and never logged.
	Tokens []string
	// AgentTokens bind tokens to agent ids (a tokens file): such a token
	// used with another agent's id is answered 403. At least one token, of
	// either kind, is required.
	AgentTokens []AgentToken
	// SilentAfter, when set, replaces 3 × an agent's announced interval as
	// the time without a status report after which the fleet view calls
	// it silent.
	SilentAfter time.Duration
	// Now is the clock of the fleet view; nil is time.Now.
	Now func() time.Time
	// Locations are the known TMAS location ids; empty accepts any. A record
	// for an unknown location is an invalid line (422).
	Locations []string
	// MaxLines and MaxBytes bound a batch (413 beyond); zero means the
	// contract's 10,000 lines and 8 MiB. MaxBytes counts the body after
	// decompression.
	MaxLines int
	MaxBytes int64
	// Admin enables the /_admin/ endpoints (faults, records, stats), for
	// tests and the demo. They carry no authentication.
	Admin bool
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxLines == 0 {
		c.MaxLines = DefaultMaxLines
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, each prefixed by its
// field name.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Tokens) == 0 && len(c.AgentTokens) == 0 {
		errs = append(errs, errors.New("tokens: at least one token is required"))
	}
	for i, t := range c.Tokens {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("tokens[%d]: empty", i))
		}
	}
	for i, a := range c.AgentTokens {
		if err := a.check(); err != nil {
			errs = append(errs, fmt.Errorf("agent_tokens[%d]: %w", i, err))
		}
	}
	if c.SilentAfter < 0 {
		errs = append(errs, fmt.Errorf("silent_after: %s is negative", c.SilentAfter))
	}
	for i, l := range c.Locations {
		if strings.TrimSpace(l) == "" {
			errs = append(errs, fmt.Errorf("locations[%d]: empty", i))
		}
	}
	if c.MaxLines < 0 {
		errs = append(errs, fmt.Errorf("max_lines: %d is negative", c.MaxLines))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: %d is negative", c.MaxBytes))
	}
	return errors.Join(errs...)
}
