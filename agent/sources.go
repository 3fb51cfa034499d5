package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Importer is what the agent needs of a POS source: one page per call, from
// a cursor the agent keeps and commits with the page's records.
type Importer interface {
	Fetch(ctx context.Context, cursor []byte) (record.Page, error)
}

// Backfiller is an importer that can re-read a past window.
type Backfiller interface {
	BackfillCursor(since, until time.Time) ([]byte, error)
}

// Source is a configured POS source with its schedule.
type Source struct {
	Name     string
	Importer Importer
	Schedule string        // cron expression
	Spread   time.Duration // per-agent random offset range
}

// SourceStatus is what status shows of a source.
type SourceStatus struct {
	Name          string      `json:"name"`
	State         SourceState `json:"state"`
	LastRun       time.Time   `json:"last_run,omitzero"`
	LastSuccess   time.Time   `json:"last_success,omitzero"`
	NextRun       time.Time   `json:"next_run,omitzero"`
	LastError     string      `json:"last_error,omitempty"`
	LastErrorAt   time.Time   `json:"last_error_at,omitzero"`
	RecordsToday  int         `json:"records_today"`
	LastRunPages  int         `json:"last_run_pages"`
	LastRunQueued int         `json:"last_run_queued"`
	Schedule      string      `json:"schedule,omitempty"`
	Offset        string      `json:"offset,omitempty"`
	Backfill      *Progress   `json:"backfill,omitempty"`
	Failures      int         `json:"consecutive_failures"`
	Runs          int64       `json:"runs"`             // runs finished since the agent started
	FailedRuns    int64       `json:"failed_runs"`      // of which failed
	Imported      int64       `json:"records_imported"` // records queued since the agent started
	// CredentialsRefused: the last run failed because the POS refused the
	// agent's credentials (record.ErrCredentials). Retrying cannot fix that,
	// so the source is unhealthy at once, not after stuckSourceRuns runs.
	CredentialsRefused bool `json:"credentials_refused,omitempty"`
}

// Progress of a running backfill or sync.
type Progress struct {
	Pages   int       `json:"pages"`
	Records int       `json:"records"`
	Queued  int       `json:"queued"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Reached time.Time `json:"reached,omitzero"` // how far the window is read, when the importer says
	Done    bool      `json:"done"`
	Error   string    `json:"error,omitempty"`
}

type sourceRunner struct {
	src    Source
	sched  cron.Schedule
	offset time.Duration
	mu     sync.Mutex // one run at a time
	kick   chan chan error
}

// ScheduleOffset is the offset the agent adds to a source's schedule: for
// simulations of a fleet (the receiver's fleet benchmark).
func ScheduleOffset(agentID, source string, spread time.Duration) time.Duration {
	return offsetFor(agentID, source, spread)
}

// offsetFor spreads agents over the spread window, stably per agent and source.
func offsetFor(agentID, source string, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(agentID + "/" + source))
	return time.Duration(h.Sum64() % uint64(spread))
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a cron expression ("2 * * * *", "@hourly").
func ParseSchedule(expr string) (cron.Schedule, error) {
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}

// nextRun is the schedule's next time after now, shifted by the offset.
func (r *sourceRunner) nextRun(now time.Time) time.Time {
	return r.sched.Next(now.Add(-r.offset)).Add(r.offset)
}

// sourceRetry is the wait after a failed run: a minute, doubling, at most
// half an hour (or the next scheduled run, if sooner).
var sourceRetry = retry.Backoff{Base: time.Minute, Max: 30 * time.Minute}

// runSource runs a source at start-up (the cursor makes it catch up the
// whole gap since the last run), then on its schedule and on request.
func (a *Agent) runSource(ctx context.Context, r *sourceRunner) error {
	next := a.now()
	if a.opts.NoStartupSync {
		next = r.nextRun(a.now())
	}
	for {
		a.setSource(r.src.Name, func(s *SourceStatus) { s.NextRun = next })
		a.changed() // after a run: its outcome and next run are both in place
		wait := time.Until(next)
		t := time.NewTimer(max(wait, 0))
		var reply chan error
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case reply = <-r.kick:
			t.Stop()
		case <-t.C:
		}
		err := a.syncSource(ctx, r)
		if reply != nil {
			reply <- err
		}
		if ctx.Err() != nil {
			return nil
		}
		next = r.nextRun(a.now())
		if err != nil && !errors.Is(err, record.ErrFull) {
			// A failed run is retried sooner than the next hour, with back-off.
			fails := a.sourceStatus(r.src.Name).Failures
			if n := a.now().Add(sourceRetry.Delay(fails)); n.Before(next) {
				next = n
			}
		}
		if errors.Is(err, record.ErrFull) {
			next = a.now().Add(time.Minute)
		}
	}
}

// SyncNow asks a source to run now and waits for the run to finish.
func (a *Agent) SyncNow(ctx context.Context, name string) error {
	r, ok := a.runners[name]
	if !ok {
		return a.unknownSource(name)
	}
	reply := make(chan error, 1)
	select {
	case r.kick <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// syncSource fetches pages until the importer says there are no more,
// committing each page's records with its cursor.
func (a *Agent) syncSource(ctx context.Context, r *sourceRunner) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := r.src.Name
	start := a.now()
	log := a.log.With("source", name)
	a.setSource(name, func(s *SourceStatus) { s.State, s.LastRun = SourceRunning, start })
	p, err := a.pump(ctx, name, r.src.Importer, cursorKey(name), nil, nil)
	if ctx.Err() != nil {
		a.setSource(name, func(s *SourceStatus) { s.State = SourceInterrupted })
		return ctx.Err()
	}
	a.setSource(name, func(s *SourceStatus) {
		s.LastRunPages, s.LastRunQueued = p.Pages, p.Queued
		s.Runs++
		if err != nil {
			s.FailedRuns++
		}
		s.CredentialsRefused = errors.Is(err, record.ErrCredentials)
		switch {
		case errors.Is(err, record.ErrFull):
			s.State, s.LastError, s.LastErrorAt = SourcePaused, "polling paused: "+err.Error(), a.now()
		case err != nil:
			s.State, s.LastError, s.LastErrorAt = SourceError, a.redact(err.Error()), a.now()
			s.Failures++
		default:
			s.State, s.LastSuccess, s.LastError, s.Failures = SourceOK, a.now(), "", 0
		}
	})
	if err != nil {
		a.importLog(name, LogError, a.redact(err.Error()))
		log.Error("source run failed", "err", a.redact(err.Error()))
	} else {
		a.importLog(name, LogOK, fmt.Sprintf("%d pages, %d records queued", p.Pages, p.Queued))
		log.Info("source run done", "pages", p.Pages, "queued", p.Queued, "took", a.now().Sub(start).Round(time.Millisecond))
	}
	return err
}

// pump is the one loop that moves an importer's pages into the spool, under
// the state name that holds its cursor. first, when set, is the cursor to
// start from if none is stored (a backfill window).
func (a *Agent) pump(ctx context.Context, source string, imp Importer, state spool.StateKey, first []byte, progress func(Progress)) (Progress, error) {
	var p Progress
	var notes runNotes
	defer func() { notes.log(a, source) }()
	cursor, err := a.spool.Value(state)
	if err != nil {
		return p, err
	}
	if cursor == nil {
		cursor = first
	}
	for {
		if a.spool.Full() {
			return p, record.ErrFull
		}
		page, err := imp.Fetch(ctx, cursor)
		if err != nil {
			return p, err
		}
		res, err := a.spool.Commit(spool.Change{Records: page.Records, State: map[spool.StateKey][]byte{state: page.Cursor}})
		if err != nil {
			return p, err
		}
		notes.add(page)
		cursor = page.Cursor
		p.Pages++
		p.Records += len(page.Records)
		p.Queued += res.Queued
		if !page.Reached.IsZero() {
			p.Reached = page.Reached
		}
		a.countImported(source, res.Queued)
		if res.Queued > 0 {
			a.fwd.Wake()
		}
		if progress != nil {
			progress(p)
		}
		if !page.More {
			return p, nil
		}
	}
}

// runNotes gathers a run's notes, so that each is logged once per run
// however many pages repeat it, with the counts of counted notes added up.
type runNotes struct {
	order  []string
	seen   map[string]bool
	counts map[string]int
}

func (n *runNotes) add(page record.Page) {
	if n.seen == nil {
		n.seen, n.counts = map[string]bool{}, map[string]int{}
	}
	for _, t := range page.Notes {
		if !n.seen[t] {
			n.seen[t] = true
			n.order = append(n.order, t)
		}
	}
	for _, c := range page.Counted {
		key := "\x00" + c.Text
		if !n.seen[key] {
			n.seen[key] = true
			n.order = append(n.order, key)
		}
		n.counts[key] += c.Count
	}
}

func (n *runNotes) log(a *Agent, source string) {
	for _, t := range n.order {
		if c, ok := n.counts[t]; ok {
			t = strconv.Itoa(c) + " " + t[1:]
		}
		a.importLog(source, LogNote, t)
	}
}

// Backfill re-reads a past window of a source, reporting progress. It is
// idempotent: records are keyed, and unchanged ones are not queued again.
// The window's cursor is kept apart from the regular one, so a backfill
// interrupted by a stop resumes at the next call with the same window.
func (a *Agent) Backfill(ctx context.Context, name string, since, until time.Time, progress func(Progress)) (Progress, error) {
	r, ok := a.runners[name]
	if !ok {
		return Progress{}, a.unknownSource(name)
	}
	bf, ok := r.src.Importer.(Backfiller)
	if !ok {
		return Progress{}, fmt.Errorf("source %s cannot backfill", name)
	}
	first, err := bf.BackfillCursor(since, until)
	if err != nil {
		return Progress{}, err
	}
	state := backfillKey(name, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	r.mu.Lock()
	defer r.mu.Unlock()
	report := func(p Progress) {
		p.Since, p.Until = since, until
		a.setSource(name, func(s *SourceStatus) { s.Backfill = &p })
		if progress != nil {
			progress(p)
		}
	}
	p, err := a.pump(ctx, name, r.src.Importer, state, first, report)
	p.Since, p.Until, p.Done = since, until, err == nil
	if err != nil {
		p.Error = a.redact(err.Error())
	} else {
		// Finished: forget the window's cursor so a new backfill starts afresh.
		_, _ = a.spool.Commit(spool.Change{State: map[spool.StateKey][]byte{state: nil}})
	}
	report(p)
	a.importLog(name, levelOf(err), fmt.Sprintf("backfill %s..%s: %d pages, %d records queued", since.Format(time.DateOnly), until.Format(time.DateOnly), p.Pages, p.Queued))
	return p, err
}

// SyncOnce runs a source now in the calling goroutine, for the command line
// when the agent is not running as a service.
func (a *Agent) SyncOnce(ctx context.Context, name string) error {
	r, ok := a.runners[name]
	if !ok {
		return a.unknownSource(name)
	}
	return a.syncSource(ctx, r)
}

// UnknownSourceError: a command named a source that is not configured (or
// none is). The command line answers it with exit code 2, the local API
// with 404.
type UnknownSourceError struct {
	Name       string   // what was asked for; empty when no name was given
	Configured []string // the sources that are configured
}

func (e *UnknownSourceError) Error() string {
	switch {
	case len(e.Configured) == 0:
		return "no POS source is configured: add a shopify, vend or woocommerce section to the configuration"
	case e.Name == "":
		return "name a source: " + strings.Join(e.Configured, ", ")
	default:
		return fmt.Sprintf("no source %q is configured (configured: %s)", e.Name, strings.Join(e.Configured, ", "))
	}
}

func (a *Agent) unknownSource(name string) error {
	return &UnknownSourceError{Name: name, Configured: slices.Sorted(maps.Keys(a.runners))}
}

// SourceNames lists the configured sources.
func (a *Agent) SourceNames() []string { return slices.Sorted(maps.Keys(a.runners)) }

// secretPatterns find credentials that an error text may carry despite the
// importers' care: a bearer token, a key=value credential (query strings,
// form bodies, JSON), a Shopify token, the user info of a URL.
var secretPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+`), "${1}[redacted]"},
	{regexp.MustCompile(`(?i)\b((?:access_token|refresh_token|client_secret|api_key|apikey|password|passwd|secret|token)"?\s*[=:]\s*"?)[^\s&"',;)]+`), "${1}[redacted]"},
	{regexp.MustCompile(`\bshp(?:at|ca|pa|ss|ua)_[0-9A-Za-z]{16,}`), "[redacted]"},
	{regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@`), "${1}[redacted]@"},
}

// redact removes credentials from a text bound for status, the health
// report sent to headquarters, or the log: the agent's own upstream token
// wherever it appears, and anything shaped like a credential.
func (a *Agent) redact(s string) string {
	if tok := a.cfg.UpstreamToken.Reveal(); len(tok) >= 6 {
		s = strings.ReplaceAll(s, tok, "[redacted]")
	}
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}
