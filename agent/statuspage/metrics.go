package statuspage

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/forward"
)

// Collector turns one agent.Status snapshot, taken at scrape time, into
// Prometheus metrics. It keeps no state of its own: counters are the agent's
// own totals since it started.
type Collector struct {
	src Source

	info, healthy, problems, startTime                                   *prometheus.Desc
	bufRecords, bufBytes, bufOldestAge, bufFileBytes, bufMaxBytes        *prometheus.Desc
	bufFull, bufRecovered, deadLetters                                   *prometheus.Desc
	fwdState, fwdPaused, fwdFailures, fwdLastDelivery                    *prometheus.Desc
	fwdRecords, fwdDuplicates, fwdDead, fwdBatches, fwdRequests, fwdSent *prometheus.Desc
	fwdResponses                                                         *prometheus.Desc
	srcUp, srcLastRun, srcLastSuccess, srcNextRun, srcFailures           *prometheus.Desc
	srcRuns, srcFailedRuns, srcImported                                  *prometheus.Desc
	files, componentUp                                                   *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// fileOutcomes are the outcomes agent.FileOutcome can carry; each is
// exported, at zero when absent, so that alerts need no absent().
var fileOutcomes = []string{"accepted", "duplicate", "refused", "full", "failed"}

// forwarderStates are the forwarder's states, exported one-hot.
var forwarderStates = []forward.State{forward.StateIdle, forward.StateSending, forward.StateBackoff, forward.StatePaused}

// NewCollector returns a collector reading src at every scrape.
func NewCollector(src Source) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("storeagent_"+name, help, labels, nil)
	}
	return &Collector{
		src:       src,
		info:      d("info", "Always 1; labels name the agent and its version.", "agent", "version"),
		healthy:   d("healthy", "1 when the agent reports no problem, else 0.", nil...),
		problems:  d("problems", "Number of problems that make the agent unhealthy.", nil...),
		startTime: d("start_time_seconds", "When the agent started, in seconds since the Unix epoch (0 if not running).", nil...),

		bufRecords:   d("buffer_records", "Records in the buffer waiting for delivery.", nil...),
		bufBytes:     d("buffer_bytes", "Encoded size of the records waiting for delivery.", nil...),
		bufOldestAge: d("buffer_oldest_record_age_seconds", "Age of the oldest undelivered record (0 when none waits).", nil...),
		bufFileBytes: d("buffer_file_bytes", "Size of the buffer file on disk.", nil...),
		bufMaxBytes:  d("buffer_max_bytes", "Configured limit of the buffer file (0 = no limit).", nil...),
		bufFull:      d("buffer_full", "1 when the buffer is full: uploads are refused and polling is paused.", nil...),
		bufRecovered: d("buffer_recovered", "1 when the buffer file was found damaged at start-up and set aside.", nil...),
		deadLetters:  d("dead_letters", "Records headquarters refused, kept as dead letters.", nil...),

		fwdState:        d("forwarder_state", "1 for the forwarder's current state (idle, sending, retrying, paused), 0 for the others.", "state"),
		fwdPaused:       d("forwarder_paused", "1 when forwarding is paused because headquarters refuses the token.", nil...),
		fwdFailures:     d("forwarder_consecutive_failures", "Delivery attempts that failed in a row.", nil...),
		fwdLastDelivery: d("forwarder_last_delivery_timestamp_seconds", "When a batch was last delivered, in seconds since the Unix epoch (0 if never).", nil...),
		fwdRecords:      d("forwarder_records_delivered_total", "Records delivered to headquarters since the agent started.", nil...),
		fwdDuplicates:   d("forwarder_records_duplicate_total", "Delivered records headquarters already had, since the agent started.", nil...),
		fwdDead:         d("forwarder_records_dead_lettered_total", "Records dead-lettered on headquarters' refusal since the agent started.", nil...),
		fwdBatches:      d("forwarder_batches_delivered_total", "Batches delivered to headquarters since the agent started.", nil...),
		fwdRequests:     d("forwarder_requests_total", "Requests sent to headquarters since the agent started.", nil...),
		fwdSent:         d("forwarder_sent_bytes_total", "Compressed bytes sent to headquarters since the agent started.", nil...),
		fwdResponses:    d("forwarder_responses_total", "Answers from headquarters by HTTP status code since the agent started.", "code"),

		srcUp:          d("source_up", "0 when the source's last run failed or it is paused, else 1.", "source"),
		srcLastRun:     d("source_last_run_timestamp_seconds", "When the source last started a run, in seconds since the Unix epoch (0 if never).", "source"),
		srcLastSuccess: d("source_last_success_timestamp_seconds", "When the source last completed a run, in seconds since the Unix epoch (0 if never).", "source"),
		srcNextRun:     d("source_next_run_timestamp_seconds", "When the source runs next, in seconds since the Unix epoch (0 if not scheduled).", "source"),
		srcFailures:    d("source_consecutive_failures", "Runs of the source that failed in a row.", "source"),
		srcRuns:        d("source_runs_total", "Runs of the source finished since the agent started.", "source"),
		srcFailedRuns:  d("source_failed_runs_total", "Runs of the source that failed since the agent started.", "source"),
		srcImported:    d("source_records_imported_total", "Records the source queued since the agent started.", "source"),

		files:       d("files_total", "Staff-hours files handled since the agent started, by outcome.", "outcome"),
		componentUp: d("component_up", "1 when the component is running, else 0.", "component"),
	}
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.info, c.healthy, c.problems, c.startTime,
		c.bufRecords, c.bufBytes, c.bufOldestAge, c.bufFileBytes, c.bufMaxBytes, c.bufFull, c.bufRecovered, c.deadLetters,
		c.fwdState, c.fwdPaused, c.fwdFailures, c.fwdLastDelivery,
		c.fwdRecords, c.fwdDuplicates, c.fwdDead, c.fwdBatches, c.fwdRequests, c.fwdSent, c.fwdResponses,
		c.srcUp, c.srcLastRun, c.srcLastSuccess, c.srcNextRun, c.srcFailures,
		c.srcRuns, c.srcFailedRuns, c.srcImported,
		c.files, c.componentUp,
	} {
		ch <- d
	}
}

// Collect reads one snapshot and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	now := st.Now
	if now.IsZero() {
		now = time.Now()
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	gauge(c.info, 1, st.Agent, st.Version)
	gauge(c.healthy, bit(st.Healthy))
	gauge(c.problems, float64(len(st.Problems)))
	gauge(c.startTime, unix(st.Started))

	b := st.Buffer
	gauge(c.bufRecords, float64(b.Queued))
	gauge(c.bufBytes, float64(b.QueuedBytes))
	age := 0.0
	if !b.Oldest.IsZero() {
		age = max(now.Sub(b.Oldest).Seconds(), 0)
	}
	gauge(c.bufOldestAge, age)
	gauge(c.bufFileBytes, float64(b.FileBytes))
	gauge(c.bufMaxBytes, float64(b.MaxBytes))
	gauge(c.bufFull, bit(b.Full))
	gauge(c.bufRecovered, bit(b.Recovery != nil))
	gauge(c.deadLetters, float64(b.Dead))

	f := st.Forwarder
	for _, s := range forwarderStates {
		gauge(c.fwdState, bit(f.State == s), string(s))
	}
	gauge(c.fwdPaused, bit(f.State == forward.StatePaused))
	gauge(c.fwdFailures, float64(f.Failures))
	gauge(c.fwdLastDelivery, unix(f.LastDelivery))
	counter(c.fwdRecords, f.Records)
	counter(c.fwdDuplicates, f.Duplicates)
	counter(c.fwdDead, f.DeadLettered)
	counter(c.fwdBatches, f.Batches)
	counter(c.fwdRequests, f.Requests)
	counter(c.fwdSent, f.BytesSent)
	for _, code := range slices.Sorted(maps.Keys(f.ResponsesByCode)) {
		counter(c.fwdResponses, f.ResponsesByCode[code], code)
	}

	for _, s := range st.Sources {
		gauge(c.srcUp, bit(s.State != agent.SourceError && s.State != agent.SourcePaused), s.Name)
		gauge(c.srcLastRun, unix(s.LastRun), s.Name)
		gauge(c.srcLastSuccess, unix(s.LastSuccess), s.Name)
		gauge(c.srcNextRun, unix(s.NextRun), s.Name)
		gauge(c.srcFailures, float64(s.Failures), s.Name)
		counter(c.srcRuns, s.Runs, s.Name)
		counter(c.srcFailedRuns, s.FailedRuns, s.Name)
		counter(c.srcImported, s.Imported, s.Name)
	}

	outcomes := map[string]int64{}
	for _, o := range fileOutcomes {
		outcomes[o] = 0
	}
	maps.Copy(outcomes, st.FileTotals)
	for _, o := range slices.Sorted(maps.Keys(outcomes)) {
		counter(c.files, outcomes[o], o)
	}

	for _, name := range slices.Sorted(maps.Keys(st.Components)) {
		gauge(c.componentUp, bit(st.Components[name] == agent.ComponentRunning), name)
	}
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unix is t in seconds since the epoch, 0 for the zero time.
func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
