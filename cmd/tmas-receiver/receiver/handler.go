package receiver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Handler returns the HTTP handler: the upstream API, and the admin
// endpoints when Config.Admin is set.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/batches", r.handleBatch)
	mux.HandleFunc("GET /v1/ping", r.handlePing)
	mux.HandleFunc("PUT /v1/agents/{id}/status", r.handleStatus)
	// The fleet view is for people and Prometheus at headquarters, not
	// agents: no injected fault touches it.
	fleet := http.NewServeMux()
	fleet.HandleFunc("GET /v1/fleet", r.handleFleetJSON)
	fleet.HandleFunc("GET /fleet", r.handleFleetPage)
	fleet.Handle("GET /metrics", r.metrics.handler())
	if r.cfg.Admin {
		mux.HandleFunc("GET /_admin/faults", r.handleGetFaults)
		mux.HandleFunc("POST /_admin/faults", r.handleSetFaults)
		mux.HandleFunc("GET /_admin/records", r.handleRecords)
		mux.HandleFunc("GET /_admin/stats", r.handleStats)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p := req.URL.Path; p == "/v1/fleet" || p == "/fleet" || p == "/metrics" {
			fleet.ServeHTTP(w, req)
			return
		}
		if !strings.HasPrefix(req.URL.Path, "/v1/") {
			mux.ServeHTTP(w, req)
			return
		}
		// The answer is held back so that an injected delay comes after
		// the work: a slow headquarters has already stored the batch when
		// the agent gives up waiting.
		delay := r.Faults().Delay.D()
		bw := &heldWriter{w: w, header: http.Header{}}
		mux.ServeHTTP(bw, req)
		if bw.hijacked {
			return
		}
		if bw.status == 0 {
			bw.status = http.StatusOK
		}
		r.count(bw.status)
		if delay > 0 {
			r.sleep(req, delay)
		}
		maps.Copy(w.Header(), bw.header)
		w.WriteHeader(bw.status)
		_, _ = w.Write(bw.body.Bytes())
	})
}

// sleep waits d, or less when the client goes away or the receiver closes.
func (r *Receiver) sleep(req *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.Context().Done():
	case <-r.done:
	}
}

// heldWriter holds an answer until it is written out after any delay.
type heldWriter struct {
	w        http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (h *heldWriter) Header() http.Header { return h.header }

func (h *heldWriter) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldWriter) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// Hijack hands over the connection, for the reset fault.
func (h *heldWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.w).Hijack()
	if err == nil {
		h.hijacked = true
	}
	return c, rw, err
}

// idemOK reports whether s is a valid Idempotency-Key: 1-128 of [A-Za-z0-9._:-].
func idemOK(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// maxAgentID bounds X-Agent-Id, which is part of a store key.
const maxAgentID = 256

func agentOK(s string) bool {
	if s == "" || len(s) > maxAgentID || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// bearer returns the request's bearer token, "" when there is none.
func bearer(req *http.Request) string {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// preamble applies the revoked fault and checks the token (401). It answers
// and returns false when the request must go no further. The token's own
// agent ("" for a shared token, valid for any) is checked by bound.
func (r *Receiver) preamble(w http.ResponseWriter, req *http.Request, claimed string) (owner string, ok bool) {
	tok := bearer(req)
	if !r.Faults().Revoked && tok != "" {
		if owner, ok = r.auth.who(tok, claimed); ok {
			return owner, true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="tmas"`)
	writeError(w, http.StatusUnauthorized, "the token is missing, wrong or revoked")
	return "", false
}

// bound answers 403 and returns false when a per-agent token is used with
// another agent's id.
func bound(w http.ResponseWriter, owner, agent string) bool {
	if owner == "" || owner == agent {
		return true
	}
	writeError(w, http.StatusForbidden, fmt.Sprintf("this token is not agent %q's", agent))
	return false
}

func (r *Receiver) handlePing(w http.ResponseWriter, req *http.Request) {
	agent := req.Header.Get("X-Agent-Id")
	owner, ok := r.preamble(w, req, agent)
	if !ok || (agent != "" && !bound(w, owner, agent)) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) handleBatch(w http.ResponseWriter, req *http.Request) {
	owner, ok := r.preamble(w, req, req.Header.Get("X-Agent-Id"))
	if !ok {
		return
	}
	if status, retryAfter := r.takeStatus(); status != 0 {
		r.log.Info("injected fault", "status", status, "retry_after", retryAfter)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeError(w, status, "injected fault: "+http.StatusText(status))
		return
	}
	agent, idem := req.Header.Get("X-Agent-Id"), req.Header.Get("Idempotency-Key")
	if msg := checkHeaders(req.Header); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if !bound(w, owner, agent) {
		return
	}
	if req.ContentLength > r.cfg.MaxBytes && !isGzip(req.Header) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", r.cfg.MaxBytes))
		return
	}
	body, status, msg := r.readBody(w, req)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	lines, msg := splitLines(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	out := r.submit(req.Context(), agent, idem, lines)
	log := r.log.With("agent", agent, "batch", idem, "lines", len(lines), "status", out.status)
	switch out.status {
	case http.StatusOK:
		log.Info("batch", "accepted", out.accepted, "duplicates", out.duplicates, "replay", out.replay)
		if r.takeReset() {
			r.reset(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"accepted": out.accepted, "duplicates": out.duplicates})
	case http.StatusUnprocessableEntity:
		log.Info("batch refused", "rejected", len(out.rejected))
		writeJSON(w, out.status, map[string][]rejection{"rejected": out.rejected})
	default:
		log.Info("batch refused", "error", out.err)
		writeError(w, out.status, out.err)
	}
}

// reset drops the connection without an answer: a TCP reset when possible.
func (r *Receiver) reset(w http.ResponseWriter) {
	r.mu.Lock()
	r.resets++
	r.mu.Unlock()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 and other writers that cannot be hijacked: abort the response.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func checkHeaders(h http.Header) string {
	if ct := h.Get("Content-Type"); ct == "" {
		return "Content-Type is missing: want application/x-ndjson"
	} else if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-ndjson" {
		return fmt.Sprintf("Content-Type %q is not application/x-ndjson", ct)
	}
	switch ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); ce {
	case "", "identity", "gzip":
	default:
		return fmt.Sprintf("Content-Encoding %q is not gzip or identity", h.Get("Content-Encoding"))
	}
	if ik := h.Get("Idempotency-Key"); !idemOK(ik) {
		if ik == "" {
			return "Idempotency-Key is missing"
		}
		return "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:-]"
	}
	if a := h.Get("X-Agent-Id"); !agentOK(a) {
		if a == "" {
			return "X-Agent-Id is missing"
		}
		return fmt.Sprintf("X-Agent-Id must be 1-%d printable characters", maxAgentID)
	}
	return ""
}

func isGzip(h http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(h.Get("Content-Encoding")), "gzip")
}

// readBody reads and decompresses the body within MaxBytes. A non-zero status
// is the answer to give.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int, string) {
	tooLarge := fmt.Sprintf("the body is larger than %d bytes", r.cfg.MaxBytes)
	// The compressed body is bounded too, against gzip streams of empty members.
	var src io.Reader = http.MaxBytesReader(w, req.Body, 2*r.cfg.MaxBytes+1<<20)
	gz := isGzip(req.Header)
	if gz {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, readStatus(err), "the body is not valid gzip"
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, r.cfg.MaxBytes+1))
	switch {
	case err != nil && readStatus(err) == http.StatusRequestEntityTooLarge:
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case err != nil && gz:
		return nil, http.StatusBadRequest, "the body is not valid gzip"
	case err != nil:
		return nil, http.StatusBadRequest, "the body could not be read"
	case int64(len(body)) > r.cfg.MaxBytes:
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case !utf8.Valid(body):
		return nil, http.StatusBadRequest, "the body is not UTF-8"
	}
	return body, 0, ""
}

func readStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// splitLines cuts an NDJSON body into lines, accepting CRLF and one final
// newline. Empty lines elsewhere, or no line at all, are not NDJSON.
func splitLines(body []byte) ([][]byte, string) {
	body = bytes.TrimSuffix(body, []byte("\n"))
	if len(body) == 0 {
		return nil, "the body holds no records"
	}
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(bytes.TrimSpace(l)) == 0 {
			return nil, fmt.Sprintf("line %d is empty", i+1)
		}
		lines[i] = l
	}
	return lines, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (r *Receiver) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.Faults())
}

func (r *Receiver) handleSetFaults(w http.ResponseWriter, req *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20))
	dec.DisallowUnknownFields()
	var f Faults
	if err := dec.Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("faults: %v", err))
		return
	}
	if err := r.SetFaults(f); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, r.Faults())
}

func (r *Receiver) handleRecords(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.Records())
}

func (r *Receiver) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.Stats())
}
