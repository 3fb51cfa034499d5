package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Batch is a run of queued records sent to headquarters under one
// Idempotency-Key. Its definition is stored before it is first sent, so a
// retry after any crash sends the same lines under the same ID.
type Batch struct {
	ID    string
	First uint64 // first queue sequence, inclusive
	Last  uint64 // last queue sequence, inclusive
	Lines [][]byte
	Bytes int       // sum of line lengths, without newlines
	Since time.Time // when the oldest line was queued
}

type batchDef struct {
	ID    string `json:"id"`
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// Limits bound a new batch.
type Limits struct {
	MaxLines int
	MaxBytes int
}

// ErrNoBatch is returned by NextBatch when nothing is queued.
var ErrNoBatch = errors.New("spool: nothing queued")

// NextBatch returns the batch to send: the oldest stored definition if there
// is one (a batch that was sent before and not acknowledged), else a new one
// cut from the head of the queue within lim and stored before it is returned.
func (s *Spool) NextBatch(lim Limits) (*Batch, error) {
	var b *Batch
	err := s.update(func(tx *bolt.Tx) error {
		b = nil
		defs, queue := tx.Bucket(bucketBatches), tx.Bucket(bucketQueue)
		if k, v := defs.Cursor().First(); k != nil {
			var d batchDef
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("spool: batch definition: %w", err)
			}
			var err error
			b, err = s.readBatch(tx, d)
			if err != nil {
				return err
			}
			if len(b.Lines) > 0 {
				return nil
			}
			// Every line of it was moved away (dead-lettered): forget it.
			b = nil
			return defs.Delete(k)
		}
		c := queue.Cursor()
		var d batchDef
		lines, size := 0, 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n := len(v) - 12
			if lines > 0 && (lines+1 > lim.MaxLines || size+n+1 > lim.MaxBytes) {
				break
			}
			seq := binary.BigEndian.Uint64(k)
			if lines == 0 {
				d.First = seq
			}
			d.Last = seq
			lines++
			size += n + 1
		}
		if lines == 0 {
			return ErrNoBatch
		}
		id, err := s.newBatchID(tx)
		if err != nil {
			return err
		}
		d.ID = id
		if err := putDef(defs, d); err != nil {
			return err
		}
		b, err = s.readBatch(tx, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Spool) newBatchID(tx *bolt.Tx) (string, error) {
	m := tx.Bucket(bucketMeta)
	var n uint64
	if v := m.Get(metaBatchSeq); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	if err := m.Put(metaBatchSeq, u64(n)); err != nil {
		return "", err
	}
	return fmt.Sprintf("b.%s.%d", s.instance, n), nil
}

func putDef(defs *bolt.Bucket, d batchDef) error {
	seq, err := defs.NextSequence()
	if err != nil {
		return err
	}
	v, _ := json.Marshal(d)
	return defs.Put(u64(seq), v)
}

// readBatch loads the lines of a definition. A line whose checksum no longer
// matches is moved to the dead-letter store instead of being sent.
func (s *Spool) readBatch(tx *bolt.Tx, d batchDef) (*Batch, error) {
	b := &Batch{ID: d.ID, First: d.First, Last: d.Last}
	queue := tx.Bucket(bucketQueue)
	c := queue.Cursor()
	var damaged [][]byte
	for k, v := c.Seek(u64(d.First)); k != nil && binary.BigEndian.Uint64(k) <= d.Last; k, v = c.Next() {
		at, line, ok := decodeQueueValue(v)
		if !ok {
			damaged = append(damaged, bytes.Clone(k))
			continue
		}
		if b.Since.IsZero() {
			b.Since = at
		}
		b.Lines = append(b.Lines, bytes.Clone(line))
		b.Bytes += len(line)
	}
	for _, k := range damaged {
		v := queue.Get(k)
		if err := s.putDead(tx, DeadLetter{Line: string(safeTail(v)), Reason: "damaged on disk: checksum mismatch", Batch: d.ID}); err != nil {
			return nil, err
		}
		if err := queue.Delete(k); err != nil {
			return nil, err
		}
		s.adjust(-1, -int64(len(v)), 1)
	}
	return b, nil
}

func safeTail(v []byte) []byte {
	if len(v) < 12 {
		return v
	}
	return v[12:]
}

func (s *Spool) adjust(queued int, bytes int64, dead int) {
	s.statsMu.Lock()
	s.stats.queued += queued
	s.stats.queuedBytes += bytes
	s.stats.dead += dead
	s.statsMu.Unlock()
}

// findDef returns the key and definition of a batch.
func findDef(defs *bolt.Bucket, id string) ([]byte, batchDef, error) {
	c := defs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var d batchDef
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, d, err
		}
		if d.ID == id {
			return bytes.Clone(k), d, nil
		}
	}
	return nil, batchDef{}, fmt.Errorf("spool: batch %s is not pending", id)
}

// Ack deletes a delivered batch: its lines and its definition.
func (s *Spool) Ack(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		defs := tx.Bucket(bucketBatches)
		k, d, err := findDef(defs, id)
		if err != nil {
			return err
		}
		n, size, err := deleteRange(tx.Bucket(bucketQueue), d.First, d.Last)
		if err != nil {
			return err
		}
		s.adjust(-n, -size, 0)
		return defs.Delete(k)
	})
}

// deleteRange deletes queue entries First..Last, collecting keys first (a
// bbolt cursor skips keys when deleting while iterating).
func deleteRange(queue *bolt.Bucket, first, last uint64) (int, int64, error) {
	var keys [][]byte
	var size int64
	c := queue.Cursor()
	for k, v := c.Seek(u64(first)); k != nil && binary.BigEndian.Uint64(k) <= last; k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		size += int64(len(v))
	}
	for _, k := range keys {
		if err := queue.Delete(k); err != nil {
			return 0, 0, err
		}
	}
	return len(keys), size, nil
}

// Split replaces a batch that headquarters found too large by its two halves,
// each with a new ID. A batch of one line cannot be split: it is dead-lettered.
func (s *Spool) Split(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		defs := tx.Bucket(bucketBatches)
		k, d, err := findDef(defs, id)
		if err != nil {
			return err
		}
		var seqs []uint64
		c := tx.Bucket(bucketQueue).Cursor()
		for qk, _ := c.Seek(u64(d.First)); qk != nil && binary.BigEndian.Uint64(qk) <= d.Last; qk, _ = c.Next() {
			seqs = append(seqs, binary.BigEndian.Uint64(qk))
		}
		if err := defs.Delete(k); err != nil {
			return err
		}
		if len(seqs) <= 1 {
			return s.moveToDead(tx, d, nil, "headquarters answered 413 (too large) to a batch of a single line")
		}
		// Halves keep queue order ahead of any newer batch: re-insert them
		// with keys below every other definition.
		mid := len(seqs) / 2
		halves := []batchDef{{First: seqs[0], Last: seqs[mid-1]}, {First: seqs[mid], Last: seqs[len(seqs)-1]}}
		rest := map[string][]byte{}
		rc := defs.Cursor()
		for rk, rv := rc.First(); rk != nil; rk, rv = rc.Next() {
			rest[string(rk)] = bytes.Clone(rv)
		}
		for rk := range rest {
			if err := defs.Delete([]byte(rk)); err != nil {
				return err
			}
		}
		for i := range halves {
			if halves[i].ID, err = s.newBatchID(tx); err != nil {
				return err
			}
			if err := putDef(defs, halves[i]); err != nil {
				return err
			}
		}
		for _, rk := range slices.Sorted(maps.Keys(rest)) {
			seq, _ := defs.NextSequence()
			if err := defs.Put(u64(seq), rest[rk]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reject moves the named lines of a batch (1-based, as the 422 answer numbers
// them) to the dead-letter store with headquarters' reasons, and forgets the
// batch definition, so the remaining lines go out as a new batch.
func (s *Spool) Reject(id string, reasons map[int]string) error {
	return s.rejectBatch(id, reasons, "")
}

// RejectAll moves every line of a batch to the dead-letter store: for answers
// that say the batch itself is wrong (400, 409), which are bugs to report.
func (s *Spool) RejectAll(id, reason string) error {
	return s.rejectBatch(id, nil, reason)
}

// rejectBatch forgets batch id's definition and moves its lines to the
// dead-letter store (see moveToDead for reasons and reason).
func (s *Spool) rejectBatch(id string, reasons map[int]string, reason string) error {
	return s.update(func(tx *bolt.Tx) error {
		defs := tx.Bucket(bucketBatches)
		k, d, err := findDef(defs, id)
		if err != nil {
			return err
		}
		if err := defs.Delete(k); err != nil {
			return err
		}
		return s.moveToDead(tx, d, reasons, reason)
	})
}

// moveToDead moves lines of d to the dead store: those named in reasons, or
// all of them with reason all when reasons is nil.
func (s *Spool) moveToDead(tx *bolt.Tx, d batchDef, reasons map[int]string, all string) error {
	queue := tx.Bucket(bucketQueue)
	type victim struct {
		k, v   []byte
		reason string
	}
	var victims []victim
	c := queue.Cursor()
	n := 0
	for k, v := c.Seek(u64(d.First)); k != nil && binary.BigEndian.Uint64(k) <= d.Last; k, v = c.Next() {
		n++
		reason := all
		if reasons != nil {
			var ok bool
			if reason, ok = reasons[n]; !ok {
				continue
			}
		}
		victims = append(victims, victim{bytes.Clone(k), bytes.Clone(v), reason})
	}
	for _, vi := range victims {
		if err := s.putDead(tx, DeadLetter{Line: string(safeTail(vi.v)), Reason: vi.reason, Batch: d.ID}); err != nil {
			return err
		}
		if err := queue.Delete(vi.k); err != nil {
			return err
		}
		s.adjust(-1, -int64(len(vi.v)), 1)
	}
	return nil
}

// DeadLetter is a record headquarters refused, kept for the operator.
type DeadLetter struct {
	ID     uint64    `json:"id"`
	Line   string    `json:"line"`
	Reason string    `json:"reason"`
	Batch  string    `json:"batch"`
	At     time.Time `json:"at"`
}

func (s *Spool) putDead(tx *bolt.Tx, d DeadLetter) error {
	b := tx.Bucket(bucketDead)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	d.ID = seq
	if d.At.IsZero() {
		d.At = s.opts.Now().UTC()
	}
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return b.Put(u64(seq), v)
}

// DeadLetters lists the dead-letter store, oldest first.
func (s *Spool) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// RetryDead queues dead letters again (all when ids is empty), unchanged, at
// the end of the queue. It returns how many were queued.
func (s *Spool) RetryDead(ids []uint64) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		dead, queue := tx.Bucket(bucketDead), tx.Bucket(bucketQueue)
		want := map[uint64]bool{}
		for _, id := range ids {
			want[id] = true
		}
		var keys [][]byte
		var lines []string
		err := dead.ForEach(func(k, v []byte) error {
			id := binary.BigEndian.Uint64(k)
			if len(ids) > 0 && !want[id] {
				return nil
			}
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			keys = append(keys, bytes.Clone(k))
			lines = append(lines, d.Line)
			return nil
		})
		if err != nil {
			return err
		}
		now := s.opts.Now()
		for i, k := range keys {
			seq, err := queue.NextSequence()
			if err != nil {
				return err
			}
			v := encodeQueueValue(now, []byte(lines[i]))
			if err := queue.Put(u64(seq), v); err != nil {
				return err
			}
			if err := dead.Delete(k); err != nil {
				return err
			}
			s.adjust(1, int64(len(v)), -1)
			n++
		}
		return nil
	})
	return n, err
}

// Stats describe the buffer for status pages and metrics.
type Stats struct {
	Queued      int       `json:"queued"`
	QueuedBytes int64     `json:"queued_bytes"`
	Oldest      time.Time `json:"oldest,omitzero"` // when the oldest undelivered record was queued
	Dead        int       `json:"dead_letters"`
	FileBytes   int64     `json:"file_bytes"`
	MaxBytes    int64     `json:"max_bytes"`
	Full        bool      `json:"full"`
	Instance    string    `json:"instance"`
}

// Stats returns the current figures.
func (s *Spool) Stats() Stats {
	s.statsMu.Lock()
	st := Stats{Queued: s.stats.queued, QueuedBytes: s.stats.queuedBytes, Dead: s.stats.dead, MaxBytes: s.opts.MaxSize, Instance: s.instance}
	s.statsMu.Unlock()
	_ = s.view(func(tx *bolt.Tx) error {
		st.FileBytes = tx.Size()
		if k, v := tx.Bucket(bucketQueue).Cursor().First(); k != nil && len(v) >= 8 {
			st.Oldest = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
	st.Full = s.Full()
	return st
}

// Compact rewrites the file without its free pages when the queue has
// drained and most of the file is free (bbolt files never shrink by
// themselves). It reports whether it did.
func (s *Spool) Compact(minFileBytes int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return false, errors.New("spool: closed")
	}
	var size, free int64
	var queued, batches int
	_ = s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		free = int64(s.db.Stats().FreePageN) * int64(s.db.Info().PageSize)
		queued = tx.Bucket(bucketQueue).Stats().KeyN
		batches = tx.Bucket(bucketBatches).Stats().KeyN
		return nil
	})
	if queued > 0 || batches > 0 || size < minFileBytes || free < size/2 {
		return false, nil
	}
	tmp := s.opts.Path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return false, fmt.Errorf("spool: compact: %w", err)
	}
	if err := bolt.Compact(dst, s.db, 4<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return false, fmt.Errorf("spool: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return false, fmt.Errorf("spool: compact: %w", err)
	}
	dst.Close()
	if err := s.db.Close(); err != nil {
		return false, err
	}
	s.db = nil
	if err := os.Rename(tmp, s.opts.Path); err != nil {
		os.Remove(tmp)
	}
	syncDir(filepath.Dir(s.opts.Path))
	db, err := bolt.Open(s.opts.Path, 0o600, s.boltOptions())
	if err != nil {
		return false, fmt.Errorf("spool: reopen after compaction: %w", err)
	}
	s.db = db
	s.log.Info("spool: compacted the drained buffer file", "before_bytes", size)
	return true, nil
}
