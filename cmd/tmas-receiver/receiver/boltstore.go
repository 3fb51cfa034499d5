package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the bbolt file.
var (
	bucketRecords = []byte("records") // record key -> Entry
	bucketBatches = []byte("batches") // agent id NUL idempotency key -> BatchInfo
	bucketAgents  = []byte("agents")  // agent id -> boltAgent
	bucketMeta    = []byte("meta")    // "totals" -> boltTotals
	keyTotals     = []byte("totals")
)

// boltStore is the embedded Store: everything in memory, mirrored by a bbolt
// file that is written (and fsynced) first. Without a file it is the
// in-memory store of tests and the demo. One process at a time holds the
// file.
type boltStore struct {
	db *bolt.DB // nil when in memory

	mu      sync.Mutex
	records map[string]Entry
	batches map[string]BatchInfo
	agents  map[string]boltAgent
	totals  boltTotals
}

// boltTotals are the persisted counters (the number of keys is counted).
type boltTotals struct {
	BatchesAccepted  int64 `json:"batches_accepted"`
	LinesAccepted    int64 `json:"lines_accepted"`
	LinesIgnored     int64 `json:"lines_ignored"`
	RedeliveredLines int64 `json:"redelivered_lines"`
}

type boltAgent struct {
	Status      json.RawMessage `json:"status,omitempty"`
	StatusAt    time.Time       `json:"status_at"`
	LastBatchAt time.Time       `json:"last_batch_at"`
	Batches     int64           `json:"batches"`
}

// NewMemoryStore returns a Store that keeps everything in memory (lost at
// exit): for tests and the demo.
func NewMemoryStore() Store { return newBoltState(nil) }

func newBoltState(db *bolt.DB) *boltStore {
	return &boltStore{db: db, records: map[string]Entry{}, batches: map[string]BatchInfo{}, agents: map[string]boltAgent{}}
}

func batchID(agent, idem string) string { return agent + "\x00" + idem }

// OpenBolt opens (creating if needed) the bbolt file at path as a Store.
func OpenBolt(path string) (Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := newBoltState(db)
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketBatches, bucketAgents, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := load(tx.Bucket(bucketRecords), "record", s.records); err != nil {
			return err
		}
		if err := load(tx.Bucket(bucketBatches), "batch", s.batches); err != nil {
			return err
		}
		if err := load(tx.Bucket(bucketAgents), "agent", s.agents); err != nil {
			return err
		}
		if v := tx.Bucket(bucketMeta).Get(keyTotals); v != nil {
			if err := json.Unmarshal(v, &s.totals); err != nil {
				return fmt.Errorf("totals: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("load store %s: %w", path, err), db.Close())
	}
	return s, nil
}

func load[T any](b *bolt.Bucket, what string, into map[string]T) error {
	return b.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
		into[string(k)] = x
		return nil
	})
}

func (s *boltStore) LookupBatch(_ context.Context, agent, idem string) (BatchInfo, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[batchID(agent, idem)]
	return b, ok, nil
}

func (s *boltStore) Apply(_ context.Context, nb NewBatch) (BatchInfo, bool, error) {
	bkey := batchID(nb.Agent, nb.Idem)
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.batches[bkey]; ok {
		return prev, true, nil
	}
	c := Merge(nb.Agent, nb.Idem, nb.Lines, s.records)
	info := BatchInfo{Hash: nb.Hash, Accepted: c.Accepted, Duplicates: c.Duplicates, Redelivered: c.Redelivered, StoredAt: nb.At.UTC()}
	t := s.totals
	t.BatchesAccepted++
	t.LinesAccepted += int64(c.Accepted)
	t.LinesIgnored += int64(c.Duplicates)
	t.RedeliveredLines += int64(c.Redelivered)
	a := s.agents[nb.Agent]
	a.Batches++
	if info.StoredAt.After(a.LastBatchAt) {
		a.LastBatchAt = info.StoredAt
	}
	if s.db != nil {
		err := s.db.Update(func(tx *bolt.Tx) error {
			recs := tx.Bucket(bucketRecords)
			for k, e := range c.Records {
				if err := putJSON(recs, []byte(k), e); err != nil {
					return fmt.Errorf("record %q: %w", k, err)
				}
			}
			if err := putJSON(tx.Bucket(bucketBatches), []byte(bkey), info); err != nil {
				return fmt.Errorf("batch: %w", err)
			}
			if err := putJSON(tx.Bucket(bucketAgents), []byte(nb.Agent), a); err != nil {
				return fmt.Errorf("agent: %w", err)
			}
			return putJSON(tx.Bucket(bucketMeta), keyTotals, t)
		})
		if err != nil {
			return BatchInfo{}, false, err
		}
	}
	for k, e := range c.Records {
		s.records[k] = e
	}
	s.batches[bkey] = info
	s.agents[nb.Agent] = a
	s.totals = t
	return info, false, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, j)
}

func (s *boltStore) Records(context.Context) ([]StoredRecord, error) {
	s.mu.Lock()
	out := make([]StoredRecord, 0, len(s.records))
	for k, e := range s.records {
		out = append(out, StoredRecord{
			Key: k, Rev: e.Rev, Line: bytes.Clone(e.Line), AgentID: e.Agent, Batch: e.Batch,
			Redelivered: e.Redelivered(),
		})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *boltStore) Totals(context.Context) (Totals, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.totals
	return Totals{BatchesAccepted: t.BatchesAccepted, LinesAccepted: t.LinesAccepted, LinesIgnored: t.LinesIgnored,
		RedeliveredLines: t.RedeliveredLines, Keys: int64(len(s.records))}, nil
}

func (s *boltStore) PutStatus(_ context.Context, agent string, report json.RawMessage, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[agent]
	a.Status, a.StatusAt = bytes.Clone(report), at.UTC()
	if s.db != nil {
		if err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketAgents), []byte(agent), a) }); err != nil {
			return err
		}
	}
	s.agents[agent] = a
	return nil
}

func (s *boltStore) Agents(context.Context) ([]AgentRecord, error) {
	s.mu.Lock()
	out := make([]AgentRecord, 0, len(s.agents))
	for id, a := range s.agents {
		out = append(out, AgentRecord{ID: id, Status: bytes.Clone(a.Status), StatusAt: a.StatusAt, LastBatchAt: a.LastBatchAt, Batches: a.Batches})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *boltStore) Close() error {
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
