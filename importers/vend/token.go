package vend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// Token is an OAuth grant from Lightspeed: a short-lived access token and the
// refresh token that renews it. Each renewal returns a new refresh token and
// revokes the old one, so a Token must be saved before its access token is used.
//
// Printed, logged or marshalled to JSON it shows no secret; MarshalBinary and
// UnmarshalBinary are the storage form, for a TokenStore only.
type Token struct {
	AccessToken  record.Secret
	RefreshToken record.Secret
	Expires      time.Time
	DomainPrefix string
	Scope        string
}

// TokenStore keeps the current token durably. The agent implements it in its
// data file; MemoryTokenStore and FileTokenStore serve tests and the CLI.
type TokenStore interface {
	// LoadToken returns ErrNoToken when no token was ever saved.
	LoadToken(ctx context.Context) (Token, error)
	SaveToken(ctx context.Context, t Token) error
}

// ErrNoToken is returned by LoadToken before the first `storeagent connect vend`.
var ErrNoToken = errors.New("no Lightspeed token is stored")

type storedToken struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expires      time.Time `json:"expires"`
	DomainPrefix string    `json:"domain_prefix"`
	Scope        string    `json:"scope,omitempty"`
}

// MarshalBinary is the storage form of the token, secrets included.
func (t Token) MarshalBinary() ([]byte, error) {
	return json.Marshal(storedToken{t.AccessToken.Reveal(), t.RefreshToken.Reveal(), t.Expires, t.DomainPrefix, t.Scope})
}

// UnmarshalBinary reads the storage form.
func (t *Token) UnmarshalBinary(b []byte) error {
	var s storedToken
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("stored Lightspeed token: %w", err)
	}
	*t = Token{record.NewSecret(s.AccessToken), record.NewSecret(s.RefreshToken), s.Expires, s.DomainPrefix, s.Scope}
	return nil
}

// LogValue shows what a token is without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("domain_prefix", t.DomainPrefix), slog.Time("expires", t.Expires), slog.String("scope", t.Scope))
}

// MemoryTokenStore keeps a token in memory. SaveErr, when set, is returned by
// SaveToken (to simulate a disk failure in tests).
type MemoryTokenStore struct {
	mu      sync.Mutex
	tok     *Token
	saves   int
	SaveErr error
}

var _ TokenStore = (*MemoryTokenStore)(nil)

// NewMemoryTokenStore returns a store holding t (or nothing when t is nil).
func NewMemoryTokenStore(t *Token) *MemoryTokenStore {
	s := &MemoryTokenStore{}
	if t != nil {
		c := *t
		s.tok = &c
	}
	return s
}

// LoadToken implements TokenStore.
func (s *MemoryTokenStore) LoadToken(context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return Token{}, ErrNoToken
	}
	return *s.tok, nil
}

// SaveToken implements TokenStore.
func (s *MemoryTokenStore) SaveToken(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.SaveErr != nil {
		return s.SaveErr
	}
	s.tok = &t
	s.saves++
	return nil
}

// Saves counts successful saves.
func (s *MemoryTokenStore) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// FileTokenStore keeps the token in one JSON file (mode 0600), replaced
// atomically on every save.
type FileTokenStore struct{ Path string }

var _ TokenStore = FileTokenStore{}

// LoadToken implements TokenStore.
func (s FileTokenStore) LoadToken(context.Context) (Token, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return Token{}, ErrNoToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("read token file: %w", err)
	}
	var t Token
	if err := t.UnmarshalBinary(b); err != nil {
		return Token{}, fmt.Errorf("token file %s: %w", s.Path, err)
	}
	return t, nil
}

// SaveToken implements TokenStore.
func (s FileTokenStore) SaveToken(_ context.Context, t Token) error {
	b, err := t.MarshalBinary()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(s.Path), ".vend-token-*")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		_ = f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}
