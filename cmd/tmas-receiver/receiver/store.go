package receiver

import (
	"context"
	"encoding/json"
	"maps"
	"time"
)

// Store is where a Receiver keeps records, batches and agents. Two
// implementations exist: the embedded bbolt file of this package (OpenBolt,
// the default) and PostgreSQL (package pgstore), which lets several Receivers
// share one database.
//
// A Store must apply each batch atomically and decide, inside the same
// transaction, whether its (agent, Idempotency-Key) was stored before: two
// Receivers given the same batch at once store it once.
type Store interface {
	// LookupBatch returns what was stored under the agent's Idempotency-Key.
	LookupBatch(ctx context.Context, agent, idem string) (BatchInfo, bool, error)
	// Apply stores a validated batch in one transaction: the entries Merge
	// computes from lines and the stored entries of their keys, the batch
	// under (agent, idem), and the agent's last batch time. When a batch is
	// already stored under (agent, idem), Apply stores nothing and returns
	// that batch with existed true.
	Apply(ctx context.Context, b NewBatch) (info BatchInfo, existed bool, err error)
	// Records returns every key at its highest rev, sorted by key (Fields
	// left nil).
	Records(ctx context.Context) ([]StoredRecord, error)
	// Totals returns the counters that live as long as the store.
	Totals(ctx context.Context) (Totals, error)
	// PutStatus keeps report as the agent's latest status report.
	PutStatus(ctx context.Context, agent string, report json.RawMessage, at time.Time) error
	// Agents returns every agent that sent a batch or a status report,
	// sorted by id.
	Agents(ctx context.Context) ([]AgentRecord, error)
	Close() error
}

// NewBatch is a validated batch to store.
type NewBatch struct {
	Agent, Idem string
	Hash        string // SHA-256 of the lines, hex: a replay carries the same
	Lines       []Line
	At          time.Time
}

// Line is one valid line of a batch.
type Line struct {
	Key string
	Rev int64
	Raw []byte // the line as received, without its newline
}

// Entry is what a store keeps per record key.
type Entry struct {
	Rev   int64           `json:"rev"`
	Line  json.RawMessage `json:"line"`
	Agent string          `json:"agent"`
	Batch string          `json:"batch"` // Idempotency-Key of the batch that stored Rev
	// Seen counts, per rev, the distinct stored batches that carried a line
	// with this key and rev. More than one means the rev was redelivered.
	Seen map[int64]int64 `json:"seen"`
}

// Redelivered counts the lines of this key that came again with a rev
// another stored batch had carried.
func (e Entry) Redelivered() int64 {
	var n int64
	for _, c := range e.Seen {
		n += c - 1
	}
	return n
}

// BatchInfo is what a store remembers of a stored batch, to answer a replay
// of its Idempotency-Key.
type BatchInfo struct {
	Hash        string    `json:"hash"`
	Accepted    int       `json:"accepted"`
	Duplicates  int       `json:"duplicates"`
	Redelivered int       `json:"redelivered,omitempty"`
	StoredAt    time.Time `json:"stored_at"`
}

// Totals are the counters that live as long as the store.
type Totals struct {
	BatchesAccepted  int64 `json:"batches_accepted"`
	LinesAccepted    int64 `json:"lines_accepted"`
	LinesIgnored     int64 `json:"lines_ignored"`
	RedeliveredLines int64 `json:"redelivered_lines"`
	Keys             int64 `json:"keys"`
}

// AgentRecord is what a store knows of one agent.
type AgentRecord struct {
	ID          string          `json:"id"`
	Status      json.RawMessage `json:"status,omitempty"` // the latest report, as received
	StatusAt    time.Time       `json:"status_at"`        // when it was received
	LastBatchAt time.Time       `json:"last_batch_at"`
	Batches     int64           `json:"batches"`
}

// Change is the effect of one batch on the keys it carries.
type Change struct {
	Records     map[string]Entry // the new entry of every key of the batch
	Accepted    int              // lines that stored a new key or a higher rev
	Duplicates  int              // lines with a rev lower than or equal to the stored one
	Redelivered int              // distinct key and rev pairs another stored batch carried
}

// Merge computes what a batch changes, given the stored entries of its keys
// (prev may lack keys never stored; it is not modified). Lines apply in
// order: per key the highest rev wins, a lower or equal rev is a duplicate.
func Merge(agent, idem string, lines []Line, prev map[string]Entry) Change {
	c := Change{Records: make(map[string]Entry, len(lines))}
	seenHere := map[string]map[int64]bool{}
	for _, l := range lines {
		e, ok := c.Records[l.Key]
		if !ok {
			if e, ok = prev[l.Key]; ok {
				e.Seen = maps.Clone(e.Seen)
			}
		}
		if e.Seen == nil {
			e.Seen = map[int64]int64{}
		}
		if !seenHere[l.Key][l.Rev] {
			if seenHere[l.Key] == nil {
				seenHere[l.Key] = map[int64]bool{}
			}
			seenHere[l.Key][l.Rev] = true
			if e.Seen[l.Rev] > 0 {
				c.Redelivered++
			}
			e.Seen[l.Rev]++
		}
		if ok && l.Rev <= e.Rev {
			c.Duplicates++
		} else {
			c.Accepted++
			e.Rev, e.Line, e.Agent, e.Batch = l.Rev, json.RawMessage(l.Raw), agent, idem
		}
		c.Records[l.Key] = e
	}
	return c
}
