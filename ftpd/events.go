package ftpd

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event kinds, as Recent reports them.
const (
	EventConnect       = "connect"        // a control connection was accepted
	EventRefused       = "refused"        // a connection was turned away (ban, limits, shutdown)
	EventLogin         = "login"          // a user logged in
	EventLoginFailed   = "login_failed"   // wrong user name or password
	EventBanned        = "banned"         // an address reached the failure threshold
	EventUpload        = "upload"         // a file was imported (226)
	EventUploadRefused = "upload_refused" // the inbox refused the file's content (5xx, report in rejected/)
	EventUploadFailed  = "upload_failed"  // the upload was not imported: aborted, too large, bad name, full, or a local error
)

// Event is one thing that happened at the endpoint, for `storeagent status`.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	User   string    `json:"user,omitempty"`
	Remote string    `json:"remote"`         // the client's address, ip:port
	File   string    `json:"file,omitempty"` // the name the client uploaded
	Size   int64     `json:"size,omitempty"`
	Code   int       `json:"code,omitempty"` // the FTP reply, for uploads
	Detail string    `json:"detail,omitempty"`
}

// recentEvents is how many events Recent keeps.
const recentEvents = 512

// eventRing keeps the last recentEvents events.
type eventRing struct {
	mu   sync.Mutex
	buf  []Event
	next int
	full bool
}

func newEventRing(n int) *eventRing { return &eventRing{buf: make([]Event, n)} }

func (r *eventRing) add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the events, oldest first.
func (r *eventRing) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]Event(nil), r.buf[:r.next]...)
	}
	out := make([]Event, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// Counters are the endpoint's totals since the server was created, for the
// agent's /metrics (monotonic counters).
type Counters struct {
	Logins       uint64 `json:"logins"`        // successful logins
	FailedLogins uint64 `json:"failed_logins"` // wrong user name or password (not refusals for missing TLS)
	Bans         uint64 `json:"bans"`          // addresses banned by the defender
	// Uploads by outcome. Accepted: imported, 226 (or 250 to RNTO). Refused:
	// the content was refused, 550 with a report in rejected/. Full: 452,
	// the agent's buffer or the disk was full. Failed: every other upload
	// not imported (426 aborted, 451 local error, 550 not allowed there, 552
	// too large, 553 bad name).
	UploadsAccepted uint64 `json:"uploads_accepted"`
	UploadsRefused  uint64 `json:"uploads_refused"`
	UploadsFailed   uint64 `json:"uploads_failed"`
	UploadsFull     uint64 `json:"uploads_full"`
}

type counters struct {
	logins, failedLogins, bans                                  atomic.Uint64
	uploadsAccepted, uploadsRefused, uploadsFailed, uploadsFull atomic.Uint64
}

// upload counts the end of an upload that was not accepted, by its reply.
func (c *counters) uploadEnded(code int, kind string) {
	switch {
	case kind == EventUploadRefused:
		c.uploadsRefused.Add(1)
	case code == codeFull:
		c.uploadsFull.Add(1)
	default:
		c.uploadsFailed.Add(1)
	}
}

func (c *counters) snapshot() Counters {
	return Counters{
		Logins: c.logins.Load(), FailedLogins: c.failedLogins.Load(), Bans: c.bans.Load(),
		UploadsAccepted: c.uploadsAccepted.Load(), UploadsRefused: c.uploadsRefused.Load(),
		UploadsFailed: c.uploadsFailed.Load(), UploadsFull: c.uploadsFull.Load(),
	}
}
