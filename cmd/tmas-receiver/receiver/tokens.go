package receiver

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// AgentToken binds one token to one agent id. Hash is "sha256:" and the 64
// hex digits of the token's SHA-256, or a bcrypt hash ("$2a$…", "$2b$…",
// "$2y$…"). An agent may have several (during a rotation both are valid).
type AgentToken struct {
	Agent string
	Hash  string
}

// ParseTokens reads a tokens file: one "AGENT_ID HASH" per line, blank lines
// and lines starting with # skipped. Errors name the line.
func ParseTokens(r io.Reader) ([]AgentToken, error) {
	var out []AgentToken
	var errs []error
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			errs = append(errs, fmt.Errorf("line %d: want AGENT_ID HASH, got %d fields", n, len(f)))
			continue
		}
		at := AgentToken{Agent: f[0], Hash: f[1]}
		if err := at.check(); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		out = append(out, at)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (a AgentToken) check() error {
	if !agentOK(a.Agent) {
		return fmt.Errorf("agent id %q: must be 1-%d printable characters", a.Agent, maxAgentID)
	}
	switch {
	case strings.HasPrefix(a.Hash, "sha256:"):
		if b, err := hex.DecodeString(strings.TrimPrefix(a.Hash, "sha256:")); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("agent %s: sha256: wants 64 hex digits", a.Agent)
		}
	case strings.HasPrefix(a.Hash, "$2a$"), strings.HasPrefix(a.Hash, "$2b$"), strings.HasPrefix(a.Hash, "$2y$"):
		if _, err := bcrypt.Cost([]byte(a.Hash)); err != nil {
			return fmt.Errorf("agent %s: not a bcrypt hash: %v", a.Agent, err)
		}
	default:
		return fmt.Errorf("agent %s: the hash must start with sha256: or be a bcrypt hash ($2a$, $2b$, $2y$)", a.Agent)
	}
	return nil
}

// HashToken returns the tokens-file hash of token, in its sha256 form.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(s[:])
}

// authn checks bearer tokens: shared tokens (valid for any agent id, the
// single-token mode of the demo) and per-agent tokens.
type authn struct {
	shared  [][sha256.Size]byte
	byHash  map[[sha256.Size]byte]string // sha256 entries: digest -> agent
	bcrypts []AgentToken                 // bcrypt entries, checked one by one
	agents  []string                     // every agent id of the tokens file, sorted, unique

	mu     sync.Mutex
	proven map[[sha256.Size]byte]string // tokens a bcrypt check proved: digest -> agent
}

func newAuthn(shared []string, perAgent []AgentToken) *authn {
	a := &authn{byHash: map[[sha256.Size]byte]string{}, proven: map[[sha256.Size]byte]string{}}
	for _, t := range shared {
		a.shared = append(a.shared, sha256.Sum256([]byte(t)))
	}
	seen := map[string]bool{}
	for _, t := range perAgent {
		if h, ok := strings.CutPrefix(t.Hash, "sha256:"); ok {
			var d [sha256.Size]byte
			_, _ = hex.Decode(d[:], []byte(h)) // checked by Config.Validate
			a.byHash[d] = t.Agent
		} else {
			a.bcrypts = append(a.bcrypts, t)
		}
		if !seen[t.Agent] {
			seen[t.Agent] = true
			a.agents = append(a.agents, t.Agent)
		}
	}
	return a
}

// who returns the agent the token belongs to: any ("", true) for a shared
// token, the agent's id for a per-agent one, ok false for an unknown token.
// claimed is the agent id of the request, checked first among bcrypt
// entries.
func (a *authn) who(token, claimed string) (agent string, ok bool) {
	d := sha256.Sum256([]byte(token))
	match := 0
	for _, want := range a.shared {
		match |= subtle.ConstantTimeCompare(d[:], want[:])
	}
	if match == 1 {
		return "", true
	}
	// A map lookup by the digest of the token leaks nothing about the token.
	if id, ok := a.byHash[d]; ok {
		return id, true
	}
	if len(a.bcrypts) == 0 {
		return "", false
	}
	a.mu.Lock()
	id, ok := a.proven[d]
	a.mu.Unlock()
	if ok {
		return id, true
	}
	try := func(own bool) (string, bool) {
		for _, t := range a.bcrypts {
			if (t.Agent == claimed) != own {
				continue
			}
			if bcrypt.CompareHashAndPassword([]byte(t.Hash), []byte(token)) == nil {
				a.mu.Lock()
				a.proven[d] = t.Agent
				a.mu.Unlock()
				return t.Agent, true
			}
		}
		return "", false
	}
	if id, ok := try(true); ok {
		return id, true
	}
	return try(false)
}
