package statuspage

import (
	"bytes"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tmas/storeagent/agent"
)

// gather collects src through a pedantic registry (which checks that what
// is collected matches what is described) and returns every sample as
// "name{label="value",…}" -> value.
func gather(t *testing.T, src Source) ([]*dto.MetricFamily, map[string]float64) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(src))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	samples := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				samples[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				samples[key] = m.GetGauge().GetValue()
			default:
				t.Fatalf("%s: got type %v, want counter or gauge", key, mf.GetType())
			}
		}
	}
	return mfs, samples
}

func TestMetricsValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   agent.Status
		want map[string]float64
		only bool // compare only the samples listed in want
	}{
		{
			name: "troubled",
			st:   troubled(),
			want: map[string]float64{
				`storeagent_info{agent="store-042",version="1.4.2"}`: 1,
				`storeagent_healthy`:            0,
				`storeagent_problems`:           3,
				`storeagent_start_time_seconds`: 1795001400, // 2026-11-18T11:30:00Z

				`storeagent_buffer_records`:                   1523,
				`storeagent_buffer_bytes`:                     1234567,
				`storeagent_buffer_oldest_record_age_seconds`: 1125, // 15:41:15 to 16:00:00
				`storeagent_buffer_file_bytes`:                8388608,
				`storeagent_buffer_max_bytes`:                 2e9,
				`storeagent_buffer_full`:                      0,
				`storeagent_buffer_recovered`:                 1,
				`storeagent_dead_letters`:                     2,

				`storeagent_forwarder_state{state="idle"}`:             0,
				`storeagent_forwarder_state{state="sending"}`:          0,
				`storeagent_forwarder_state{state="retrying"}`:         0,
				`storeagent_forwarder_state{state="paused"}`:           1,
				`storeagent_forwarder_paused`:                          1,
				`storeagent_forwarder_consecutive_failures`:            7,
				`storeagent_forwarder_last_delivery_timestamp_seconds`: 1795189212, // 2026-11-20T15:40:12Z
				`storeagent_forwarder_records_delivered_total`:         51234,
				`storeagent_forwarder_records_duplicate_total`:         12,
				`storeagent_forwarder_records_dead_lettered_total`:     2,
				`storeagent_forwarder_batches_delivered_total`:         42,
				`storeagent_forwarder_requests_total`:                  57,
				`storeagent_forwarder_sent_bytes_total`:                3456789,
				`storeagent_forwarder_responses_total{code="200"}`:     42,
				`storeagent_forwarder_responses_total{code="401"}`:     7,
				`storeagent_forwarder_responses_total{code="503"}`:     8,

				`storeagent_source_up{source="shopify"}`:                             0,
				`storeagent_source_up{source="vend"}`:                                1,
				`storeagent_source_last_run_timestamp_seconds{source="shopify"}`:     1795186920, // 15:02:00
				`storeagent_source_last_run_timestamp_seconds{source="vend"}`:        1795186960, // 15:02:40
				`storeagent_source_last_success_timestamp_seconds{source="shopify"}`: 1795176125, // 12:02:05
				`storeagent_source_last_success_timestamp_seconds{source="vend"}`:    1795186964, // 15:02:44
				`storeagent_source_next_run_timestamp_seconds{source="shopify"}`:     1795190640, // 16:04:00
				`storeagent_source_next_run_timestamp_seconds{source="vend"}`:        1795190560, // 16:02:40
				`storeagent_source_consecutive_failures{source="shopify"}`:           3,
				`storeagent_source_consecutive_failures{source="vend"}`:              0,
				`storeagent_source_runs_total{source="shopify"}`:                     9,
				`storeagent_source_runs_total{source="vend"}`:                        9,
				`storeagent_source_failed_runs_total{source="shopify"}`:              3,
				`storeagent_source_failed_runs_total{source="vend"}`:                 0,
				`storeagent_source_records_imported_total{source="shopify"}`:         412,
				`storeagent_source_records_imported_total{source="vend"}`:            4634,
				`storeagent_files_total{outcome="accepted"}`:                         40,
				`storeagent_files_total{outcome="duplicate"}`:                        0,
				`storeagent_files_total{outcome="failed"}`:                           0,
				`storeagent_files_total{outcome="full"}`:                             0,
				`storeagent_files_total{outcome="refused"}`:                          3,
				`storeagent_component_up{component="ftp"}`:                           0,
				`storeagent_component_up{component="inbox"}`:                         1,
				`storeagent_component_up{component="maintenance"}`:                   0,
				`storeagent_component_up{component="source:shopify"}`:                1,
			},
		},
		{
			name: "empty snapshot",
			st:   agent.Status{Now: at("16:00:00")},
			want: map[string]float64{
				`storeagent_info{agent="",version=""}`:                 1,
				`storeagent_healthy`:                                   0,
				`storeagent_problems`:                                  0,
				`storeagent_start_time_seconds`:                        0,
				`storeagent_buffer_records`:                            0,
				`storeagent_buffer_bytes`:                              0,
				`storeagent_buffer_oldest_record_age_seconds`:          0,
				`storeagent_buffer_file_bytes`:                         0,
				`storeagent_buffer_max_bytes`:                          0,
				`storeagent_buffer_full`:                               0,
				`storeagent_buffer_recovered`:                          0,
				`storeagent_dead_letters`:                              0,
				`storeagent_forwarder_state{state="idle"}`:             0,
				`storeagent_forwarder_state{state="sending"}`:          0,
				`storeagent_forwarder_state{state="retrying"}`:         0,
				`storeagent_forwarder_state{state="paused"}`:           0,
				`storeagent_forwarder_paused`:                          0,
				`storeagent_forwarder_consecutive_failures`:            0,
				`storeagent_forwarder_last_delivery_timestamp_seconds`: 0,
				`storeagent_forwarder_records_delivered_total`:         0,
				`storeagent_forwarder_records_duplicate_total`:         0,
				`storeagent_forwarder_records_dead_lettered_total`:     0,
				`storeagent_forwarder_batches_delivered_total`:         0,
				`storeagent_forwarder_requests_total`:                  0,
				`storeagent_forwarder_sent_bytes_total`:                0,
				`storeagent_files_total{outcome="accepted"}`:           0,
				`storeagent_files_total{outcome="duplicate"}`:          0,
				`storeagent_files_total{outcome="failed"}`:             0,
				`storeagent_files_total{outcome="full"}`:               0,
				`storeagent_files_total{outcome="refused"}`:            0,
			},
		},
		{
			name: "full buffer, paused source, retrying forwarder",
			st: func() agent.Status {
				st := calm()
				st.Buffer.Full, st.Buffer.Queued, st.Buffer.Oldest = true, 10, at("15:00:00")
				st.Sources[0].State = "paused"
				st.Forwarder.State = "retrying"
				st.FileTotals = map[string]int64{"full": 2, "duplicate": 1}
				return st
			}(),
			want: map[string]float64{
				`storeagent_buffer_full`:                       1,
				`storeagent_buffer_records`:                    10,
				`storeagent_buffer_oldest_record_age_seconds`:  3600,
				`storeagent_source_up{source="vend"}`:          0,
				`storeagent_forwarder_state{state="retrying"}`: 1,
				`storeagent_forwarder_state{state="idle"}`:     0,
				`storeagent_forwarder_paused`:                  0,
				`storeagent_files_total{outcome="full"}`:       2,
				`storeagent_files_total{outcome="duplicate"}`:  1,
				`storeagent_files_total{outcome="refused"}`:    0,
				`storeagent_healthy`:                           1,
			},
			only: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := gather(t, fakeSource{tc.st})
			if tc.only {
				picked := map[string]float64{}
				for k := range tc.want {
					if v, ok := got[k]; ok {
						picked[k] = v
					}
				}
				got = picked
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMetricsGolden pins the exposition (names, help texts, types) of the
// agent's own metrics.
func TestMetricsGolden(t *testing.T) {
	mfs, _ := gather(t, fakeSource{troubled()})
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "troubled.metrics", buf.String())
}

// TestMetricsLint holds the names to Prometheus conventions (units,
// _total on counters, help on everything).
func TestMetricsLint(t *testing.T) {
	mfs, _ := gather(t, fakeSource{troubled()})
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("got lint problems %+v, want none", problems)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	srv := serve(t, fakeSource{troubled()})
	// Two scrapes: the collector must read a fresh snapshot each time
	// without registering anything twice.
	for range 2 {
		res, body := get(t, srv.URL+"/metrics")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body:\n%s", res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("got content type %q, want the text exposition format", ct)
		}
		lines := strings.Split(body, "\n")
		want := []string{
			`storeagent_source_up{source="shopify"} 0`,
			`storeagent_forwarder_paused 1`,
			`storeagent_buffer_records 1523`,
			`storeagent_files_total{outcome="refused"} 3`,
			`storeagent_source_failed_runs_total{source="shopify"} 3`,
			`storeagent_info{agent="store-042",version="1.4.2"} 1`,
			`# TYPE go_goroutines gauge`,
		}
		if runtime.GOOS == "linux" {
			want = append(want, `# TYPE process_cpu_seconds_total counter`)
		}
		for _, w := range want {
			if !slices.Contains(lines, w) {
				t.Errorf("got /metrics without the line %q", w)
			}
		}
	}
}

// TestRegisterTwice checks that each Register has its own registry: two
// agents in one process (tests, demo) must not collide.
func TestRegisterTwice(t *testing.T) {
	one, two := serve(t, fakeSource{troubled()}), serve(t, fakeSource{calm()})
	_, a := get(t, one.URL+"/metrics")
	_, b := get(t, two.URL+"/metrics")
	for _, tc := range []struct{ body, want string }{
		{a, `storeagent_info{agent="store-042",version="1.4.2"} 1`},
		{b, `storeagent_info{agent="store-007",version="1.4.2"} 1`},
	} {
		if !slices.Contains(strings.Split(tc.body, "\n"), tc.want) {
			t.Errorf("got /metrics without %q", tc.want)
		}
	}
}
