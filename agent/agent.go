// Package agent is the store agent's core: it owns the durable buffer, the
// forwarder, the watched inbox, the schedule of every POS source, and the
// facts that status, metrics and health show. Sources and the FTP endpoint
// are handed to it already built (cmd wires them); it runs them, commits what
// they produce, and stops them in reverse order.
//
// It must never acknowledge input before it is committed, never drop accepted
// data, and never keep running with a component silently dead: every
// component's failure is visible in Status and Health.
//
// It owns the names of its state in the buffer (state.go: cursorKey,
// backfillKey, fileKey, recentFilesKey, TokenKey) and the vocabulary of
// status: SourceState, Outcome, ComponentState, LogLevel, whose JSON is the
// plain strings the status API, the page and the report to headquarters
// carry. cmd reads the buffer through it (RecentFiles), never by key.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/forward"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/agent/statusreport"
)

// Component is a long-lived part handed to the agent (the FTP endpoint, the
// status server). Run returns when ctx is done, after its goroutines exited.
type Component interface {
	Run(ctx context.Context) error
}

// ComponentFunc adapts a function.
type ComponentFunc func(ctx context.Context) error

// Run calls f.
func (f ComponentFunc) Run(ctx context.Context) error { return f(ctx) }

// Options are the parts the agent is given.
type Options struct {
	Logger  *slog.Logger
	Version string
	Sources []Source
	// Folders to import from besides the configured inbox (FTP homes).
	Folders []Folder
	Now     func() time.Time
	// NoStartupSync waits for the schedule instead of running every source at
	// start-up (tests and demo).
	NoStartupSync bool
}

// Agent is one running store agent.
type Agent struct {
	cfg   *config.Config
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	spool *spool.Spool
	fwd   *forward.Forwarder
	rep   *statusreport.Reporter

	recovery *spool.Recovery
	started  time.Time
	runners  map[string]*sourceRunner

	fileMu sync.Mutex // one file import at a time

	mu         sync.Mutex
	sources    map[string]*SourceStatus
	files      []FileOutcome // newest first
	fileDay    []fileMark    // outcomes of the last 24 h, for the status report
	logEntries []LogEntry    // newest first
	today      map[string]int
	imported   map[string]int64 // records queued per source since start
	fileTotals map[string]int64 // staff-hours files per outcome since start
	todayDate  string
	components map[string]ComponentState
}

type fileMark struct {
	At      time.Time
	Outcome Outcome
}

// LogEntry is one line of the import log (the "Logs" tab of POS sync modules).
type LogEntry struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Level  LogLevel  `json:"level"`
	Text   string    `json:"text"`
}

const (
	keepFiles = 50
	keepLog   = 200
)

// New opens the buffer and builds the forwarder. A damaged buffer is set
// aside and reported (Status().Buffer.Recovery), never fatal.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Agent{
		cfg: cfg, opts: opts, log: opts.Logger, now: opts.Now,
		runners: map[string]*sourceRunner{}, sources: map[string]*SourceStatus{},
		today: map[string]int{}, components: map[string]ComponentState{},
		imported: map[string]int64{}, fileTotals: map[string]int64{},
	}
	sp, rec, err := spool.Open(spool.Options{Path: cfg.Buffer.Path, MaxSize: int64(cfg.Buffer.MaxSize), Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("open the buffer: %w", err)
	}
	a.spool, a.recovery = sp, rec
	if rec != nil {
		a.importLog("buffer", LogError, fmt.Sprintf("the buffer file was damaged (%s); it was set aside as %s and a fresh one started; %d queued records were salvaged", rec.Reason, rec.SetAside, rec.Salvaged))
	}
	a.fwd, err = forward.New(forward.Config{
		URL: cfg.Upstream.URL, Token: cfg.UpstreamToken, AgentID: cfg.Agent.ID,
		CAFile: cfg.Upstream.CAFile, Proxy: cfg.Upstream.Proxy,
		MaxLines: cfg.Upstream.BatchSize, MaxBytes: int(cfg.Upstream.BatchMax), MaxAge: cfg.Upstream.BatchAge.D(),
		Timeout: cfg.Upstream.Timeout.D(), UserAgent: "storeagent/" + opts.Version,
		MinBackoff: cfg.Upstream.RetryMin.D(), MaxBackoff: cfg.Upstream.RetryMax.D(), PausedRetry: max(cfg.Upstream.RetryMax.D(), time.Second),
		OnStateChange: a.changed,
	}, sp, opts.Logger)
	if err != nil {
		sp.Close()
		return nil, err
	}
	// Status reports travel like batches (same TLS roots and proxy) but on
	// their own transport and goroutine, so they never wait on a batch.
	tr, err := forward.Transport(cfg.Upstream.CAFile, cfg.Upstream.Proxy)
	if err != nil {
		sp.Close()
		return nil, err
	}
	a.rep = statusreport.New(statusreport.Config{
		URL: cfg.Upstream.URL, AgentID: cfg.Agent.ID, Token: cfg.UpstreamToken,
		Client:    &http.Client{Transport: tr, Timeout: time.Minute},
		UserAgent: "storeagent/" + opts.Version, Interval: cfg.Upstream.StatusInterval.D(),
		Snapshot: a.report, Logger: opts.Logger,
	})
	for _, s := range opts.Sources {
		sched, err := ParseSchedule(s.Schedule)
		if err != nil {
			sp.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		r := &sourceRunner{src: s, sched: sched, offset: offsetFor(cfg.Agent.ID, s.Name, s.Spread), kick: make(chan chan error)}
		a.runners[s.Name] = r
		a.sources[s.Name] = &SourceStatus{Name: s.Name, State: SourceNever, Schedule: s.Schedule, Offset: r.offset.Round(time.Second).String()}
	}
	a.loadRecent()
	return a, nil
}

// Spool gives the buffer to the parts of the program that read it (report,
// dead letters).
func (a *Agent) Spool() *spool.Spool { return a.spool }

// Forwarder gives the forwarder, for status and tests.
func (a *Agent) Forwarder() *forward.Forwarder { return a.fwd }

// Config returns the configuration the agent runs with.
func (a *Agent) Config() *config.Config { return a.cfg }

// Run runs everything until ctx is done, then stops the parts in reverse
// order of start (inputs first, so the pipeline drains into the buffer) and
// closes the buffer. It returns the first component failure, if any made the
// agent stop.
func (a *Agent) Run(ctx context.Context, extra map[string]Component) error {
	a.mu.Lock()
	a.started = a.now()
	a.mu.Unlock()
	defer a.spool.Close()
	if rec := a.recovery; rec != nil {
		a.log.Error("the buffer file was damaged at start-up and set aside; the agent continues with a fresh one",
			"set_aside", rec.SetAside, "reason", rec.Reason, "salvaged", rec.Salvaged)
	}
	if done, err := a.spool.Compact(64 << 20); errors.Is(err, spool.ErrReopen) {
		return err
	} else if err != nil {
		a.log.Warn("buffer compaction failed", "err", err)
	} else if done {
		a.log.Info("buffer compacted at start-up")
	}

	// Sinks first: the forwarder; then the inputs.
	fwdCtx, stopFwd := context.WithCancel(context.Background())
	var fwdWG sync.WaitGroup
	fwdWG.Add(1)
	go func() {
		defer fwdWG.Done()
		a.setComponent("forwarder", ComponentRunning)
		_ = a.fwd.Run(fwdCtx)
		a.setComponent("forwarder", ComponentStopped)
	}()
	defer func() {
		stopFwd()
		fwdWG.Wait()
	}()

	inCtx, stopInputs := context.WithCancel(ctx)
	defer stopInputs()
	var wg sync.WaitGroup
	failed := make(chan error, 1)
	start := func(name string, c Component) {
		wg.Add(1)
		a.setComponent(name, ComponentRunning)
		go func() {
			defer wg.Done()
			err := c.Run(inCtx)
			if err != nil && inCtx.Err() == nil {
				a.setComponent(name, componentFailed(err))
				a.log.Error("component stopped", "component", name, "err", err)
				select {
				case failed <- fmt.Errorf("%s: %w", name, err):
				default:
				}
				return
			}
			a.setComponent(name, ComponentStopped)
		}()
	}
	start("maintenance", ComponentFunc(a.maintain))
	start("status-report", ComponentFunc(a.rep.Run))
	folders := append([]Folder{{Dir: a.cfg.Inbox.Dir, Location: a.cfg.Inbox.Location, Origin: "inbox", Watch: a.cfg.Inbox.Watching()}}, a.opts.Folders...)
	start("inbox", ComponentFunc(func(ctx context.Context) error { return a.watchFolders(ctx, folders) }))
	for _, name := range slices.Sorted(maps.Keys(a.runners)) {
		r := a.runners[name]
		start("source:"+name, ComponentFunc(func(ctx context.Context) error { return a.runSource(ctx, r) }))
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		start(name, extra[name])
	}
	a.log.Info("agent running", "agent", a.cfg.Agent.ID, "version", a.opts.Version, "buffer", a.cfg.Buffer.Path, "sources", len(a.runners))

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	a.log.Info("agent stopping")
	stopInputs()
	wg.Wait()
	return err
}

// maintain forgets record keys older than buffer.key_retention (so the
// buffer's memory of delivered keys stays bounded) and compacts the buffer
// when it has drained.
func (a *Agent) maintain(ctx context.Context) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if a.now().Sub(lastPrune) >= 24*time.Hour {
				lastPrune = a.now()
				n, err := a.spool.PruneKeys(a.now().Add(-a.cfg.Buffer.KeyRetention.D()), 10000)
				if err != nil {
					a.log.Warn("forgetting old record keys failed", "err", err)
				} else if n > 0 {
					a.log.Info("forgot old record keys", "keys", n, "older_than", a.cfg.Buffer.KeyRetention.D())
				}
			}
			if _, err := a.spool.Compact(64 << 20); errors.Is(err, spool.ErrReopen) {
				return err // the agent stops, unhealthy, and its service manager restarts it
			} else if err != nil {
				a.log.Warn("buffer compaction failed", "err", err)
			}
		}
	}
}

func (a *Agent) setComponent(name string, state ComponentState) {
	a.mu.Lock()
	a.components[name] = state
	a.mu.Unlock()
	a.changed()
}

// changed tells the status reporter to look at the health verdict again
// (it reports at once when the verdict changed). It never blocks.
func (a *Agent) changed() {
	if a.rep != nil {
		a.rep.Changed()
	}
}

func (a *Agent) setSource(name string, fn func(*SourceStatus)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sources[name]
	if !ok {
		s = &SourceStatus{Name: name}
		a.sources[name] = s
	}
	fn(s)
}

func (a *Agent) sourceStatus(name string) SourceStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.sources[name]; ok {
		return *s
	}
	return SourceStatus{}
}

// countImported adds to today's per-source count of queued records.
func (a *Agent) countImported(source string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rollToday()
	a.today[source] += n
	a.imported[source] += int64(n)
}

func (a *Agent) rollToday() {
	if d := a.now().In(a.cfg.AgentZone()).Format(time.DateOnly); d != a.todayDate {
		a.todayDate, a.today = d, map[string]int{}
	}
}

func (a *Agent) importLog(source string, level LogLevel, text string) {
	a.mu.Lock()
	a.logEntries = append([]LogEntry{{At: a.now().UTC(), Source: source, Level: level, Text: text}}, a.logEntries...)
	if len(a.logEntries) > keepLog {
		a.logEntries = a.logEntries[:keepLog]
	}
	a.mu.Unlock()
}

// noteFile records a file's outcome in memory and in the buffer, so status
// still shows recent files after a restart.
func (a *Agent) noteFile(o FileOutcome) {
	a.mu.Lock()
	a.fileTotals[string(o.Outcome)]++
	a.files = append([]FileOutcome{o}, a.files...)
	a.fileDay = append(a.fileDay, fileMark{o.At, o.Outcome})
	if len(a.files) > keepFiles {
		a.files = a.files[:keepFiles]
	}
	raw, _ := json.Marshal(a.files)
	a.mu.Unlock()
	level := LogError
	if o.Outcome.OK() {
		level = LogOK
	}
	a.importLog("csv", level, fmt.Sprintf("%s (%s): %s, %d shifts, %d queued %s", o.Name, o.Origin, o.Outcome, o.Records, o.Queued, o.Detail))
	if _, err := a.spool.Commit(spool.Change{State: map[spool.StateKey][]byte{recentFilesKey: raw}}); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("could not save the recent files list", "err", err)
	}
}

func (a *Agent) loadRecent() {
	a.files = RecentFiles(a.spool)
	for i := len(a.files) - 1; i >= 0; i-- {
		a.fileDay = append(a.fileDay, fileMark{a.files[i].At, a.files[i].Outcome})
	}
}
