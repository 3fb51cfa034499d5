package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the bbolt file.
var (
	bucketRecords = []byte("records") // record key -> entry
	bucketBatches = []byte("batches") // agent id NUL idempotency key -> batchEntry
	bucketMeta    = []byte("meta")    // "totals" -> totals
	keyTotals     = []byte("totals")
)

// entry is what the receiver keeps per record key.
type entry struct {
	Rev   int64           `json:"rev"`
	Line  json.RawMessage `json:"line"`
	Agent string          `json:"agent"`
	Batch string          `json:"batch"` // Idempotency-Key of the batch that stored Rev
	// Seen counts, per rev, the distinct stored batches that carried a line
	// with this key and rev. More than one means the rev was redelivered.
	Seen map[int64]int64 `json:"seen"`
}

func (e entry) redelivered() int64 {
	var n int64
	for _, c := range e.Seen {
		n += c - 1
	}
	return n
}

// batchEntry is what the receiver remembers of a stored batch, to answer a
// replay of its Idempotency-Key.
type batchEntry struct {
	Hash       string    `json:"hash"`
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates"`
	StoredAt   time.Time `json:"stored_at"`
}

// totals are the counters that live as long as the store.
type totals struct {
	BatchesAccepted  int64 `json:"batches_accepted"`
	LinesAccepted    int64 `json:"lines_accepted"`
	LinesIgnored     int64 `json:"lines_ignored"`
	RedeliveredLines int64 `json:"redelivered_lines"`
}

// state is the whole store in memory; with a DBPath it mirrors the bbolt
// file, which is written first.
type state struct {
	records map[string]entry
	batches map[string]batchEntry
	totals  totals
}

func newState() *state {
	return &state{records: map[string]entry{}, batches: map[string]batchEntry{}}
}

func batchID(agent, idem string) string { return agent + "\x00" + idem }

// change is the effect of one batch, computed before anything is written.
type change struct {
	batchKey string
	batch    batchEntry
	records  map[string]entry
	totals   totals
}

// openDB opens the bbolt file and loads it into a state.
func openDB(path string) (*bolt.DB, *state, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", path, err)
	}
	st := newState()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketBatches, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var e entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			st.records[string(k)] = e
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			var b batchEntry
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("batch %q: %w", k, err)
			}
			st.batches[string(k)] = b
			return nil
		}); err != nil {
			return err
		}
		if v := tx.Bucket(bucketMeta).Get(keyTotals); v != nil {
			if err := json.Unmarshal(v, &st.totals); err != nil {
				return fmt.Errorf("totals: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("load store %s: %w", path, err), db.Close())
	}
	return db, st, nil
}

// persist writes a change in one bbolt transaction (fsynced on commit).
func persist(db *bolt.DB, c *change) error {
	return db.Update(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		for k, e := range c.records {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := recs.Put([]byte(k), v); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
		}
		v, err := json.Marshal(c.batch)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketBatches).Put([]byte(c.batchKey), v); err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		v, err = json.Marshal(c.totals)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyTotals, v)
	})
}

// apply makes a persisted change visible.
func (s *state) apply(c *change) {
	for k, e := range c.records {
		s.records[k] = e
	}
	s.batches[c.batchKey] = c.batch
	s.totals = c.totals
}
