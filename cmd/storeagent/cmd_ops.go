package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/spool"
)

func statusCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the running agent is doing: sources, buffer, delivery, recent files",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			var st agent.Status
			if l.running() {
				ctx, cancel := within(e.ctx, 10*time.Second)
				defer cancel()
				if err := l.get(ctx, "/api/status", &st); err != nil {
					return err
				}
			} else {
				st = offlineStatus(l)
			}
			if asJSON {
				if err := printJSON(e.stdout, st); err != nil {
					return err
				}
			} else {
				printStatus(e.stdout, st, l.running(), l.cfg.AgentZone())
			}
			if !st.Healthy {
				return errors.New("the agent is not healthy: see the problems above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// offlineStatus tells what the buffer holds while the agent is stopped.
func offlineStatus(l *local) agent.Status {
	st := agent.Status{Agent: l.cfg.Agent.ID, Version: version, Now: time.Now().UTC(), Components: map[string]agent.ComponentState{}}
	st.Buffer = agent.BufferStatus{Stats: l.sp.Stats(), Path: l.cfg.Buffer.Path}
	if !st.Buffer.Oldest.IsZero() {
		st.Buffer.OldestAge = time.Since(st.Buffer.Oldest).Round(time.Second).String()
	}
	st.Files = agent.RecentFiles(l.sp)
	st.Problems = []string{"the agent is not running (start it with: storeagent start)"}
	_, list, _ := buildSources(l.cfg, sourceDeps{logger: slog.New(slog.DiscardHandler), state: l.sp})
	for _, src := range list {
		st.Sources = append(st.Sources, agent.SourceStatus{Name: src.Name, State: agent.SourceStopped, Schedule: src.Schedule})
	}
	return st
}

// printStatus writes the status for a person. Times are shown in the
// agent's zone (agent.timezone) with its abbreviation, whatever the zone of
// the machine or of the technician's session.
func printStatus(w io.Writer, st agent.Status, running bool, zone *time.Location) {
	when := func(t time.Time) string { return when(t, zone) }
	health := "healthy"
	if !st.Healthy {
		health = "NOT HEALTHY"
	}
	fmt.Fprintf(w, "Agent %s (%s): %s\n", st.Agent, st.Version, health)
	if running && !st.Started.IsZero() {
		fmt.Fprintf(w, "  running since %s\n", when(st.Started))
	}
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  ! %s\n", p)
	}
	fmt.Fprintln(w, "\nSources")
	if len(st.Sources) == 0 {
		fmt.Fprintln(w, "  (none configured)")
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, s := range st.Sources {
		fmt.Fprintf(tw, "  %s\t%s\tlast run %s\tnext %s\t%d records today\n", s.Name, s.State, when(s.LastRun), when(s.NextRun), s.RecordsToday)
		if s.LastError != "" {
			fmt.Fprintf(tw, "  \t\terror: %s\n", s.LastError)
		}
	}
	tw.Flush()
	b := st.Buffer
	fmt.Fprintln(w, "\nBuffer")
	fmt.Fprintf(w, "  %d records waiting (%d bytes)", b.Queued, b.QueuedBytes)
	if b.OldestAge != "" {
		fmt.Fprintf(w, ", oldest queued %s ago", b.OldestAge)
	}
	fmt.Fprintf(w, "\n  %d dead letters; file %d of %d bytes", b.Dead, b.FileBytes, b.MaxBytes)
	if b.Full {
		fmt.Fprint(w, "; FULL: uploads refused")
	}
	fmt.Fprintln(w)
	if b.Recovery != nil {
		fmt.Fprintf(w, "  damaged buffer set aside at %s: %s (%s)\n", when(b.Recovery.At), b.Recovery.SetAside, b.Recovery.Reason)
	}
	if running {
		f := st.Forwarder
		fmt.Fprintln(w, "\nDelivery to headquarters")
		fmt.Fprintf(w, "  %s; %d records in %d batches delivered; last delivery %s\n", f.State, f.Records, f.Batches, when(f.LastDelivery))
		if f.LastError != "" {
			fmt.Fprintf(w, "  last error: %s (next attempt %s)\n", f.LastError, when(f.NextAttempt))
		}
	}
	if len(st.Files) > 0 {
		fmt.Fprintln(w, "\nRecent files")
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for i, f := range st.Files {
			if i == 10 {
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d shifts\t%s\n", when(f.At), f.Name, f.Origin, f.Outcome, f.Records, f.Detail)
		}
		tw.Flush()
	}
	if len(st.Log) > 0 {
		fmt.Fprintln(w, "\nImport log")
		for i, l := range st.Log {
			if i == 10 {
				break
			}
			fmt.Fprintf(w, "  %s  %-8s %-5s %s\n", when(l.At), l.Source, l.Level, l.Text)
		}
	}
}

// when shows a time in zone with the zone's abbreviation.
func when(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(zone).Format("2006-01-02 15:04:05 MST")
}

func reportCmd(e *env) *cobra.Command {
	var location, date string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report --location ID --date DAY",
		Short: "Print the hourly net sales, transactions and items this agent has imported for one store and day",
		Long: `Prints, per local hour, the net sales, transactions (sales and returns) and
items that this agent has imported, to compare with the POS's own report. For
Shopify the matching view is:
  FROM sales SHOW hour, net_sales WHERE sales_channel CONTAINS 'POINT' GROUP BY hour`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if _, err := time.Parse(time.DateOnly, date); err != nil {
				return usageError{fmt.Errorf("--date %q is not a day like 2026-11-20", date)}
			}
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			if _, ok := l.cfg.Locations[location]; !ok {
				return usageError{fmt.Errorf("--location %q is not one of the configured locations (%s)", location, strings.Join(l.cfg.LocationIDs(), ", "))}
			}
			var hours []spool.HourTotal
			if l.running() {
				err = l.get(e.ctx, "/api/report"+query("location", location, "date", date), &hours)
			} else {
				hours, err = l.sp.Hourly(location, date)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, hours)
			}
			printReport(e.stdout, location, date, hours)
			return nil
		},
	}
	cmd.Flags().StringVar(&location, "location", "", "TMAS location id")
	cmd.Flags().StringVar(&date, "date", "", "local day, e.g. 2026-11-20")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.MarkFlagRequired("location")
	cmd.MarkFlagRequired("date")
	return cmd
}

func printReport(w io.Writer, location, date string, hours []spool.HourTotal) {
	fmt.Fprintf(w, "Location %s, %s (store-local hours)\n", location, date)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hour\tnet_sales\ttransactions\titems\t")
	var tx, items int64
	total := "0"
	sum := spool.HourTotal{}
	for _, h := range hours {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", h.Hour, h.NetSales, h.Transactions, h.Items)
		sum.NetSales = sum.NetSales.Add(h.NetSales)
		tx += h.Transactions
		items += h.Items
	}
	if len(hours) > 0 {
		total = sum.NetSales.String()
	}
	fmt.Fprintf(tw, "total\t%s\t%d\t%d\t\n", total, tx, items)
	tw.Flush()
}

func deadletterCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "deadletter", Short: "Records headquarters refused: list them, send them again"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the records headquarters refused, with its reasons",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			var dead []spool.DeadLetter
			if l.running() {
				err = l.get(e.ctx, "/api/deadletter", &dead)
			} else {
				dead, err = l.sp.DeadLetters()
			}
			if err != nil {
				return err
			}
			if asJSON {
				if dead == nil {
					dead = []spool.DeadLetter{}
				}
				return printJSON(e.stdout, dead)
			}
			if len(dead) == 0 {
				fmt.Fprintln(e.stdout, "No dead letters: headquarters has refused nothing.")
				return nil
			}
			for _, d := range dead {
				var r struct {
					Key        string `json:"key"`
					LocationID string `json:"location_id"`
				}
				_ = json.Unmarshal([]byte(d.Line), &r)
				fmt.Fprintf(e.stdout, "#%d  %s  %s  %s\n    reason: %s\n    batch %s\n", d.ID, when(d.At, l.cfg.AgentZone()), r.Key, r.LocationID, d.Reason, d.Batch)
			}
			fmt.Fprintf(e.stdout, "%d dead letters. Fix the cause, then: storeagent deadletter retry [ID…]\n", len(dead))
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	retry := &cobra.Command{
		Use:   "retry [ID…]",
		Short: "Queue dead letters again (all of them, or the given ids)",
		RunE: func(_ *cobra.Command, args []string) error {
			var ids []string
			for _, a := range args {
				if _, err := strconv.ParseUint(a, 10, 64); err != nil {
					return usageError{fmt.Errorf("%q is not a dead-letter id (see storeagent deadletter list)", a)}
				}
				ids = append(ids, "id", a)
			}
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			var n int
			if l.running() {
				var out struct{ Queued int }
				err = l.do(e.ctx, "POST", "/api/deadletter/retry"+query(ids...), &out)
				n = out.Queued
			} else {
				var nums []uint64
				for _, a := range args {
					v, _ := strconv.ParseUint(a, 10, 64)
					nums = append(nums, v)
				}
				n, err = l.sp.RetryDead(nums)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d records queued again.\n", n)
			return nil
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}

func syncCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:               "sync [SOURCE]",
		Short:             "Import from the POS now instead of waiting for the schedule",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeSources,
		RunE: func(_ *cobra.Command, args []string) error {
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if l.running() {
				return syncRunning(e, l, name)
			}
			return syncStopped(e, l, name)
		},
	}
}

// syncRunning asks the running agent to sync and prints each source's
// outcome, its error included when it failed.
func syncRunning(e *env, l *local, name string) error {
	var out map[string]string
	err := l.do(e.ctx, "POST", "/api/sync"+query("source", name), &out)
	var ae *agentError
	if errors.As(err, &ae) && ae.status == http.StatusBadGateway {
		// Some sources failed: the answer says each one's outcome.
		_ = json.Unmarshal(ae.body, &out)
	}
	failed := 0
	for _, k := range slices.Sorted(maps.Keys(out)) {
		fmt.Fprintf(e.stdout, "%s: %s\n", k, out[k])
		if out[k] != "ok" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d sources failed: see above", failed, len(out))
	}
	return err
}

// syncStopped imports in this process while the service is stopped; what
// it queues is delivered when the agent runs.
func syncStopped(e *env, l *local, name string) error {
	a, err := l.inProcess()
	if err != nil {
		return err
	}
	defer a.Spool().Close()
	names := a.SourceNames()
	if name != "" {
		names = []string{name}
	}
	if len(names) == 0 {
		return usageError{&agent.UnknownSourceError{}}
	}
	var errs []error
	for _, n := range names {
		err := a.SyncOnce(e.ctx, n)
		if _, unknown := errors.AsType[*agent.UnknownSourceError](err); unknown {
			return usageError{err}
		}
		if err != nil {
			fmt.Fprintf(e.stdout, "%s: %v\n", n, err)
			errs = append(errs, err)
			continue
		}
		for _, ss := range a.Status().Sources {
			if ss.Name == n {
				fmt.Fprintf(e.stdout, "%s: ok, %d records queued (delivered when the agent runs)\n", n, ss.LastRunQueued)
			}
		}
	}
	return errors.Join(errs...)
}

func backfillCmd(e *env) *cobra.Command {
	var since, until string
	cmd := &cobra.Command{
		Use:               "backfill SOURCE --since DATE [--until DATE]",
		Short:             "Re-import a past window from a POS (idempotent), with a progress bar",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSources,
		RunE: func(_ *cobra.Command, args []string) error {
			l, err := e.connect(true)
			if err != nil {
				return err
			}
			defer l.close()
			s, u, err := agent.ParseWindow(since, until, l.cfg.AgentZone(), time.Now())
			if err != nil {
				return usageError{err}
			}
			bar := newProgress(e.stderr, s, u)
			if l.running() {
				var last agent.Progress
				err := l.stream(e.ctx, "/api/backfill"+query("source", args[0], "since", s.Format(time.RFC3339), "until", u.Format(time.RFC3339)), func(line []byte) error {
					if err := json.Unmarshal(line, &last); err != nil {
						return err
					}
					bar.show(last)
					return nil
				})
				if _, usage := errors.AsType[usageError](err); usage {
					return err
				}
				bar.done(last)
				if err == nil && last.Error != "" {
					err = errors.New(last.Error)
				}
				return err
			}
			a, err := l.inProcess()
			if err != nil {
				return err
			}
			defer a.Spool().Close()
			p, err := a.Backfill(e.ctx, args[0], s, u, bar.show)
			var unknown *agent.UnknownSourceError
			if errors.As(err, &unknown) {
				return usageError{err}
			}
			bar.done(p)
			if err == nil {
				fmt.Fprintln(e.stdout, "Queued records are delivered when the agent runs.")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start of the window: a day (2026-09-01, local midnight) or an RFC 3339 time")
	cmd.Flags().StringVar(&until, "until", "", "end of the window (default now)")
	cmd.MarkFlagRequired("since")
	return cmd
}
