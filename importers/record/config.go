package record

import (
	"fmt"
	"log/slog"
)

// FieldError is one problem of a configuration section: the key path inside
// the section ("shop", "tls.mode", "users[1].name") and what is wrong. The
// agent's configuration adds the section's name, the file and the line.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// Fieldf makes a FieldError.
func Fieldf(path, format string, a ...any) FieldError {
	return FieldError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// SourceEnv is what the agent hands a POS source it builds.
type SourceEnv struct {
	Logger *slog.Logger // already tagged with the source's name
	// State keeps the source's own durable values (a rotating OAuth token)
	// in the agent's buffer file; nil when a command runs without it.
	State StateStore
}

// StateStore is the part of the agent's buffer a source keeps its own state
// in. SetState commits all values in one durable transaction.
type StateStore interface {
	State(name string) ([]byte, error)
	SetState(values map[string][]byte) error
}
