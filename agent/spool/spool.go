package spool

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tmas/storeagent/importers/record"
)

var (
	bucketMeta    = []byte("meta")
	bucketQueue   = []byte("queue")
	bucketKeys    = []byte("keys")
	bucketState   = []byte("state")
	bucketBatches = []byte("batches")
	bucketDead    = []byte("dead")
	bucketHourly  = []byte("hourly")
	// batch ID -> key of its definition in bucketBatches
	bucketBatchIDs = []byte("batch_ids")

	allBuckets = [][]byte{bucketMeta, bucketQueue, bucketKeys, bucketState, bucketBatches, bucketDead, bucketHourly, bucketBatchIDs}

	metaInstance = []byte("instance")
	metaFormat   = []byte("format")
	metaBatchSeq = []byte("batch_seq")
	// set once the batch definitions are keyed by their first sequence
	metaDefsKeyed = []byte("defs_keyed")
)

const formatVersion = "2"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrLocked is returned by Open when another process holds the buffer file.
var ErrLocked = errors.New("the buffer file is in use by another storeagent process")

// Options configure a spool.
type Options struct {
	Path    string
	MaxSize int64 // bytes the file may use; 0 = unlimited
	Logger  *slog.Logger
	Now     func() time.Time
	// LockTimeout bounds the wait for the file lock (default 2s).
	LockTimeout time.Duration
	// NoSync skips fsync, for benchmarks that measure the raw cost only.
	NoSync bool
}

// ErrReopen: the buffer file could not be opened again after compaction.
// The spool is then closed (every operation fails): the agent must stop
// with this error, so that the service manager restarts it and Open sets
// a damaged file aside, rather than run on without a buffer.
var ErrReopen = errors.New("spool: the buffer file could not be opened again after compaction")

// Recovery says what Open found wrong with the file and what it did.
type Recovery struct {
	SetAside string // where the damaged file was moved
	Reason   string
	Salvaged int // queued records copied from the damaged file
	At       time.Time
}

// Spool is the durable buffer. Its methods are safe for concurrent use.
type Spool struct {
	opts     Options
	log      *slog.Logger
	instance string

	mu sync.RWMutex // held for reading by every operation, for writing by Compact
	db *bolt.DB

	statsMu sync.Mutex
	stats   counters
	// fullAt is the data size when input was last refused for room, -1
	// when not full: input stays refused until usage falls well below it.
	fullAt atomic.Int64

	// Compaction's file operations, replaced by tests to make them fail.
	rename func(oldpath, newpath string) error
	reopen func(path string) (*bolt.DB, error)
}

type counters struct {
	queued      int
	queuedBytes int64
	dead        int
}

// Open opens or creates the buffer file. A damaged file is moved aside
// (name.damaged-TIMESTAMP), a fresh one is started, whatever could be read
// from the damaged one is copied over, and the returned Recovery says so: the
// caller must report it loudly. Open never leaves the agent "running but dead".
func Open(opts Options) (*Spool, *Recovery, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{opts: opts, log: opts.Logger.With("component", "spool"), rename: os.Rename}
	s.reopen = func(path string) (*bolt.DB, error) { return bolt.Open(path, 0o600, s.boltOptions()) }
	s.fullAt.Store(-1)
	db, damage := s.openChecked()
	var rec *Recovery
	if damage != nil {
		if errors.Is(damage, ErrLocked) {
			return nil, nil, damage
		}
		var err error
		rec, err = s.setAside(damage)
		if err != nil {
			return nil, nil, err
		}
		db, damage = s.openChecked()
		if damage != nil {
			return nil, rec, fmt.Errorf("spool: a fresh buffer file could not be opened either: %w", damage)
		}
	}
	s.db = db
	if err := s.init(); err != nil {
		db.Close()
		return nil, rec, err
	}
	if rec != nil && rec.Salvaged >= 0 {
		n, err := s.salvage(rec.SetAside)
		rec.Salvaged = n
		if err != nil {
			s.log.Error("salvage from the damaged buffer stopped early", "err", err, "salvaged", n)
		}
	}
	if err := s.recount(); err != nil {
		db.Close()
		return nil, rec, err
	}
	return s, rec, nil
}

func (s *Spool) boltOptions() *bolt.Options {
	o := &bolt.Options{
		Timeout: s.opts.LockTimeout,
		// The freelist stays synced: without it bbolt rebuilds it at open by
		// walking every page in a goroutine whose panic on a damaged page
		// cannot be recovered, and a damaged file would crash-loop the agent.
		FreelistType: bolt.FreelistMapType,
		NoSync:       s.opts.NoSync,
	}
	if s.opts.MaxSize > 0 {
		o.MaxSize = int(s.opts.MaxSize)
	}
	return o
}

// openChecked opens the file and runs bbolt's consistency check. Any error
// other than the lock means the file is damaged.
func (s *Spool) openChecked() (db *bolt.DB, damage error) {
	if err := precheck(s.opts.Path); err != nil {
		return nil, err
	}
	// A fault reading the mapped file becomes a panic, recovered below,
	// instead of killing the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	// bbolt's file, to close when bolt.Open itself panics: Windows refuses
	// to move aside a file that is still open.
	var file *os.File
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				db.Close()
			} else if file != nil {
				file.Close()
			}
			db, damage = nil, fmt.Errorf("bbolt panicked reading the file: %v", p)
		}
	}()
	o := s.boltOptions()
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	db, err := bolt.Open(s.opts.Path, 0o600, o)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, s.opts.Path)
		}
		return nil, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("consistency check: %w", err)
	}
	return db, nil
}

func (s *Spool) setAside(damage error) (*Recovery, error) {
	now := s.opts.Now()
	aside := fmt.Sprintf("%s.damaged-%s", s.opts.Path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(s.opts.Path, aside); err != nil {
		return nil, fmt.Errorf("spool: the buffer file is damaged (%v) and could not be moved aside: %w", damage, err)
	}
	syncDir(filepath.Dir(s.opts.Path))
	s.log.Error("the buffer file was damaged; it was set aside and a fresh one started",
		"reason", damage.Error(), "set_aside", aside)
	return &Recovery{SetAside: aside, Reason: damage.Error(), At: now}, nil
}

// salvage copies what can still be read from a damaged file: queued records
// (with a good checksum), dead letters and state. Panics of bbolt on damaged
// pages end the salvage; what was copied by then stays.
func (s *Spool) salvage(path string) (n int, err error) {
	if err := precheck(path); err != nil {
		return 0, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt panicked: %v", p)
		}
	}()
	old, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	defer old.Close()
	return n, old.View(func(otx *bolt.Tx) error {
		return s.db.Update(func(tx *bolt.Tx) error {
			if ob := otx.Bucket(bucketState); ob != nil {
				st := tx.Bucket(bucketState)
				_ = ob.ForEach(func(k, v []byte) error { return st.Put(bytes.Clone(k), bytes.Clone(v)) })
			}
			if ob := otx.Bucket(bucketKeys); ob != nil {
				kb := tx.Bucket(bucketKeys)
				_ = ob.ForEach(func(k, v []byte) error { return kb.Put(bytes.Clone(k), bytes.Clone(v)) })
			}
			q := tx.Bucket(bucketQueue)
			if ob := otx.Bucket(bucketQueue); ob != nil {
				_ = ob.ForEach(func(_, v []byte) error {
					if _, _, ok := decodeQueueValue(v); !ok {
						return nil
					}
					seq, _ := q.NextSequence()
					n++
					return q.Put(u64(seq), bytes.Clone(v))
				})
			}
			if ob := otx.Bucket(bucketDead); ob != nil {
				d := tx.Bucket(bucketDead)
				_ = ob.ForEach(func(_, v []byte) error {
					seq, _ := d.NextSequence()
					return d.Put(u64(seq), bytes.Clone(v))
				})
			}
			return nil
		})
	})
}

func (s *Spool) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if f := m.Get(metaFormat); f != nil && string(f) != formatVersion {
			return fmt.Errorf("spool: buffer format %q is not supported by this version (%s)", f, formatVersion)
		}
		if err := m.Put(metaFormat, []byte(formatVersion)); err != nil {
			return err
		}
		inst := m.Get(metaInstance)
		if inst == nil {
			var b [6]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			inst = []byte(hex.EncodeToString(b[:]))
			if err := m.Put(metaInstance, inst); err != nil {
				return err
			}
		}
		s.instance = string(inst)
		return rekeyDefs(tx)
	})
}

func (s *Spool) recount() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var c counters
		err := tx.Bucket(bucketQueue).ForEach(func(_, v []byte) error {
			c.queued++
			c.queuedBytes += int64(len(v))
			return nil
		})
		if err != nil {
			return err
		}
		c.dead = tx.Bucket(bucketDead).Stats().KeyN
		s.statsMu.Lock()
		s.stats = c
		s.statsMu.Unlock()
		return nil
	})
}

// Instance is the random id of this buffer file, part of every batch id so
// that a fresh file never reuses an Idempotency-Key.
func (s *Spool) Instance() string { return s.instance }

// Path is the buffer file's path.
func (s *Spool) Path() string { return s.opts.Path }

// Close closes the file.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// update runs fn in a write transaction, maps a full disk or file to
// record.ErrFull, and turns a bbolt panic into an error.
func (s *Spool) update(fn func(tx *bolt.Tx) error) error {
	err := s.tx(true, fn)
	if err != nil && (errors.Is(err, bolterrors.ErrMaxSizeReached) || errors.Is(err, syscall.ENOSPC)) {
		return fmt.Errorf("%w (%v)", record.ErrFull, err)
	}
	return err
}

// view runs fn in a read transaction.
func (s *Spool) view(fn func(tx *bolt.Tx) error) error { return s.tx(false, fn) }

// tx runs fn in a transaction while the file is open (compaction swaps it
// under the write lock) and turns a bbolt panic on a damaged page into an
// error.
func (s *Spool) tx(write bool, fn func(tx *bolt.Tx) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errors.New("spool: closed")
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("spool: the buffer file looks damaged (bbolt: %v); restart the agent to set it aside", p)
		}
	}()
	if write {
		return s.db.Update(fn)
	}
	return s.db.View(fn)
}

// Value reads one state value (a cursor, a file's progress, a token); nil
// when absent.
func (s *Spool) Value(key StateKey) ([]byte, error) {
	var v []byte
	err := s.view(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketState).Get([]byte(key)))
		return nil
	})
	return v, err
}

// State and SetState make the spool the record.StateStore a source keeps its
// own state in (a rotated token): the source names its values with plain
// strings, which the leaf interface requires.

// State reads one state value named by a source; nil when absent.
func (s *Spool) State(name string) ([]byte, error) { return s.Value(StateKey(name)) }

// SetState writes state values named by a source alone (nil deletes), in one
// durable transaction.
func (s *Spool) SetState(values map[string][]byte) error {
	c := Change{State: make(map[StateKey][]byte, len(values))}
	for k, v := range values {
		c.State[StateKey(k)] = v
	}
	_, err := s.Commit(c)
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
