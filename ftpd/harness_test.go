package ftpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"

	"github.com/tmas/storeagent/importers/record"
)

const (
	testUser     = "clock"
	testPassword = "s3cret-Pa55word"
	testLocation = "0421"
	otherUser    = "payroll"
)

// outcome is what the fake inbox does with one upload.
type outcome int

const (
	accept    outcome = iota // move to archive/
	full                     // delete the file, return record.ErrFull
	refuse                   // move to rejected/, write the report, return *record.RefusedError
	transient                // leave the file, return a plain error
)

// fakeInbox behaves like the agent's inbox: it moves each upload to
// archive/ or rejected/, or refuses it as the test planned, per file name.
type fakeInbox struct {
	sync bool // fsync the moved file and archive/ (for the benchmark)

	mu    sync.Mutex
	plan  map[string][]outcome
	calls []Upload
}

func newFakeInbox() *fakeInbox { return &fakeInbox{plan: map[string][]outcome{}} }

// will queues outcomes for uploads named name; afterwards they are accepted.
func (in *fakeInbox) will(name string, o ...outcome) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.plan[name] = append(in.plan[name], o...)
}

func (in *fakeInbox) uploads() []Upload {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.calls)
}

func (in *fakeInbox) Import(ctx context.Context, u Upload) error {
	in.mu.Lock()
	in.calls = append(in.calls, u)
	o := accept
	if q := in.plan[u.Name]; len(q) > 0 {
		o, in.plan[u.Name] = q[0], q[1:]
	}
	in.mu.Unlock()
	switch o {
	case full:
		if err := os.Remove(u.Path); err != nil {
			return err
		}
		return fmt.Errorf("commit %s: %w", u.Name, record.ErrFull)
	case refuse:
		dst := filepath.Join(u.Home, rejectedDir, u.Name)
		if err := os.Rename(u.Path, dst); err != nil {
			return err
		}
		report := dst + ".errors.txt"
		text := "line 2: date: \"31/02/2026\" is not a date\r\nline 3: employee_id: missing\r\nline 5: hours: \"x\" is not a number\r\n"
		if err := os.WriteFile(report, []byte(text), 0o640); err != nil {
			return err
		}
		return &record.RefusedError{Name: u.Name, Lines: 3, Report: report, Reason: "line 2: date: \"31/02/2026\" is not a date"}
	case transient:
		return errors.New("buffer: database timeout")
	}
	dst := filepath.Join(u.Home, archiveDir, u.Name)
	if _, err := os.Lstat(dst); err == nil {
		dst = filepath.Join(u.Home, archiveDir, fmt.Sprintf("%d-%s", time.Now().UnixNano(), u.Name))
	}
	if in.sync {
		f, err := os.Open(u.Path)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := os.Rename(u.Path, dst); err != nil {
		return err
	}
	if in.sync {
		d, err := os.Open(filepath.Dir(dst))
		if err != nil {
			return err
		}
		err = d.Sync()
		d.Close()
		return err
	}
	return nil
}

var _ Inbox = (*fakeInbox)(nil)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a running Server with a fake inbox.
type testServer struct {
	*Server
	addr   string
	inbox  *fakeInbox
	root   string // HomeRoot
	home   string // the home of testUser
	logs   *syncBuffer
	stop   func() error // cancels Serve and returns its result
	mu     sync.Mutex
	delays []time.Duration
}

func testHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// startServer runs a server on 127.0.0.1 with two users, TLS off and any
// passive port, after edit has changed the configuration and prepare the
// server (before it serves).
func startServer(t testing.TB, edit func(*Config), prepare ...func(*Server)) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{
		Listen:       "127.0.0.1:0",
		PassivePorts: "0",
		TLS:          TLSConfig{Mode: TLSOff},
		HomeRoot:     filepath.Join(dir, "ftp"),
		Users: []User{
			{Name: testUser, PasswordHash: testHash(t, testPassword), Location: testLocation},
			{Name: otherUser, PasswordHash: testHash(t, "another-password")},
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	ts := &testServer{inbox: newFakeInbox(), root: cfg.HomeRoot, home: filepath.Join(cfg.HomeRoot, testUser), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, ts.inbox, logger)
	if err != nil {
		t.Fatal(err)
	}
	s.sleep = func(d time.Duration) {
		ts.mu.Lock()
		ts.delays = append(ts.delays, d)
		ts.mu.Unlock()
	}
	for _, p := range prepare {
		p(s)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ts.Server, ts.addr = s, s.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("Serve: got %v, want nil", err)
		}
		logs := ts.logs.String()
		for _, secret := range []string{testPassword, "another-password", "wrong-password"} {
			if strings.Contains(logs, secret) {
				t.Errorf("a password appears in the logs:\n%s", logs)
			}
		}
	})
	return ts
}

func (ts *testServer) failureDelays() []time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.delays)
}

// from binds a client to a local loopback address (127.0.0.2...).
func from(ip string) ftp.DialOption {
	return ftp.DialWithDialer(net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second})
}

// dial connects a jlaffaye client.
func (ts *testServer) dial(t testing.TB, opts ...ftp.DialOption) (*ftp.ServerConn, error) {
	t.Helper()
	opts = append([]ftp.DialOption{ftp.DialWithTimeout(10 * time.Second), ftp.DialWithDisabledMLSD(true)}, opts...)
	c, err := ftp.Dial(ts.addr, opts...)
	if err == nil {
		t.Cleanup(func() { _ = c.Quit() })
	}
	return c, err
}

// login connects and logs in as testUser, failing the test otherwise.
func (ts *testServer) login(t testing.TB, opts ...ftp.DialOption) *ftp.ServerConn {
	t.Helper()
	c, err := ts.dial(t, opts...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := c.Login(testUser, testPassword); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

// reply renders an FTP error as "code message", or "" for nil.
func reply(err error) string {
	if err == nil {
		return ""
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return fmt.Sprintf("%d %s", tp.Code, tp.Msg)
	}
	return "not an FTP reply: " + err.Error()
}

// tree lists the files under dir (slash paths, relative), with their content.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		r, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			out[filepath.ToSlash(r)] = "-> " + target
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(r)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing after a generous deadline (a
// synchronization point, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tlsClientConfig trusts the server's certificate.
func (ts *testServer) tlsClientConfig(t testing.TB) *tls.Config {
	t.Helper()
	conf, err := ts.GetTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	leaf := conf.Certificates[0].Leaf
	return &tls.Config{
		ServerName:         "127.0.0.1",
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // checked against the server's own certificate below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !cs.PeerCertificates[0].Equal(leaf) {
				return errors.New("not the server's certificate")
			}
			return nil
		},
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
}

// rawClient speaks FTP by hand, for what a library client cannot do
// (ABOR mid-transfer, resetting the data connection).
type rawClient struct {
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := &rawClient{conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { _ = r.tp.Close() })
	r.expect(t, 220)
	return r
}

// cmd sends a command and returns the reply as "code message".
func (r *rawClient) cmd(t testing.TB, format string, args ...any) string {
	t.Helper()
	if _, err := r.tp.Cmd(format, args...); err != nil {
		t.Fatal(err)
	}
	return r.read(t)
}

func (r *rawClient) read(t testing.TB) string {
	t.Helper()
	code, msg, err := r.tp.ReadResponse(0)
	if err != nil && code == 0 {
		t.Fatalf("read reply: %v", err)
	}
	return fmt.Sprintf("%d %s", code, msg)
}

func (r *rawClient) expect(t testing.TB, code int) {
	t.Helper()
	if got := r.read(t); !strings.HasPrefix(got, fmt.Sprint(code)) {
		t.Fatalf("got reply %q, want %d", got, code)
	}
}

// login logs in and opens a passive data connection.
func (r *rawClient) loginAndPassive(t testing.TB) net.Conn {
	t.Helper()
	for _, c := range []struct {
		cmd  string
		want string
	}{{"USER " + testUser, "331"}, {"PASS " + testPassword, "230"}, {"TYPE I", "200"}} {
		if got := r.cmd(t, "%s", c.cmd); !strings.HasPrefix(got, c.want) {
			t.Fatalf("%s: got %q, want %s", strings.Fields(c.cmd)[0], got, c.want)
		}
	}
	got := r.cmd(t, "EPSV")
	var port int
	if _, err := fmt.Sscanf(got[strings.Index(got, "|||"):], "|||%d|)", &port); err != nil {
		t.Fatalf("EPSV: got %q", got)
	}
	host, _, _ := net.SplitHostPort(r.conn.RemoteAddr().String())
	data, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = data.Close() })
	return data
}

// hasEvent reports whether Recent holds an event matching want on its
// kind, file and code.
func hasEvent(s *Server, want Event) bool {
	for _, e := range s.Recent() {
		if e.Kind == want.Kind && e.File == want.File && e.Code == want.Code {
			return true
		}
	}
	return false
}
