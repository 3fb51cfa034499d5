package receiver

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Agent states in the fleet view.
const (
	StateHealthy   = "healthy"   // its last report says healthy, and it is recent
	StateUnhealthy = "unhealthy" // its last report names problems
	StateSilent    = "silent"    // no report for 3 × its announced interval (or Config.SilentAfter)
	StateNever     = "never"     // known (tokens file, batches) but never reported
)

// states in the order the fleet page sorts them: the worst first.
var states = []string{StateSilent, StateUnhealthy, StateNever, StateHealthy}

// FleetAgent is one agent of the fleet view.
type FleetAgent struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	Problems    []string        `json:"problems"` // the report's problems, or why it is silent
	LastReport  *StatusReport   `json:"last_report"`
	ReportAt    *time.Time      `json:"report_at"` // when headquarters received the last report
	LastBatchAt *time.Time      `json:"last_batch_at"`
	Batches     int64           `json:"batches"`
	Report      json.RawMessage `json:"-"`
}

// Fleet is the answer of GET /v1/fleet.
type Fleet struct {
	At     time.Time      `json:"at"`
	States map[string]int `json:"states"`
	Agents []FleetAgent   `json:"agents"`
}

// Fleet returns every agent known from the tokens file, status reports or
// batches, sorted by id, with its state at Config.Now.
func (r *Receiver) Fleet(ctx context.Context) (Fleet, error) {
	recs, err := r.store.Agents(ctx)
	if err != nil {
		return Fleet{}, fmt.Errorf("read agents: %w", err)
	}
	now := r.cfg.Now().UTC()
	byID := map[string]AgentRecord{}
	for _, a := range recs {
		byID[a.ID] = a
	}
	for _, id := range r.auth.agents {
		if _, ok := byID[id]; !ok {
			byID[id] = AgentRecord{ID: id}
		}
	}
	f := Fleet{At: now, States: map[string]int{}, Agents: []FleetAgent{}}
	for _, s := range states {
		f.States[s] = 0
	}
	for _, a := range byID {
		fa := FleetAgent{ID: a.ID, Batches: a.Batches, State: StateNever, Problems: []string{}}
		if !a.LastBatchAt.IsZero() {
			t := a.LastBatchAt.UTC()
			fa.LastBatchAt = &t
		}
		if len(a.Status) > 0 {
			var rep StatusReport
			// Checked by parseStatus before it was stored.
			_ = json.Unmarshal(a.Status, &rep)
			t := a.StatusAt.UTC()
			fa.LastReport, fa.ReportAt, fa.Report = &rep, &t, a.Status
			silentAfter := r.cfg.SilentAfter
			if silentAfter == 0 {
				silentAfter = 3 * time.Duration(rep.IntervalS) * time.Second
			}
			switch {
			case now.Sub(t) > silentAfter:
				fa.State = StateSilent
				fa.Problems = append(fa.Problems, fmt.Sprintf("no report for %s (expected every %ds)", now.Sub(t).Round(time.Second), rep.IntervalS))
			case !rep.Healthy:
				fa.State = StateUnhealthy
			default:
				fa.State = StateHealthy
			}
			if !rep.Healthy {
				fa.Problems = append(fa.Problems, rep.Problems...)
				if len(rep.Problems) == 0 {
					fa.Problems = append(fa.Problems, "unhealthy, without a problem named")
				}
			}
		}
		f.States[fa.State]++
		f.Agents = append(f.Agents, fa)
	}
	slices.SortFunc(f.Agents, func(a, b FleetAgent) int { return cmp.Compare(a.ID, b.ID) })
	return f, nil
}

func (r *Receiver) handleFleetJSON(w http.ResponseWriter, req *http.Request) {
	f, err := r.Fleet(req.Context())
	if err != nil {
		r.log.Error("fleet", "err", err)
		writeError(w, http.StatusInternalServerError, "the fleet could not be read")
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func stateRank(s string) int { return slices.Index(states, s) }

func (r *Receiver) handleFleetPage(w http.ResponseWriter, req *http.Request) {
	f, err := r.Fleet(req.Context())
	if err != nil {
		r.log.Error("fleet", "err", err)
		http.Error(w, "the fleet could not be read", http.StatusInternalServerError)
		return
	}
	// The worst first, then by id; the page re-sorts by any column.
	slices.SortStableFunc(f.Agents, func(a, b FleetAgent) int { return cmp.Compare(stateRank(a.State), stateRank(b.State)) })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	if err := fleetPage.Execute(w, pageData{Fleet: f, States: states}); err != nil {
		r.log.Warn("fleet page", "err", err)
	}
}

type pageData struct {
	Fleet
	States []string
}

var fleetPage = template.Must(template.New("fleet").Funcs(template.FuncMap{
	"rank": stateRank,
	"when": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"unix": func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.Unix()
	},
	"count": func(m map[string]int, s string) int { return m[s] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TMAS fleet</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{cursor:pointer;background:#f4f4f4;user-select:none}
.silent{background:#fde2e1}.unhealthy{background:#fff1cc}.never{background:#eee}.healthy{background:#e6f5e6}
td.state{font-weight:600}
td.id,td.report,td.batch{white-space:nowrap}
ul{margin:0;padding-left:1.1em}
</style></head><body>
<h1>TMAS fleet</h1>
<p id="summary">{{range $i, $s := .States}}{{if $i}} · {{end}}<span class="{{$s}}">{{count $.Fleet.States $s}} {{$s}}</span>{{end}} — at {{.At.Format "2006-01-02 15:04:05Z"}}</p>
<table id="fleet">
<thead><tr><th data-key="state">State</th><th data-key="id">Agent</th><th data-key="problems">Problems</th><th data-key="report">Last report</th><th data-key="batch">Last batch</th><th data-key="queued">Buffer (queued)</th><th data-key="version">Version</th></tr></thead>
<tbody>
{{range .Agents}}<tr class="{{.State}}" data-id="{{.ID}}" data-state="{{rank .State}}" data-report="{{unix .ReportAt}}" data-batch="{{unix .LastBatchAt}}" data-queued="{{if .LastReport}}{{.LastReport.Buffer.Queued}}{{else}}-1{{end}}" data-version="{{if .LastReport}}{{.LastReport.Version}}{{end}}" data-problems="{{len .Problems}}">
<td class="state">{{.State}}</td><td class="id">{{.ID}}</td>
<td class="problems">{{if .Problems}}<ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{else}}none{{end}}</td>
<td class="report">{{when .ReportAt}}</td><td class="batch">{{when .LastBatchAt}}</td>
<td class="queued">{{if .LastReport}}{{.LastReport.Buffer.Queued}}{{if .LastReport.Buffer.Full}} (full){{end}}{{if .LastReport.Buffer.DeadLetters}}, {{.LastReport.Buffer.DeadLetters}} dead letters{{end}}{{else}}—{{end}}</td>
<td class="version">{{if .LastReport}}{{.LastReport.Version}} {{.LastReport.OS}}{{else}}—{{end}}</td></tr>
{{end}}</tbody></table>
<script>
(function(){
  var tbody=document.querySelector('#fleet tbody'), dir={};
  function sortBy(k,d){
    var rows=Array.from(tbody.rows);
    rows.sort(function(a,b){
      var x=a.dataset[k], y=b.dataset[k], nx=Number(x), ny=Number(y), c;
      c=(k!=='id'&&k!=='version'&&!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
      return c*d || a.dataset.id.localeCompare(b.dataset.id);
    });
    rows.forEach(function(r){tbody.appendChild(r)});
    dir[k]=d;
    document.body.dataset.sorted=k+(d>0?':asc':':desc');
  }
  document.querySelectorAll('#fleet th').forEach(function(th){
    th.addEventListener('click',function(){ sortBy(th.dataset.key, -(dir[th.dataset.key]||-1)); });
  });
  // A link can name the order: /fleet#sort=queued:desc.
  var m=/^#sort=(state|id|problems|report|batch|queued|version)(:desc)?$/.exec(location.hash);
  if(m){ sortBy(m[1], m[2]?-1:1); }
})();
</script>
</body></html>
`))

// metrics are the receiver's Prometheus metrics, on its own registry.
type metrics struct {
	reg                                                 *prometheus.Registry
	records, batches, replays, conflicts, rejectedLines prometheus.Counter
}

func newMetrics(r *Receiver) *metrics {
	m := &metrics{
		reg:           prometheus.NewRegistry(),
		records:       prometheus.NewCounter(prometheus.CounterOpts{Name: "tmas_records_accepted_total", Help: "Lines that stored a new key or a higher rev, by this receiver."}),
		batches:       prometheus.NewCounter(prometheus.CounterOpts{Name: "tmas_batches_accepted_total", Help: "Batches stored under a new Idempotency-Key, by this receiver."}),
		replays:       prometheus.NewCounter(prometheus.CounterOpts{Name: "tmas_batch_replays_total", Help: "Replays of a stored batch answered 200 with its counts."}),
		conflicts:     prometheus.NewCounter(prometheus.CounterOpts{Name: "tmas_batch_conflicts_total", Help: "Batches answered 409: their Idempotency-Key was used with other content."}),
		rejectedLines: prometheus.NewCounter(prometheus.CounterOpts{Name: "tmas_lines_rejected_total", Help: "Invalid lines named in 422 answers."}),
	}
	m.reg.MustRegister(m.records, m.batches, m.replays, m.conflicts, m.rejectedLines, fleetCollector{r})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var agentsDesc = prometheus.NewDesc("tmas_agents", "Agents of the fleet by state (healthy, unhealthy, silent, never).", []string{"state"}, nil)

// fleetCollector reads the fleet from the store at each scrape.
type fleetCollector struct{ r *Receiver }

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- agentsDesc }

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	f, err := c.r.Fleet(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(agentsDesc, err)
		return
	}
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(f.States[s]), s)
	}
}
