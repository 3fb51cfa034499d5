package receiver

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Limits of the contract: at most 10,000 lines and 8 MiB (before compression)
// per batch.
const (
	DefaultMaxLines       = 10000
	DefaultMaxBytes int64 = 8 << 20
)

// Config configures a Receiver.
type Config struct {
	// DBPath is the bbolt file holding the store; "" keeps everything in
	// memory (tests, demo).
	DBPath string
	// Tokens are the accepted bearer tokens (agent tokens). At least one.
	// They are compared in constant time and never logged.
	Tokens []string
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, each prefixed by its
// field name.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Tokens) == 0 {
		errs = append(errs, errors.New("tokens: at least one token is required"))
	}
	for i, t := range c.Tokens {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("tokens[%d]: empty", i))
		}
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
