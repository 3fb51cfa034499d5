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
	"sync"
	"time"
)

// Receiver is the reference headquarters. Its methods are safe for
// concurrent use. All it stores is in its Store; what it holds in memory is
// configuration, injected faults and request counters, so several Receivers
// on one PostgreSQL store answer alike.
type Receiver struct {
	cfg       Config
	log       *slog.Logger
	auth      *authn
	locations map[string]bool
	store     Store
	metrics   *metrics

	closeMu sync.RWMutex // held shared by each batch and report, exclusively by Close
	closed  bool
	done    chan struct{} // closed by Close, ends injected delays

	mu     sync.Mutex // guards the request counters
	dupes  int64
	resets int64
	codes  map[int]int64

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
// store (they survive a reopen, and count every Receiver on a shared store);
// the others count this Receiver's answers since New.
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

// New opens the store (Config.Store, or the bbolt file DBPath, created if
// needed) and returns a Receiver.
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
		auth:  newAuthn(cfg.Tokens, cfg.AgentTokens),
		store: cfg.Store,
	}
	if len(cfg.Locations) > 0 {
		r.locations = map[string]bool{}
		for _, l := range cfg.Locations {
			r.locations[l] = true
		}
	}
	switch {
	case r.store != nil:
	case cfg.DBPath != "":
		st, err := OpenBolt(cfg.DBPath)
		if err != nil {
			return nil, err
		}
		r.store = st
	default:
		r.store = NewMemoryStore()
	}
	r.metrics = newMetrics(r)
	return r, nil
}

// Close closes the store. Requests after Close are answered 503.
func (r *Receiver) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.done)
	return r.store.Close()
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

// Records returns every key at its highest rev, sorted by key. A store that
// cannot be read gives nil (and a log line): see ReadRecords.
func (r *Receiver) Records() []StoredRecord {
	out, err := r.ReadRecords(context.Background())
	if err != nil {
		r.log.Error("read records", "err", err)
	}
	return out
}

// ReadRecords returns every key at its highest rev, sorted by key.
func (r *Receiver) ReadRecords(ctx context.Context) ([]StoredRecord, error) {
	out, err := r.store.Records(ctx)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	for i := range out {
		dec := json.NewDecoder(bytes.NewReader(out[i].Line))
		dec.UseNumber()
		// The line was decoded as an object before it was stored.
		_ = dec.Decode(&out[i].Fields)
	}
	return out, nil
}

// Stats returns the counters (the store's zero when it cannot be read).
func (r *Receiver) Stats() Stats {
	t, err := r.store.Totals(context.Background())
	if err != nil {
		r.log.Error("read totals", "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		BatchesAccepted:  t.BatchesAccepted,
		LinesAccepted:    t.LinesAccepted,
		LinesIgnored:     t.LinesIgnored,
		RedeliveredLines: t.RedeliveredLines,
		Keys:             t.Keys,
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

// earlier answers a batch whose (agent, Idempotency-Key) was stored before:
// its counts when the lines are the same, 409 otherwise.
func (r *Receiver) earlier(idem, hash string, prev BatchInfo) outcome {
	if prev.Hash != hash {
		r.metrics.conflicts.Inc()
		return outcome{status: http.StatusConflict, err: fmt.Sprintf("Idempotency-Key %q was used before with different content", idem)}
	}
	r.mu.Lock()
	r.dupes++
	r.mu.Unlock()
	r.metrics.replays.Inc()
	return outcome{status: http.StatusOK, accepted: prev.Accepted, duplicates: prev.Duplicates, replay: true}
}

// submit decides a batch whose headers and body are already checked.
func (r *Receiver) submit(ctx context.Context, agent, idem string, lines [][]byte) outcome {
	h := sha256.New()
	for _, l := range lines {
		h.Write(l)
		h.Write([]byte{'\n'})
	}
	hash := hex.EncodeToString(h.Sum(nil))

	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return outcome{status: http.StatusServiceUnavailable, err: "headquarters is shutting down"}
	}
	unavailable := func(what string, err error) outcome {
		r.log.Error(what, "agent", agent, "batch", idem, "err", err)
		return outcome{status: http.StatusInternalServerError, err: "the batch could not be stored"}
	}
	if prev, ok, err := r.store.LookupBatch(ctx, agent, idem); err != nil {
		return unavailable("look up batch", err)
	} else if ok {
		return r.earlier(idem, hash, prev)
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
	recs := make([]Line, len(lines))
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
				problems[i], recs[i] = p, Line{Key: key, Rev: rev, Raw: bytes.Clone(lines[i])}
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
		r.metrics.rejectedLines.Add(float64(len(rejected)))
		return outcome{status: http.StatusUnprocessableEntity, rejected: rejected}
	}

	info, existed, err := r.store.Apply(ctx, NewBatch{Agent: agent, Idem: idem, Hash: hash, Lines: recs, At: time.Now()})
	if err != nil {
		return unavailable("store batch", err)
	}
	if existed {
		// Another Receiver on the same store took it meanwhile.
		return r.earlier(idem, hash, info)
	}
	r.metrics.batches.Inc()
	r.metrics.records.Add(float64(info.Accepted))
	return outcome{status: http.StatusOK, accepted: info.Accepted, duplicates: info.Duplicates}
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
