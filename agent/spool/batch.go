package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	err := s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		b = nil
		defs, queue := tx.Bucket(bucketBatches), tx.Bucket(bucketQueue)
		if k, v := defs.Cursor().First(); k != nil {
			var d batchDef
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("spool: batch definition: %w", err)
			}
			var err error
			b, err = s.readBatch(tx, d, n)
			if err != nil {
				return err
			}
			if len(b.Lines) > 0 {
				return nil
			}
			// Every line of it was moved away (dead-lettered): forget it.
			b = nil
			return deleteDef(tx, d)
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
		if err := putDef(tx, d); err != nil {
			return err
		}
		b, err = s.readBatch(tx, d, n)
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

// Batch definitions are keyed by their first queue sequence, so that they
// sort in queue order (the halves of a split batch take its place), and
// indexed by ID in bucketBatchIDs, so that finding one is a lookup.
func putDef(tx *bolt.Tx, d batchDef) error {
	v, _ := json.Marshal(d)
	if err := tx.Bucket(bucketBatches).Put(u64(d.First), v); err != nil {
		return err
	}
	return tx.Bucket(bucketBatchIDs).Put([]byte(d.ID), u64(d.First))
}

func deleteDef(tx *bolt.Tx, d batchDef) error {
	if err := tx.Bucket(bucketBatches).Delete(u64(d.First)); err != nil {
		return err
	}
	return tx.Bucket(bucketBatchIDs).Delete([]byte(d.ID))
}

// rekeyDefs moves definitions written by earlier versions (keyed by a
// sequence of their own) to the keys putDef uses, once per file.
func rekeyDefs(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m.Get(metaDefsKeyed) != nil {
		return nil
	}
	defs := tx.Bucket(bucketBatches)
	var old []batchDef
	var keys [][]byte
	if err := defs.ForEach(func(k, v []byte) error {
		var d batchDef
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("spool: batch definition: %w", err)
		}
		old, keys = append(old, d), append(keys, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := defs.Delete(k); err != nil {
			return err
		}
	}
	for _, d := range old {
		if err := putDef(tx, d); err != nil {
			return err
		}
	}
	return m.Put(metaDefsKeyed, []byte("first"))
}

// readBatch loads the lines of a definition. A line whose checksum no longer
// matches is moved to the dead-letter store instead of being sent.
func (s *Spool) readBatch(tx *bolt.Tx, d batchDef, n *counts) (*Batch, error) {
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
		n.add(-1, -int64(len(v)), 1)
	}
	return b, nil
}

func safeTail(v []byte) []byte {
	if len(v) < 12 {
		return v
	}
	return v[12:]
}

// counts are the changes one write transaction makes to the figures Stats
// reports. They are applied only once the transaction has committed: a
// commit that fails (fsync, a full disk) changes nothing, figures included.
type counts struct {
	queued int
	bytes  int64
	dead   int
}

func (c *counts) add(queued int, bytes int64, dead int) {
	c.queued += queued
	c.bytes += bytes
	c.dead += dead
}

// updateCounting runs fn in a write transaction and applies the counts it
// made after the commit succeeded.
func (s *Spool) updateCounting(fn func(tx *bolt.Tx, n *counts) error) error {
	var n counts
	err := s.update(func(tx *bolt.Tx) error {
		n = counts{}
		return fn(tx, &n)
	})
	if err == nil {
		s.adjust(n)
	}
	return err
}

func (s *Spool) adjust(n counts) {
	s.statsMu.Lock()
	s.stats.queued += n.queued
	s.stats.queuedBytes += n.bytes
	s.stats.dead += n.dead
	s.statsMu.Unlock()
}

// findDef returns the definition of a pending batch.
func findDef(tx *bolt.Tx, id string) (batchDef, error) {
	var d batchDef
	k := tx.Bucket(bucketBatchIDs).Get([]byte(id))
	v := tx.Bucket(bucketBatches).Get(k)
	if k == nil || v == nil {
		return d, fmt.Errorf("spool: batch %s is not pending", id)
	}
	if err := json.Unmarshal(v, &d); err != nil {
		return d, fmt.Errorf("spool: batch definition: %w", err)
	}
	return d, nil
}

// Ack deletes a delivered batch: its lines and its definition.
func (s *Spool) Ack(id string) error {
	return s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		d, err := findDef(tx, id)
		if err != nil {
			return err
		}
		deleted, size, err := deleteRange(tx.Bucket(bucketQueue), d.First, d.Last)
		if err != nil {
			return err
		}
		n.add(-deleted, -size, 0)
		return deleteDef(tx, d)
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
	return s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		d, err := findDef(tx, id)
		if err != nil {
			return err
		}
		var seqs []uint64
		c := tx.Bucket(bucketQueue).Cursor()
		for qk, _ := c.Seek(u64(d.First)); qk != nil && binary.BigEndian.Uint64(qk) <= d.Last; qk, _ = c.Next() {
			seqs = append(seqs, binary.BigEndian.Uint64(qk))
		}
		if err := deleteDef(tx, d); err != nil {
			return err
		}
		if len(seqs) <= 1 {
			return s.moveToDead(tx, n, d, nil, "headquarters answered 413 (too large) to a batch of a single line")
		}
		// The halves take the batch's place in queue order: their keys are
		// their first sequences, below those of any newer batch.
		mid := len(seqs) / 2
		for _, h := range []batchDef{{First: seqs[0], Last: seqs[mid-1]}, {First: seqs[mid], Last: seqs[len(seqs)-1]}} {
			if h.ID, err = s.newBatchID(tx); err != nil {
				return err
			}
			if err := putDef(tx, h); err != nil {
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
	return s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		d, err := findDef(tx, id)
		if err != nil {
			return err
		}
		if err := deleteDef(tx, d); err != nil {
			return err
		}
		return s.moveToDead(tx, n, d, reasons, reason)
	})
}

// moveToDead moves lines of d to the dead store: those named in reasons, or
// all of them with reason all when reasons is nil.
func (s *Spool) moveToDead(tx *bolt.Tx, n *counts, d batchDef, reasons map[int]string, all string) error {
	queue := tx.Bucket(bucketQueue)
	type victim struct {
		k, v   []byte
		reason string
	}
	var victims []victim
	c := queue.Cursor()
	line := 0
	for k, v := c.Seek(u64(d.First)); k != nil && binary.BigEndian.Uint64(k) <= d.Last; k, v = c.Next() {
		line++
		reason := all
		if reasons != nil {
			var ok bool
			if reason, ok = reasons[line]; !ok {
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
		n.add(-1, -int64(len(vi.v)), 1)
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
	var queued int
	err := s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		queued = 0
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
			n.add(1, int64(len(v)), -1)
			queued++
		}
		return nil
	})
	return queued, err
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
		os.Remove(tmp)
		return false, fmt.Errorf("spool: compact: close the buffer file: %w", err)
	}
	s.db = nil
	renameErr := s.rename(tmp, s.opts.Path)
	if renameErr != nil {
		os.Remove(tmp)
	} else {
		syncDir(filepath.Dir(s.opts.Path))
	}
	// Reopen what is at the path: the compacted file, or the original when
	// the rename failed.
	db, err := s.reopen(s.opts.Path)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrReopen, err)
	}
	s.db = db
	if renameErr != nil {
		return false, fmt.Errorf("spool: compact: put the compacted file in place: %w", renameErr)
	}
	s.log.Info("compacted the drained buffer file", "before_bytes", size)
	return true, nil
}
