package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handler serves the local control API that the command line talks to when
// the agent runs as a service (the buffer file is locked by the running
// agent), plus /healthz. Routes on mux may be added by the caller (status
// page, metrics). Everything that changes something (sync, backfill, dead
// letter retry) answers only callers on this machine, even when
// status.listen is opened to the network to show the page.
func (a *Agent) Handler(mux *http.ServeMux) http.Handler {
	if mux == nil {
		mux = http.NewServeMux()
	}
	return localWrites(a.routes(mux))
}

// localWrites refuses requests other than GET and HEAD from callers that
// are not on this machine.
func localWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "the control API answers only this machine"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (a *Agent) routes(mux *http.ServeMux) http.Handler {
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.Status())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st := a.Status()
		if !st.Healthy {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unhealthy")
			for _, p := range st.Problems {
				fmt.Fprintln(w, "- "+p)
			}
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /api/sync", func(w http.ResponseWriter, r *http.Request) {
		names := r.URL.Query()["source"]
		if len(names) == 0 {
			names = slices.Sorted(maps.Keys(a.runners))
		}
		if len(names) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": a.unknownSource("").Error()})
			return
		}
		for _, n := range names {
			if _, ok := a.runners[n]; !ok {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": a.unknownSource(n).Error()})
				return
			}
		}
		out := map[string]string{}
		code := http.StatusOK
		for _, n := range names {
			if err := a.SyncNow(r.Context(), n); err != nil {
				out[n] = err.Error()
				code = http.StatusBadGateway
			} else {
				out[n] = "ok"
			}
		}
		writeJSON(w, code, out)
	})
	mux.HandleFunc("POST /api/backfill", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if _, ok := a.runners[q.Get("source")]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": a.unknownSource(q.Get("source")).Error()})
			return
		}
		since, until, err := ParseWindow(q.Get("since"), q.Get("until"), a.cfg.AgentZone(), a.now())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		flush := func() {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		p, err := a.Backfill(r.Context(), q.Get("source"), since, until, func(p Progress) {
			enc.Encode(p)
			flush()
		})
		if err != nil {
			p.Error = err.Error()
			enc.Encode(p)
		}
	})
	mux.HandleFunc("GET /api/deadletter", func(w http.ResponseWriter, r *http.Request) {
		d, err := a.spool.DeadLetters()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, d)
	})
	mux.HandleFunc("POST /api/deadletter/retry", func(w http.ResponseWriter, r *http.Request) {
		var ids []uint64
		for _, s := range r.URL.Query()["id"] {
			id, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("id %q is not a number", s)})
				return
			}
			ids = append(ids, id)
		}
		n, err := a.spool.RetryDead(ids)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		a.fwd.Wake()
		writeJSON(w, http.StatusOK, map[string]int{"queued": n})
	})
	mux.HandleFunc("GET /api/report", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		hours, err := a.spool.Hourly(q.Get("location"), q.Get("date"))
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, hours)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ParseWindow reads --since/--until as a date (2026-11-01, midnight in zone)
// or an RFC 3339 time; until defaults to now.
func ParseWindow(since, until string, zone *time.Location, now time.Time) (time.Time, time.Time, error) {
	parse := func(s, name string) (time.Time, error) {
		s = strings.TrimSpace(s)
		if t, err := time.ParseInLocation(time.DateOnly, s, zone); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("--%s %q is not a date (2026-11-01) or an RFC 3339 time", name, s)
	}
	if since == "" {
		return time.Time{}, time.Time{}, errors.New("--since is required")
	}
	s, err := parse(since, "since")
	if err != nil {
		return s, s, err
	}
	u := now
	if until != "" {
		if u, err = parse(until, "until"); err != nil {
			return s, u, err
		}
	}
	if !s.Before(u) {
		return s, u, fmt.Errorf("--since %s is not before --until %s", s.Format(time.RFC3339), u.Format(time.RFC3339))
	}
	return s, u, nil
}

// StatusServer serves Handler on addr until ctx is done.
func (a *Agent) StatusServer(ln net.Listener, h http.Handler) Component {
	return ComponentFunc(func(ctx context.Context) error {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-errc
			return nil
		case err := <-errc:
			return err
		}
	})
}
