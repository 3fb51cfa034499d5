package record

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Secret holds a credential. Printed, logged or marshalled, it shows only
// "[redacted]"; Reveal is the one way to read it, for the request that needs it.
type Secret struct{ v string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no credential is held.
func (s Secret) IsZero() bool { return s.v == "" }

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) Format(f fmt.State, _ rune)   { fmt.Fprint(f, redacted) }

// SecretRef is how a configuration names a secret: inline, by the name of an
// environment variable, or by the path of a file holding it. At most one is set.
type SecretRef struct {
	Inline string
	Env    string
	File   string
}

// IsSet reports whether any of the three forms is given.
func (r SecretRef) IsSet() bool { return r.Inline != "" || r.Env != "" || r.File != "" }

// Check reports a configuration mistake without reading anything.
func (r SecretRef) Check() error {
	n := 0
	for _, s := range []string{r.Inline, r.Env, r.File} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("give the secret one way only: inline, _env or _file")
	}
	return nil
}

// Resolve reads the secret. Errors name where it was looked for, never its value.
func (r SecretRef) Resolve() (Secret, error) {
	if err := r.Check(); err != nil {
		return Secret{}, err
	}
	switch {
	case r.Inline != "":
		return Secret{r.Inline}, nil
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok || strings.TrimSpace(v) == "" {
			return Secret{}, fmt.Errorf("environment variable %s is not set", r.Env)
		}
		return Secret{strings.TrimSpace(v)}, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return Secret{}, fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return Secret{}, fmt.Errorf("secret file %s is empty", r.File)
		}
		return Secret{v}, nil
	}
	return Secret{}, nil
}
