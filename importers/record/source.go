package record

import (
	"errors"
	"path/filepath"
	"strconv"
	"time"
)

// Binding maps one TMAS location to a POS's own id for it, with the zone in
// which its hours are counted. Importers receive the bindings of their source.
type Binding struct {
	LocationID string         // the TMAS location id, what records carry
	SourceID   string         // the POS's id (a Shopify gid, a Vend outlet GUID or its last 8 characters)
	Zone       *time.Location // the store's time zone
	Active     bool
}

// Location is one of a POS's own locations or outlets, as `storeagent
// locations SOURCE` lists them.
type Location struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone,omitempty"`
	Active   bool   `json:"active"`
	Note     string `json:"note,omitempty"`
}

// Finding is one result of a doctor check: what was checked, whether it is
// fine, and if not, what to do.
//
// A Warning is not a failure (the agent works) but something a person
// should look at, such as a POS location whose sales reach no TMAS
// location; it is set together with OK.
type Finding struct {
	Check   string `json:"check"`
	OK      bool   `json:"ok"`
	Warning bool   `json:"warning,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// ErrFull is returned when the agent refuses new input because its buffer or
// its disk is full. Nothing already accepted has been dropped; the input may be
// offered again later. The FTP endpoint answers it with 452.
var ErrFull = errors.New("the agent's buffer is full: new input is refused until headquarters catches up or disk space is freed")

// ErrCredentials marks a source error caused by refused credentials (an
// HTTP 401 or 403 from the POS: a revoked token, an uninstalled app, a
// missing permission). Importers wrap it (errors.Is finds it); the agent
// turns such a source red at once instead of waiting for repeated failures,
// because retrying cannot fix it: a person must.
var ErrCredentials = errors.New("the source refused the agent's credentials")

// RefusedError says a file was refused whole for its content. Report is the
// absolute path of the `<name>.errors.txt` written beside the refused file,
// where it really is (the agent keeps earlier refused files of the same name:
// rejected/x.1.csv.errors.txt); the FTP endpoint names it relative to the
// user's home.
type RefusedError struct {
	Name   string
	Lines  int // how many bad lines were found, as the report counts them; 0 for a problem of the whole file
	Report string
	Reason string // the first problem, for one-line messages
}

func (e *RefusedError) Error() string {
	if e.Lines == 1 {
		return "file " + e.Name + " refused: " + e.Reason + " (1 bad line, see " + filepath.Base(e.Report) + ")"
	}
	if e.Lines > 1 {
		return "file " + e.Name + " refused: " + e.Reason + " (" + strconv.Itoa(e.Lines) + " bad lines, see " + filepath.Base(e.Report) + ")"
	}
	return "file " + e.Name + " refused: " + e.Reason
}
