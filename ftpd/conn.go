package ftpd

import (
	"crypto/tls"
	"net"
	"strconv"
	"sync"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

// coded is an error that carries the FTP reply the client gets for it:
// code and msg, exactly. It implements ftpserverlib's ReplyError (our patch
// of the library, see ftpserverlib/PATCH.md), which the library honours
// where it turns a driver's error into a reply: ClientConnected,
// PreAuthUser, GetHandle, an upload's Write and Close, and Rename. It
// unwraps to the library's sentinel for that code when there is one.
type coded struct {
	code  int
	msg   string // for the client: no paths, no internal detail
	err   error  // the library's sentinel for code, if any
	cause error  // for the log only
}

func (e *coded) Error() string        { return strconv.Itoa(e.code) + " " + e.msg }
func (e *coded) Unwrap() error        { return e.err }
func (e *coded) ReplyCode() int       { return e.code }
func (e *coded) ReplyMessage() string { return e.msg }

var _ ftpserver.ReplyError = (*coded)(nil)

// peerAddr is the client address of a control connection, carrying the
// connection so that the driver can find it from ClientContext.RemoteAddr
// (a TLS connection the library wraps around ours reports it too).
type peerAddr struct {
	net.Addr
	conn *ctrlConn
}

// ctrlConn is a control connection as the library sees it: the TCP
// connection (behind our TLS server with implicit TLS), known to the server
// so that shutdown can close it.
type ctrlConn struct {
	net.Conn          // what the library reads and writes: raw, or a TLS server over it (implicit TLS)
	raw      net.Conn // the TCP connection
	addr     *peerAddr
	once     sync.Once
}

func newCtrlConn(raw net.Conn, implicit bool, cfg *tls.Config) *ctrlConn {
	c := &ctrlConn{Conn: raw, raw: raw}
	if implicit {
		c.Conn = tls.Server(raw, cfg)
	}
	c.addr = &peerAddr{Addr: raw.RemoteAddr(), conn: c}
	return c
}

// Close closes the TCP connection (without a TLS close_notify, which could
// block on a client that does not read).
func (c *ctrlConn) Close() error {
	var err error
	c.once.Do(func() { err = c.raw.Close() })
	return err
}

func (c *ctrlConn) RemoteAddr() net.Addr { return c.addr }

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
