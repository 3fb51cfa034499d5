package receiver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Receiver is the reference headquarters. Its methods are safe for
// concurrent use.
type Receiver struct {
	cfg       Config
	log       *slog.Logger
	tokens    [][sha256.Size]byte
	locations map[string]bool
	db        *bolt.DB // nil when in memory

	mu     sync.Mutex // guards st, closed and the request counters
	st     *state
	closed bool
	dupes  int64
	resets int64
	codes  map[int]int64
	done   chan struct{} // closed by Close, ends injected delays

	faultMu sync.Mutex
	faults  Faults
}

// StoredRecord is one key as headquarters holds it: the line with the
// highest rev.
type StoredRecord struct {
	Key  string          `json:"key"`
	Rev  int64           `json:"rev"`
	Line json.RawMessage `json:"line"`
	// Fields is Line decoded, numbers as json.Number.
	Fields  map[string]any `json:"-"`
	AgentID string         `json:"agent_id"`
	Batch   string         `json:"batch"` // Idempotency-Key of the batch that stored this rev
	// Redelivered counts lines of this key that arrived with a rev already
	// carried by another stored batch (an agent sending a revision twice
	// under different batch ids).
	Redelivered int64 `json:"redelivered"`
}

// Stats are the receiver's counters. The first five live as long as the
// store (they survive a reopen of DBPath); the others count since New.
type Stats struct {
	BatchesAccepted  int64 `json:"batches_accepted"`  // batches stored under a new Idempotency-Key
	LinesAccepted    int64 `json:"lines_accepted"`    // lines that stored a new key or a higher rev
	LinesIgnored     int64 `json:"lines_ignored"`     // lines with a rev lower than or equal to the stored one
	RedeliveredLines int64 `json:"redelivered_lines"` // lines whose key and rev another stored batch carried
	Keys             int64 `json:"keys"`              // distinct record keys stored

	DuplicateBatches int64         `json:"duplicate_batches"` // replays of a stored batch answered with its counts
	Resets           int64         `json:"resets"`            // connections reset by the ResetAfterStore fault
	Responses        map[int]int64 `json:"responses"`         // answers by HTTP status (4xx included)
}

// New opens the store (creating DBPath if needed) and returns a Receiver.
func New(cfg Config) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("receiver config: %w", err)
	}
	cfg.setDefaults()
	r := &Receiver{
		cfg:   cfg,
		log:   cfg.Logger,
		codes: map[int]int64{},
		done:  make(chan struct{}),
		st:    newState(),
	}
	for _, t := range cfg.Tokens {
		r.tokens = append(r.tokens, sha256.Sum256([]byte(t)))
	}
	if len(cfg.Locations) > 0 {
		r.locations = map[string]bool{}
		for _, l := range cfg.Locations {
			r.locations[l] = true
		}
	}
	if cfg.DBPath != "" {
		db, st, err := openDB(cfg.DBPath)
		if err != nil {
			return nil, err
		}
		r.db, r.st = db, st
	}
	return r, nil
}

// Close closes the store. Requests after Close are answered 503.
func (r *Receiver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.done)
	if r.db != nil {
		if err := r.db.Close(); err != nil {
			return fmt.Errorf("close store: %w", err)
		}
	}
	return nil
}

// Run serves the API on ln until ctx is done, then shuts the server down
// (waiting up to five seconds for requests in flight). It does not Close the
// Receiver. Cancellation is not an error.
func (r *Receiver) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
		// Requests see the server's context, so injected delays end at shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("shutdown: %w", err), srv.Close())
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	return err
}

// Records returns every key at its highest rev, sorted by key.
func (r *Receiver) Records() []StoredRecord {
	r.mu.Lock()
	out := make([]StoredRecord, 0, len(r.st.records))
	for k, e := range r.st.records {
		out = append(out, StoredRecord{
			Key: k, Rev: e.Rev, Line: bytes.Clone(e.Line), AgentID: e.Agent, Batch: e.Batch,
			Redelivered: e.redelivered(),
		})
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for i := range out {
		dec := json.NewDecoder(bytes.NewReader(out[i].Line))
		dec.UseNumber()
		// The line was decoded as an object before it was stored.
		_ = dec.Decode(&out[i].Fields)
	}
	return out
}

// Stats returns the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.st.totals
	return Stats{
		BatchesAccepted:  t.BatchesAccepted,
		LinesAccepted:    t.LinesAccepted,
		LinesIgnored:     t.LinesIgnored,
		RedeliveredLines: t.RedeliveredLines,
		Keys:             int64(len(r.st.records)),
		DuplicateBatches: r.dupes,
		Resets:           r.resets,
		Responses:        maps.Clone(r.codes),
	}
}

func (r *Receiver) count(status int) {
	r.mu.Lock()
	r.codes[status]++
	r.mu.Unlock()
}

// outcome is the answer to a batch.
type outcome struct {
	status     int
	accepted   int
	duplicates int
	replay     bool
	rejected   []rejection
	err        string // for 4xx/5xx other than 422
}

type rejection struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// submit decides a batch whose headers and body are already checked. It
// holds the store lock throughout, so batches are applied one at a time.
func (r *Receiver) submit(agent, idem string, lines [][]byte) outcome {
	h := sha256.New()
	for _, l := range lines {
		h.Write(l)
		h.Write([]byte{'\n'})
	}
	hash := hex.EncodeToString(h.Sum(nil))
	bkey := batchID(agent, idem)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return outcome{status: http.StatusServiceUnavailable, err: "headquarters is shutting down"}
	}
	if prev, ok := r.st.batches[bkey]; ok {
		if prev.Hash != hash {
			return outcome{status: http.StatusConflict, err: fmt.Sprintf("Idempotency-Key %q was used before with different content", idem)}
		}
		r.dupes++
		return outcome{status: http.StatusOK, accepted: prev.Accepted, duplicates: prev.Duplicates, replay: true}
	}

	f := r.Faults()
	maxLines := r.cfg.MaxLines
	if f.MaxLines > 0 && f.MaxLines < maxLines {
		maxLines = f.MaxLines
	}
	if len(lines) > maxLines {
		return outcome{status: http.StatusRequestEntityTooLarge, err: fmt.Sprintf("the batch has %d lines, more than %d", len(lines), maxLines)}
	}

	v := &validator{locations: r.locations, reject: f.RejectKeys}
	type parsed struct {
		key string
		rev int64
	}
	recs := make([]parsed, len(lines))
	problems := make([][]string, len(lines))
	decodeErrs := make([]error, len(lines))
	// Lines are decoded and checked on every core; what each line gets is
	// kept by its index, so the answer is the same as line by line.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(lines)/500))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				val, err := decodeLine(lines[i])
				if err != nil {
					decodeErrs[i] = err
					continue
				}
				key, rev, p := v.check(val)
				problems[i], recs[i] = p, parsed{key, rev}
			}
		}()
	}
	wg.Wait()
	var rejected []rejection
	for i := range lines {
		if decodeErrs[i] != nil {
			return outcome{status: http.StatusBadRequest, err: fmt.Sprintf("line %d is not JSON: %v", i+1, decodeErrs[i])}
		}
		if len(problems[i]) > 0 {
			rejected = append(rejected, rejection{Line: i + 1, Error: joinProblems(problems[i])})
		}
	}
	if len(rejected) > 0 {
		return outcome{status: http.StatusUnprocessableEntity, rejected: rejected}
	}

	c := &change{batchKey: bkey, records: map[string]entry{}, totals: r.st.totals}
	seenHere := map[string]map[int64]bool{}
	accepted, dupes := 0, 0
	for i, p := range recs {
		e, ok := c.records[p.key]
		if !ok {
			if e, ok = r.st.records[p.key]; ok {
				e.Seen = maps.Clone(e.Seen)
			}
		}
		if e.Seen == nil {
			e.Seen = map[int64]int64{}
		}
		if !seenHere[p.key][p.rev] {
			if seenHere[p.key] == nil {
				seenHere[p.key] = map[int64]bool{}
			}
			seenHere[p.key][p.rev] = true
			if e.Seen[p.rev] > 0 {
				c.totals.RedeliveredLines++
			}
			e.Seen[p.rev]++
		}
		if ok && p.rev <= e.Rev {
			dupes++
		} else {
			accepted++
			e.Rev, e.Line, e.Agent, e.Batch = p.rev, json.RawMessage(bytes.Clone(lines[i])), agent, idem
		}
		c.records[p.key] = e
	}
	c.batch = batchEntry{Hash: hash, Accepted: accepted, Duplicates: dupes, StoredAt: time.Now().UTC()}
	c.totals.BatchesAccepted++
	c.totals.LinesAccepted += int64(accepted)
	c.totals.LinesIgnored += int64(dupes)
	if r.db != nil {
		if err := persist(r.db, c); err != nil {
			r.log.Error("store batch", "agent", agent, "batch", idem, "err", err)
			return outcome{status: http.StatusInternalServerError, err: "the batch could not be stored"}
		}
	}
	r.st.apply(c)
	return outcome{status: http.StatusOK, accepted: accepted, duplicates: dupes}
}

func joinProblems(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}
