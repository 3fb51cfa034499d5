package ftpd

import (
	"sync"
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
