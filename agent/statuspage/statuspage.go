package statuspage

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tmas/storeagent/agent"
)

// Source gives the facts to show. *agent.Agent implements it.
type Source interface {
	Status() agent.Status
}

var _ Source = (*agent.Agent)(nil)

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 15

//go:embed page.html.tmpl
var templateFS embed.FS

// pageTemplate is parsed once; it is immutable after parsing.
var pageTemplate = template.Must(template.New("page.html.tmpl").ParseFS(templateFS, "page.html.tmpl"))

// Register adds the status page (GET /, exactly) and the Prometheus
// exposition (GET /metrics) to mux. Both read src.Status() once per request.
// Each call builds its own metrics registry, so Register may be called for
// several muxes or agents in one process.
//
// extra are more collectors for /metrics, from the program's other parts
// (the FTP endpoint's counters).
func Register(mux *http.ServeMux, src Source, logger *slog.Logger, extra ...prometheus.Collector) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("component", "statuspage")
	mux.Handle("GET /{$}", &pageHandler{src: src, log: logger})
	mux.Handle("GET /metrics", metricsHandler(src, logger, extra...))
}

type pageHandler struct {
	src Source
	log *slog.Logger
}

func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := newView(h.src.Status(), time.Now())
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		h.log.Error("rendering the page failed", "err", err)
		http.Error(w, "the status page could not be rendered; see the agent's log", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	// No script may run, even if escaping were ever defeated; the page needs
	// only its inline style.
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

// metricsHandler serves a private registry: the agent's collector plus the
// Go runtime and process collectors.
func metricsHandler(src Source, logger *slog.Logger, extra ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(src),
	)
	reg.MustRegister(extra...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// promLogger adapts slog to promhttp's Println logger.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	var b bytes.Buffer
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err, ok := x.(error); ok {
			b.WriteString(err.Error())
			continue
		}
		b.WriteString(slog.AnyValue(x).String())
	}
	l.log.Error("metrics exposition failed", "err", b.String())
}

var _ promhttp.Logger = promLogger{}
