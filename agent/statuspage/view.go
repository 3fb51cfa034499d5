package statuspage

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/forward"
)

// view is agent.Status made ready to print: every time, size and count is
// formatted here, so the template only places text (which html/template
// escapes).
type view struct {
	Title     string
	Refresh   int
	Agent     string
	Version   string
	Uptime    string
	Started   timeCell
	Generated timeCell
	Healthy   bool
	Problems  []string
	Recovery  *recoveryView
	Sources   []sourceView
	Buffer    bufferView
	Forwarder forwarderView
	Parts     []partView
	Files     []fileView
	Log       []logView
}

// timeCell is one instant: its machine form for <time datetime>, its text
// and how long ago (or in how long) it is from the snapshot's now.
type timeCell struct {
	Zero  bool
	Empty string // shown when Zero: "never", "not scheduled"…
	ISO   string
	Text  string
	Rel   string
}

type recoveryView struct {
	SetAside string
	Reason   string
	Salvaged string
	At       timeCell
}

type sourceView struct {
	Name         string
	State        string
	Class        string
	LastRun      timeCell
	LastSuccess  timeCell
	NextRun      timeCell
	LastError    string
	LastErrorAt  timeCell
	RecordsToday string
	Failures     int
	LastRunPages string
	LastQueued   string
	Schedule     string
	Offset       string
	Backfill     *backfillView
}

type backfillView struct {
	Since   timeCell
	Until   timeCell
	Pages   string
	Records string
	Queued  string
	State   string // running, done, failed
	Class   string
	Error   string
}

type bufferView struct {
	Records   string
	Bytes     string
	OldestAge string
	Oldest    timeCell
	FileSize  string
	MaxSize   string
	Fill      string // "0.1%" of the limit, "" when unlimited
	Full      bool
	Dead      string
	HasDead   bool
	Path      string
}

type forwarderView struct {
	State        string
	Class        string
	LastDelivery timeCell
	LastError    string
	LastErrorAt  timeCell
	NextAttempt  timeCell
	Failures     int
	Batches      string
	Records      string
	Duplicates   string
	DeadLettered string
	Requests     string
	BytesSent    string
	Responses    []codeCount
}

type codeCount struct {
	Code  string
	Count string
	Class string
}

type partView struct {
	Name  string
	State string
	Class string
}

type fileView struct {
	At       timeCell
	Name     string
	Origin   string
	Location string
	Outcome  string
	Class    string
	Records  string
	Queued   string
	Detail   string
}

type logView struct {
	At     timeCell
	Source string
	Level  string
	Class  string
	Text   string
}

// newView prepares st for the template. wall is the clock used only when the
// snapshot carries no time of its own.
func newView(st agent.Status, wall time.Time) view {
	now := st.Now
	if now.IsZero() {
		now = wall
	}
	at := func(t time.Time, empty string) timeCell { return newTimeCell(t, now, empty) }
	v := view{
		Refresh:   RefreshSeconds,
		Agent:     st.Agent,
		Version:   st.Version,
		Uptime:    "not started",
		Started:   at(st.Started, "not started"),
		Generated: at(now, ""),
		Healthy:   st.Healthy,
		Problems:  st.Problems,
	}
	if v.Agent == "" {
		v.Agent = "(no agent id)"
	}
	if v.Version == "" {
		v.Version = "unknown"
	}
	if !st.Started.IsZero() {
		v.Uptime = human(now.Sub(st.Started))
	}
	health := "healthy"
	if !st.Healthy {
		health = plural(len(st.Problems), "problem", "problems")
		if len(st.Problems) == 0 {
			health = "unhealthy"
		}
	}
	v.Title = v.Agent + " · " + health + " — storeagent"

	if r := st.Buffer.Recovery; r != nil {
		v.Recovery = &recoveryView{SetAside: r.SetAside, Reason: r.Reason, Salvaged: countOf(int64(r.Salvaged), "queued record was", "queued records were"), At: at(r.At, "at start-up")}
	}
	for _, s := range st.Sources {
		sv := sourceView{
			Name: s.Name, State: string(s.State), Class: sourceClass(s.State),
			LastRun:      at(s.LastRun, "never"),
			LastSuccess:  at(s.LastSuccess, "never"),
			NextRun:      at(s.NextRun, "not scheduled"),
			LastError:    s.LastError,
			LastErrorAt:  at(s.LastErrorAt, ""),
			RecordsToday: count(int64(s.RecordsToday)),
			Failures:     s.Failures,
			LastRunPages: countOf(int64(s.LastRunPages), "page", "pages"),
			LastQueued:   countOf(int64(s.LastRunQueued), "record", "records"),
			Schedule:     s.Schedule,
			Offset:       s.Offset,
		}
		if sv.State == "" {
			sv.State = "unknown"
		}
		if b := s.Backfill; b != nil {
			bv := &backfillView{
				Since: at(b.Since, "the start"), Until: at(b.Until, "now"),
				Pages: countOf(int64(b.Pages), "page", "pages"), Records: countOf(int64(b.Records), "record", "records"), Queued: count(int64(b.Queued)),
				State: "running", Class: "info", Error: b.Error,
			}
			switch {
			case b.Error != "":
				bv.State, bv.Class = "failed", "bad"
			case b.Done:
				bv.State, bv.Class = "done", "good"
			}
			sv.Backfill = bv
		}
		v.Sources = append(v.Sources, sv)
	}

	b := st.Buffer
	v.Buffer = bufferView{
		Records:   count(int64(b.Queued)),
		Bytes:     bytesText(b.QueuedBytes),
		OldestAge: "none waiting",
		Oldest:    at(b.Oldest, "none waiting"),
		FileSize:  bytesText(b.FileBytes),
		MaxSize:   "no limit",
		Full:      b.Full,
		Dead:      countOf(int64(b.Dead), "record", "records"),
		HasDead:   b.Dead > 0,
		Path:      b.Path,
	}
	if !b.Oldest.IsZero() {
		v.Buffer.OldestAge = human(now.Sub(b.Oldest))
	}
	if b.MaxBytes > 0 {
		v.Buffer.MaxSize = bytesText(b.MaxBytes)
		permille := b.FileBytes * 1000 / b.MaxBytes
		v.Buffer.Fill = fmt.Sprintf("%d.%d%%", permille/10, permille%10)
	}

	f := st.Forwarder
	v.Forwarder = forwarderView{
		State: string(f.State), Class: forwarderClass(f.State),
		LastDelivery: at(f.LastDelivery, "never"),
		LastError:    f.LastError,
		LastErrorAt:  at(f.LastErrorAt, ""),
		NextAttempt:  at(f.NextAttempt, "none planned"),
		Failures:     f.Failures,
		Batches:      countOf(f.Batches, "batch", "batches"),
		Records:      countOf(f.Records, "record", "records"),
		Duplicates:   countOf(f.Duplicates, "record", "records"),
		DeadLettered: countOf(f.DeadLettered, "record", "records"),
		Requests:     count(f.Requests),
		BytesSent:    bytesText(f.BytesSent),
	}
	if v.Forwarder.State == "" {
		v.Forwarder.State = "unknown"
	}
	for _, code := range sortedCodes(f.ResponsesByCode) {
		v.Forwarder.Responses = append(v.Forwarder.Responses, codeCount{Code: code, Count: count(f.ResponsesByCode[code]), Class: codeClass(code)})
	}

	for _, name := range slices.Sorted(maps.Keys(st.Components)) {
		state := st.Components[name]
		v.Parts = append(v.Parts, partView{Name: name, State: string(state), Class: componentClass(state)})
	}

	files := slices.Clone(st.Files)
	slices.SortStableFunc(files, func(a, b agent.FileOutcome) int { return b.At.Compare(a.At) })
	for _, fo := range files {
		v.Files = append(v.Files, fileView{
			At: at(fo.At, ""), Name: fo.Name, Origin: fo.Origin, Location: fo.Location,
			Outcome: string(fo.Outcome), Class: outcomeClass(fo.Outcome),
			Records: count(int64(fo.Records)), Queued: count(int64(fo.Queued)), Detail: fo.Detail,
		})
	}
	entries := slices.Clone(st.Log)
	slices.SortStableFunc(entries, func(a, b agent.LogEntry) int { return b.At.Compare(a.At) })
	for _, e := range entries {
		v.Log = append(v.Log, logView{At: at(e.At, ""), Source: e.Source, Level: string(e.Level), Class: levelClass(e.Level), Text: e.Text})
	}
	return v
}

func newTimeCell(t, now time.Time, empty string) timeCell {
	if t.IsZero() {
		return timeCell{Zero: true, Empty: empty}
	}
	return timeCell{
		ISO:  t.UTC().Format(time.RFC3339),
		Text: t.UTC().Format("2006-01-02 15:04:05 UTC"),
		Rel:  relative(t, now),
	}
}

// relative says how far t is from now: "3m 20s ago", "in 58m", "just now".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d >= time.Second:
		return human(d) + " ago"
	case d <= -time.Second:
		return "in " + human(-d)
	}
	return "just now"
}

// human writes a duration the way people read it, with its two largest
// units: "45s", "3m 20s", "2h 5m", "3d 4h".
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	s := int64(d.Round(time.Second) / time.Second)
	two := func(a int64, ua string, b int64, ub string) string {
		if b == 0 {
			return strconv.FormatInt(a, 10) + ua
		}
		return strconv.FormatInt(a, 10) + ua + " " + strconv.FormatInt(b, 10) + ub
	}
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return two(s/60, "m", s%60, "s")
	case s < 86400:
		return two(s/3600, "h", s%3600/60, "m")
	}
	return two(s/86400, "d", s%86400/3600, "h")
}

// count groups digits by thousands: 1234567 -> "1,234,567".
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// bytesText writes a size in the decimal units the configuration uses
// (1 MB = 1,000,000 bytes), with one decimal: "512 B", "1.5 MB", "2 GB".
func bytesText(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	// Tenths of the unit, with integers only: exact and deterministic.
	div := int64(1000)
	i := 0
	for i < len(units)-1 && n >= div*1000-div/20 { // what would round to 1000.0 takes the next unit
		div *= 1000
		i++
	}
	tenths := (n*10 + div/2) / div
	if n > (1<<63-1)/10 { // too large to scale by ten: whole units
		tenths = n / div * 10
	}
	if tenths%10 == 0 {
		return strconv.FormatInt(tenths/10, 10) + " " + units[i]
	}
	return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10) + " " + units[i]
}

// countOf is count with the noun that agrees: "1 batch", "1,204 batches".
func countOf(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func sortedCodes(m map[string]int64) []string {
	codes := slices.Collect(maps.Keys(m))
	slices.SortFunc(codes, func(a, b string) int {
		// Numeric order when both are numbers, so "99" sorts before "200".
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		if ea == nil && eb == nil {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(a, b)
	})
	return codes
}

// The classes below colour a state; the state's word is always printed
// beside the colour, so nothing depends on seeing colours.

func sourceClass(state agent.SourceState) string {
	switch state {
	case agent.SourceOK:
		return "good"
	case agent.SourceRunning:
		return "info"
	case agent.SourceError:
		return "bad"
	case agent.SourcePaused, agent.SourceInterrupted:
		return "warn"
	}
	return "muted"
}

func forwarderClass(s forward.State) string {
	switch s {
	case forward.StateIdle:
		return "good"
	case forward.StateSending:
		return "info"
	case forward.StateBackoff:
		return "warn"
	case forward.StatePaused:
		return "bad"
	}
	return "muted"
}

func outcomeClass(outcome agent.Outcome) string {
	switch outcome {
	case agent.OutcomeAccepted, agent.OutcomeDuplicate:
		return "good"
	case agent.OutcomeFull:
		return "warn"
	case agent.OutcomeRefused, agent.OutcomeFailed:
		return "bad"
	}
	return "muted"
}

func levelClass(level agent.LogLevel) string {
	switch level {
	case agent.LogOK:
		return "good"
	case agent.LogNote:
		return "info"
	case agent.LogError:
		return "bad"
	}
	return "muted"
}

func componentClass(state agent.ComponentState) string {
	switch {
	case state == agent.ComponentRunning:
		return "good"
	case state.Failed():
		return "bad"
	}
	return "muted"
}

func codeClass(code string) string {
	switch {
	case strings.HasPrefix(code, "2"):
		return "good"
	case code == "401" || code == "403" || code == "422":
		return "bad"
	}
	return "warn"
}
