package shopify

import (
	"encoding/json"
	"fmt"
	"time"
)

const (
	kindIncremental = "incremental"
	kindBackfill    = "backfill"
	cursorVersion   = 1
)

// cursorState is the importer's position, saved by the agent with each
// page. A window is a range of updated_at; After is the GraphQL cursor of
// the last page committed, so a crash mid-window resumes the same page
// sequence; Bulk is the position in a bulk operation's result instead.
type cursorState struct {
	V     int       `json:"v"`
	Kind  string    `json:"kind"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Backfill only: orders created before CreatedBefore, records that
	// occurred in [Since, CreatedBefore).
	CreatedBefore *time.Time  `json:"created_before,omitempty"`
	After         string      `json:"after,omitempty"`
	Done          bool        `json:"done,omitempty"`
	Bulk          *bulkCursor `json:"bulk,omitempty"`
	NoBulk        bool        `json:"no_bulk,omitempty"`
}

type bulkCursor struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"` // bytes of the result file already imported
	Line   int64  `json:"line"`   // lines already imported
}

func decodeCursor(b []byte) (*cursorState, error) {
	var st cursorState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("shopify: the saved position is unreadable (%v): reset the shopify state to start over", err)
	}
	if st.V != cursorVersion || (st.Kind != kindIncremental && st.Kind != kindBackfill) || !st.Since.Before(st.Until) && !st.Done {
		return nil, fmt.Errorf("shopify: the saved position is not one this version understands (v%d, %q): reset the shopify state to start over", st.V, st.Kind)
	}
	return &st, nil
}

func (st *cursorState) encode() []byte {
	b, _ := json.Marshal(st)
	return b
}

// emitWindow is the occurred_at range a backfill keeps.
func (st *cursorState) emitWindow() *[2]time.Time {
	if st.Kind != kindBackfill || st.CreatedBefore == nil {
		return nil
	}
	return &[2]time.Time{st.Since, *st.CreatedBefore}
}

// span is the length of the updated_at range the window reads.
func (st *cursorState) span() time.Duration { return st.Until.Sub(st.Since) }
