package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tmas/storeagent/importers/record"
)

// Change is what one Commit stores atomically: records to queue and state
// values to set (a nil value deletes the key).
type Change struct {
	Records []record.Record
	State   map[StateKey][]byte
}

// StateKey names one state value kept in the buffer beside the queue: a
// source's cursor, a file's progress, the recent files list, a token. The
// agent builds its keys with its own constructors (cursorKey, fileKey…);
// the spool only stores them.
type StateKey string

// Result counts what a Commit did.
type Result struct {
	Queued    int // records queued for headquarters (new keys or changed content)
	Unchanged int // records whose content was already queued or delivered
}

// keyState is what the spool remembers per record key: its last revision, a
// hash of its content, and what it added to the hourly totals.
type keyState struct {
	rev  int64
	at   int64 // unix seconds of the last change, for pruning
	hash [16]byte
	hour string // hourly bucket key, "" when it contributes nothing
	net  string
	txns int64
	item int64
}

func (k keyState) encode() []byte {
	var b bytes.Buffer
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(k.rev))
	b.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(k.at))
	b.Write(n[:])
	b.Write(k.hash[:])
	writeString(&b, k.hour)
	writeString(&b, k.net)
	binary.BigEndian.PutUint64(n[:], uint64(k.txns))
	b.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(k.item))
	b.Write(n[:])
	return b.Bytes()
}

func decodeKeyState(v []byte) (keyState, bool) {
	var k keyState
	if len(v) < 32 {
		return k, false
	}
	k.rev = int64(binary.BigEndian.Uint64(v))
	k.at = int64(binary.BigEndian.Uint64(v[8:]))
	copy(k.hash[:], v[16:32])
	v = v[32:]
	var ok bool
	if k.hour, v, ok = readString(v); !ok {
		return k, false
	}
	if k.net, v, ok = readString(v); !ok {
		return k, false
	}
	if len(v) < 16 {
		return k, false
	}
	k.txns = int64(binary.BigEndian.Uint64(v))
	k.item = int64(binary.BigEndian.Uint64(v[8:]))
	return k, true
}

func writeString(b *bytes.Buffer, s string) {
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(s)))
	b.Write(n[:])
	b.WriteString(s)
}

func readString(v []byte) (string, []byte, bool) {
	if len(v) < 2 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(v))
	if len(v) < 2+n {
		return "", nil, false
	}
	return string(v[2 : 2+n]), v[2+n:], true
}

// queue values: enqueue time (unix ns) | crc32c(line) | line
func encodeQueueValue(at time.Time, line []byte) []byte {
	v := make([]byte, 12+len(line))
	binary.BigEndian.PutUint64(v, uint64(at.UnixNano()))
	binary.BigEndian.PutUint32(v[8:], crc32.Checksum(line, crcTable))
	copy(v[12:], line)
	return v
}

func decodeQueueValue(v []byte) (time.Time, []byte, bool) {
	if len(v) < 12 {
		return time.Time{}, nil, false
	}
	line := v[12:]
	if crc32.Checksum(line, crcTable) != binary.BigEndian.Uint32(v[8:]) {
		return time.Time{}, nil, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), line, true
}

// hourKey buckets a transaction into its store-local hour, keeping the offset
// so that the two 01:00 hours of a fall-back day stay apart.
func hourKey(loc string, t time.Time) string {
	return loc + "|" + t.Format("2006-01-02T15:00-07:00")
}

type pending struct {
	rec *record.Record
	enc encoded
}

// Commit queues records and sets state in one fsynced transaction. A record
// whose key was seen before with the same content is dropped (Unchanged);
// otherwise it gets Rev = max(previous rev + 1, RevHint, 1) and an ObservedAt.
// When the buffer is full, a change that queues records fails with
// record.ErrFull and nothing is stored; state-only changes still go through.
func (s *Spool) Commit(c Change) (Result, error) {
	items, estimate, err := prepare(c.Records)
	if err != nil {
		return Result{}, err
	}
	now := s.opts.Now().UTC()
	var res Result
	var queuedBytes int64
	err = s.update(func(tx *bolt.Tx) error {
		if len(items) > 0 && s.opts.MaxSize > 0 {
			if err := s.checkRoom(tx, estimate); err != nil {
				return err
			}
		}
		var err error
		if res, queuedBytes, err = queueRecords(tx, items, now); err != nil {
			return err
		}
		return putState(tx.Bucket(bucketState), c.State)
	})
	if err != nil {
		return Result{}, err
	}
	s.adjust(counts{queued: res.Queued, bytes: queuedBytes})
	return res, nil
}

// prepare validates and encodes the records outside the transaction, and
// estimates the room they take.
func prepare(recs []record.Record) ([]pending, int64, error) {
	items := make([]pending, len(recs))
	var estimate int64
	for i := range recs {
		r := &recs[i]
		if err := r.Validate(); err != nil {
			return nil, 0, fmt.Errorf("spool: refusing an invalid record: %w", err)
		}
		enc, err := encodeBody(r)
		if err != nil {
			return nil, 0, err
		}
		items[i] = pending{rec: r, enc: enc}
		estimate += int64(len(enc.body) + 200)
	}
	return items, estimate, nil
}

// queueRecords queues the records whose content is new, and moves the
// hourly totals by what each changed record adds and takes away.
func queueRecords(tx *bolt.Tx, items []pending, now time.Time) (Result, int64, error) {
	var res Result
	var queuedBytes int64
	keys, queue := tx.Bucket(bucketKeys), tx.Bucket(bucketQueue)
	// Queue keys only ever grow: fill pages completely instead of
	// splitting them in half, which halves the pages each commit writes.
	queue.FillPercent = 1.0
	deltas := map[string]*hourDelta{}
	for _, p := range items {
		kb := []byte(p.rec.Key)
		prev, seen := decodeKeyState(keys.Get(kb))
		if seen && prev.hash == p.enc.hash {
			res.Unchanged++
			continue
		}
		n, next, err := queueOne(queue, p, prev, now)
		if err != nil {
			return res, 0, err
		}
		queuedBytes += n
		if seen && prev.hour != "" {
			deltas[prev.hour] = deltas[prev.hour].sub(prev)
		}
		if t := p.rec.Transaction; t != nil && t.Kind != record.KindVoid {
			deltas[next.hour] = deltas[next.hour].add(next, t.NetSales.Decimal())
		}
		if err := keys.Put(kb, next.encode()); err != nil {
			return res, 0, err
		}
		res.Queued++
	}
	return res, queuedBytes, applyHourly(tx.Bucket(bucketHourly), deltas)
}

// queueOne appends one record to the queue with its next revision, and
// returns the bytes queued and the key's new state.
func queueOne(queue *bolt.Bucket, p pending, prev keyState, now time.Time) (int64, keyState, error) {
	out := *p.rec
	out.Rev = max(prev.rev+1, p.rec.RevHint, 1)
	if out.ObservedAt.IsZero() {
		out.ObservedAt = now
	}
	line := appendLine(make([]byte, 0, len(p.enc.body)+256), &out, p.enc.body)
	seq, err := queue.NextSequence()
	if err != nil {
		return 0, keyState{}, err
	}
	if err := queue.Put(u64(seq), encodeQueueValue(now, line)); err != nil {
		return 0, keyState{}, err
	}
	next := keyState{rev: out.Rev, at: now.Unix(), hash: p.enc.hash}
	if t := out.Transaction; t != nil && t.Kind != record.KindVoid {
		next.hour = hourKey(out.LocationID, t.OccurredAt)
		next.net, next.txns, next.item = t.NetSales.String(), 1, t.Items
	}
	return int64(len(line) + 12), next, nil
}

// putState sets the state values (nil deletes).
func putState(st *bolt.Bucket, values map[StateKey][]byte) error {
	for key, v := range values {
		var err error
		if v == nil {
			err = st.Delete([]byte(key))
		} else {
			err = st.Put([]byte(key), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRoom refuses a change when the live data plus the change (with room
// for its index entries) would not fit under 90% of MaxSize. Once it has
// refused, it keeps refusing until the data falls under 70% of what it was
// then: "full" stays full for every input until headquarters has drained a
// good part, instead of flapping between a refused large file and an
// accepted small one.
func (s *Spool) checkRoom(tx *bolt.Tx, estimate int64) error {
	free := int64(tx.DB().Stats().FreePageN) * int64(tx.DB().Info().PageSize)
	used := tx.Size() - free
	limit := s.opts.MaxSize * 9 / 10
	full := fmt.Errorf("%w (buffer uses %d of %d bytes)", record.ErrFull, used, s.opts.MaxSize)
	if at := s.fullAt.Load(); at >= 0 {
		if used > at*7/10 || used+3*estimate > limit {
			return full
		}
		s.fullAt.Store(-1)
	}
	if used+3*estimate > limit {
		s.fullAt.Store(used)
		return full
	}
	return nil
}

// Full reports whether new input would be refused right now.
func (s *Spool) Full() bool {
	if s.opts.MaxSize <= 0 {
		return false
	}
	err := s.view(func(tx *bolt.Tx) error { return s.checkRoom(tx, 0) })
	return errors.Is(err, record.ErrFull)
}
