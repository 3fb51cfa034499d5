package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tmas/storeagent/agent"
)

// progress shows a backfill's advance. On a terminal it is a bar (the part
// of the window covered, when the importer says how far it has read, with
// an estimate of the time left); elsewhere (a log, a pipe, a service
// wrapper) it writes a plain line every plainEvery, and one at the end.
type progress struct {
	w            io.Writer
	since, until time.Time
	start        time.Time
	bar          *progressbar.ProgressBar // nil when w is not a terminal
	lastLine     time.Time
	shown        bool
	now          func() time.Time
}

const plainEvery = 10 * time.Second

// barSteps is the bar's resolution: the window is cut into this many steps.
const barSteps = 1000

func newProgress(w io.Writer, since, until time.Time) *progress {
	p := &progress{w: w, since: since, until: until, start: time.Now(), now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(barSteps,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetRenderBlankState(false),
		)
	}
	return p
}

// covered is the share of the window read so far, in bar steps; -1 when
// the importer does not say how far it has read.
func (p *progress) covered(pr agent.Progress) int64 {
	if pr.Reached.IsZero() || !p.until.After(p.since) {
		return -1
	}
	f := float64(pr.Reached.Sub(p.since)) / float64(p.until.Sub(p.since))
	return int64(math.Round(min(max(f, 0), 1) * barSteps))
}

// summary is the words beside the bar and in plain lines.
func (p *progress) summary(pr agent.Progress) string {
	s := fmt.Sprintf("%s..%s: %d records read (%d new) in %d pages", p.since.Format(time.DateOnly), p.until.Format(time.DateOnly), pr.Records, pr.Queued, pr.Pages)
	if !pr.Reached.IsZero() {
		s += ", read up to " + pr.Reached.In(p.since.Location()).Format("2006-01-02 15:04")
	}
	return s
}

func (p *progress) show(pr agent.Progress) {
	p.shown = true
	if p.bar != nil {
		p.bar.Describe(p.summary(pr))
		if n := p.covered(pr); n >= 0 {
			_ = p.bar.Set64(n)
		} else {
			_ = p.bar.Add(0)
		}
		return
	}
	now := p.now()
	if now.Sub(p.lastLine) < plainEvery {
		return
	}
	p.lastLine = now
	line := "backfill " + p.summary(pr)
	if n := p.covered(pr); n > 0 {
		elapsed := now.Sub(p.start)
		left := time.Duration(float64(elapsed) * float64(barSteps-n) / float64(n))
		line += fmt.Sprintf(", %d%% of the window, about %s left", n*100/barSteps, left.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

// done writes the last state; nothing when no page was ever read (an error
// before the first page is the caller's to print).
func (p *progress) done(pr agent.Progress) {
	if !p.shown && pr.Pages == 0 {
		return
	}
	status := "done"
	if !pr.Done {
		status = "stopped"
	}
	took := p.now().Sub(p.start).Round(time.Second)
	if p.bar != nil {
		p.bar.Describe(p.summary(pr))
		if pr.Done {
			_ = p.bar.Finish()
		}
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "backfill %s: %s, %s\n", status, p.summary(pr), took)
}
