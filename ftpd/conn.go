package ftpd

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Why this file exists: ftpserverlib turns an error from an upload's Close
// into "550/552/553 Issue during transfer: <error>", and has no way to answer
// 451 (transient, retry) or 452 (buffer or disk full), which the agent's
// contract requires. So every control connection goes through ctrlConn,
// which sees the library's plaintext replies: when a transfer ends with one
// of our coded errors ("452 x.csv not kept: ..."), the connection is told to
// expect it, and the library's reply that wraps exactly that text is
// replaced by it. With explicit TLS the library wraps the connection in its
// own TLS server after "234", so from there ctrlConn terminates the client's
// TLS itself and speaks TLS to the library over an in-memory pipe (pinned to
// our own certificate): the library's TLS state (TLSRequired,
// HasTLSForControl) stays exact.

// coded is an error whose text starts with the FTP reply that should carry
// it: "452 x.csv not kept: ...". It unwraps to the library's sentinel for
// that code when there is one, so the library's own mapping agrees.
type coded struct {
	code  int
	msg   string // for the client: no paths, no internal detail
	err   error  // the library's sentinel for code, if any
	cause error  // for the log only
}

func (e *coded) Error() string { return strconv.Itoa(e.code) + " " + e.msg }
func (e *coded) Unwrap() error { return e.err }

var (
	// replyRE matches the library's replies that wrap a driver or transfer error.
	replyRE = regexp.MustCompile(`^55[023] (Issue during transfer|Could not access file): (.*)$`)
	// refusalRE matches a refusal from ClientConnected, which the library sends as 500.
	refusalRE = regexp.MustCompile(`^500 (421) (.+)$`)
)

// rewriteReply returns the reply line (without CRLF) the client should see.
// take reports whether the library's line ends with one of the coded
// errors this connection produced, and returns it: that error, alone, is
// the reply. A transfer that failed on the network without one of ours is
// a broken data connection: 426.
func rewriteReply(line string, take func(line string) (string, bool)) string {
	if m := refusalRE.FindStringSubmatch(line); m != nil {
		return m[1] + " " + m[2]
	}
	m := replyRE.FindStringSubmatch(line)
	if m == nil {
		return line
	}
	if ours, ok := take(line); ok {
		return ours
	}
	if rest, ok := strings.CutPrefix(m[2], "network error: error transferring data: "); ok && m[1] == "Issue during transfer" {
		return "426 transfer aborted: " + rest
	}
	return line
}

// peerAddr is the client address of a control connection, carrying the
// connection so that the driver can find it from ClientContext.RemoteAddr.
type peerAddr struct {
	net.Addr
	conn *ctrlConn
}

// ctrlConn is a control connection as the library sees it. See the top of
// the file.
type ctrlConn struct {
	raw   net.Conn // the TCP connection
	under net.Conn // what the plain phase reads and writes: raw, or a TLS server over it (implicit TLS)
	tls   *tls.Config
	pin   []byte // our certificate (DER), which the inner TLS client accepts
	addr  *peerAddr

	wmu     sync.Mutex // serializes writes and the switch to the TLS proxy
	pending []byte     // an incomplete reply line

	emu      sync.Mutex
	expected []string // coded replies this connection's transfers produced, not yet seen

	px        atomic.Pointer[tlsProxy]
	closed    atomic.Bool
	closeOnce sync.Once
	pumps     sync.WaitGroup
}

// tlsProxy is the explicit-TLS phase: lib is the library's end of the pipe.
type tlsProxy struct {
	lib, ours net.Conn
}

func newCtrlConn(raw net.Conn, implicit bool, cfg *tls.Config, pin []byte) *ctrlConn {
	c := &ctrlConn{raw: raw, under: raw, tls: cfg, pin: pin}
	if implicit {
		c.under = tls.Server(raw, cfg)
	}
	c.addr = &peerAddr{Addr: raw.RemoteAddr(), conn: c}
	return c
}

// expect registers a coded error that the library is about to send,
// wrapped in its own text, so that the reply becomes that error alone.
func (c *ctrlConn) expect(e *coded) {
	c.emu.Lock()
	defer c.emu.Unlock()
	c.expected = append(c.expected, e.Error())
	if len(c.expected) > 4 { // an aborted transfer gets no reply: forget the oldest
		c.expected = c.expected[1:]
	}
}

// take finds and forgets the expected reply that line ends with.
func (c *ctrlConn) take(line string) (string, bool) {
	c.emu.Lock()
	defer c.emu.Unlock()
	for i, e := range c.expected {
		if strings.HasSuffix(line, ": "+e) {
			c.expected = append(c.expected[:i], c.expected[i+1:]...)
			return e, true
		}
	}
	return "", false
}

// secure reports whether the control connection is encrypted.
func (c *ctrlConn) secure() bool { return c.under != c.raw || c.px.Load() != nil }

func (c *ctrlConn) Read(p []byte) (int, error) {
	if px := c.px.Load(); px != nil {
		return px.lib.Read(p)
	}
	return c.under.Read(p)
}

func (c *ctrlConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if px := c.px.Load(); px != nil {
		return px.lib.Write(p)
	}
	c.pending = append(c.pending, p...)
	for {
		i := bytes.IndexByte(c.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(c.pending[:i]), "\r")
		c.pending = c.pending[i+1:]
		if _, err := io.WriteString(c.under, rewriteReply(line, c.take)+"\r\n"); err != nil {
			return 0, err
		}
		if strings.HasPrefix(line, "234 ") {
			// The library now wraps us in its TLS server.
			if len(c.pending) > 0 {
				c.teardown()
				return 0, errors.New("control connection: data after the AUTH reply")
			}
			c.startProxy()
			return len(p), nil
		}
	}
}

// startProxy terminates the client's TLS and relays plaintext to and from
// the library's TLS server through an in-memory pipe, rewriting replies.
func (c *ctrlConn) startProxy() {
	if c.closed.Load() || c.tls == nil {
		c.teardown()
		return
	}
	// The library's read deadlines now apply to its end of the pipe.
	_ = c.raw.SetDeadline(time.Time{})
	lib, ours := net.Pipe()
	outer := tls.Server(c.under, c.tls)
	inner := tls.Client(ours, &tls.Config{
		// The peer is the library in this process, over a pipe; it must
		// present our own certificate, checked byte for byte.
		InsecureSkipVerify: true, //nolint:gosec // pinned below
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, c.pin) {
				return errors.New("control connection: unexpected certificate on the internal pipe")
			}
			return nil
		},
	})
	c.pumps.Add(2)
	c.px.Store(&tlsProxy{lib: lib, ours: ours})
	if c.closed.Load() { // closed meanwhile: make sure the pipe is closed too
		c.teardown()
	}
	go func() { // client → library: commands
		defer c.pumps.Done()
		defer c.teardown()
		_, _ = io.Copy(inner, outer)
	}()
	go func() { // library → client: replies
		defer c.pumps.Done()
		defer c.teardown()
		br := bufio.NewReader(inner)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				out := line
				if err == nil {
					s := strings.TrimRight(string(line), "\r\n")
					if strings.HasPrefix(s, "234 ") {
						return // a second AUTH inside TLS: not supported
					}
					out = []byte(rewriteReply(s, c.take) + "\r\n")
				}
				if _, werr := outer.Write(out); werr != nil {
					return
				}
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	}()
}

// teardown closes every underlying connection; it never blocks.
func (c *ctrlConn) teardown() {
	c.closed.Store(true)
	_ = c.raw.Close()
	if px := c.px.Load(); px != nil {
		_ = px.lib.Close()
		_ = px.ours.Close()
	}
}

// Close closes the connection and waits for the relay goroutines.
func (c *ctrlConn) Close() error {
	c.closeOnce.Do(func() {
		c.teardown()
		// A switch to the proxy in flight finishes (and sees closed) before
		// this lock, so no relay goroutine starts after the Wait.
		c.wmu.Lock()
		c.wmu.Unlock() //nolint:staticcheck // a barrier, not a critical section
		c.pumps.Wait()
	})
	return nil
}

func (c *ctrlConn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *ctrlConn) RemoteAddr() net.Addr { return c.addr }

func (c *ctrlConn) SetDeadline(t time.Time) error {
	if px := c.px.Load(); px != nil {
		return px.lib.SetDeadline(t)
	}
	return c.under.SetDeadline(t)
}

func (c *ctrlConn) SetReadDeadline(t time.Time) error {
	if px := c.px.Load(); px != nil {
		return px.lib.SetReadDeadline(t)
	}
	return c.under.SetReadDeadline(t)
}

func (c *ctrlConn) SetWriteDeadline(t time.Time) error {
	if px := c.px.Load(); px != nil {
		return px.lib.SetWriteDeadline(t)
	}
	return c.under.SetWriteDeadline(t)
}

var _ net.Conn = (*ctrlConn)(nil)

// ctrlListener hands the library wrapped control connections.
type ctrlListener struct {
	net.Listener
	adopt func(net.Conn) net.Conn
}

func (l *ctrlListener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err // unchanged: the library recognizes a closed listener by its text
	}
	return l.adopt(raw), nil
}

// pasvListener is a passive data listener the server can close on shutdown
// (the library waits on it for up to ConnectionTimeout).
type pasvListener struct {
	net.Listener
	once    sync.Once
	release func()
}

func (l *pasvListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.release)
	return err
}
