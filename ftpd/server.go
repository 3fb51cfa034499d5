package ftpd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"golang.org/x/crypto/bcrypt"
)

// Inbox imports a complete, fsynced upload. It moves the file at u.Path to
// u.Home/archive/ or u.Home/rejected/ (writing <name>.errors.txt beside a
// refused one) and returns only once the outcome is durably committed.
//
// Errors: errors.Is(err, record.ErrFull): the buffer or disk is full and
// nothing was kept (the inbox leaves no file): the client gets 452.
// A *record.RefusedError: the content was refused: the client gets 550 with
// the report's name. Any other error is transient: the client gets 451 and
// sends the file again.
type Inbox interface {
	Import(ctx context.Context, u Upload) error
}

// Upload is a complete upload handed to the Inbox.
type Upload struct {
	User       string // the FTP user
	Location   string // the TMAS location the user is bound to, or ""
	Home       string // the user's home folder (absolute)
	Path       string // the uploaded file (absolute, directly in Home; its name may differ from Name when a file of that name was still pending)
	Name       string // the name the client gave: the report is rejected/<Name>.errors.txt
	RemoteAddr string // the client's ip:port
	Size       int64
}

// Server is the FTP endpoint. New checks the configuration, Listen binds the
// port, Serve runs until its context is done.
type Server struct {
	cfg    Config
	inbox  Inbox
	log    *slog.Logger
	users  map[string]*account
	dummy  []byte // a bcrypt hash compared against for unknown users, so they take as long
	def    *defender
	events *eventRing
	counts counters
	quit   chan struct{} // closed when shutdown starts

	// Test seams: nil in production.
	sleep       func(time.Duration)           // replaces the failed-login delay
	wrapPartial func(partialFile) partialFile // wraps every temporary upload file

	mu       sync.Mutex
	ftp      *ftpserver.FtpServer
	ln       net.Listener
	tlsConf  *tls.Config
	homes    map[string]*home
	conns    map[*ctrlConn]struct{}
	sessions map[*ctrlConn]*session
	perIP    map[netip.Addr]int
	passive  map[*pasvListener]struct{}
	closing  bool
	served   bool

	connWG   sync.WaitGroup // one per accepted control connection, until ClientDisconnected
	uploadWG sync.WaitGroup // one per upload (and RNTO import), until it returned
	sweepWG  sync.WaitGroup // the hourly sweep of temporary uploads
}

type account struct {
	User
	hash []byte
	home string
}

type session struct {
	ip     netip.Addr
	remote string
}

var (
	_ ftpserver.MainDriver                        = (*Server)(nil)
	_ ftpserver.MainDriverExtensionPassiveWrapper = (*Server)(nil)
	_ ftpserver.MainDriverExtensionUserVerifier   = (*Server)(nil)
)

// errTLSRequired answers a login attempt in cleartext when tls.required is
// set: 530 (not logged in) with what to change, which clients show as is
// (a 421 made curl report a timeout and tnftp "Login failed").
var errTLSRequired = &coded{code: 530, msg: "this server requires TLS (explicit FTPS): set your client to FTP over TLS"}

// New checks cfg (after SetDefaults) and prepares a server; it does no I/O.
func New(cfg Config, inbox Inbox, logger *slog.Logger) (*Server, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inbox == nil {
		return nil, errors.New("ftp: no inbox")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	homeRoot, err := filepath.Abs(cfg.HomeRoot)
	if err != nil {
		return nil, fmt.Errorf("ftp.home_root: %w", err)
	}
	cfg.HomeRoot = homeRoot
	if cfg.CertDir == "" {
		cfg.CertDir = filepath.Join(homeRoot, ".tls")
	}
	if cfg.CertDir, err = filepath.Abs(cfg.CertDir); err != nil {
		return nil, fmt.Errorf("ftp.cert_dir: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		inbox:    inbox,
		log:      logger,
		users:    map[string]*account{},
		def:      newDefender(cfg.Defender),
		events:   newEventRing(recentEvents),
		quit:     make(chan struct{}),
		homes:    map[string]*home{},
		conns:    map[*ctrlConn]struct{}{},
		sessions: map[*ctrlConn]*session{},
		perIP:    map[netip.Addr]int{},
		passive:  map[*pasvListener]struct{}{},
	}
	for _, u := range cfg.Users {
		s.users[u.Name] = &account{User: u, hash: []byte(u.PasswordHash), home: filepath.Join(homeRoot, u.Name)}
	}
	cost, _ := bcrypt.Cost([]byte(cfg.Users[0].PasswordHash))
	s.dummy, err = bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("ftp: %w", err)
	}
	return s, nil
}

// Listen prepares the users' homes and the TLS certificate, and binds the
// control port, so that Addr tells the port before Serve.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.served {
		return errors.New("ftp: already listening")
	}
	return s.listenLocked()
}

func (s *Server) listenLocked() (err error) {
	defer func() {
		if err != nil {
			s.closeHomes()
		}
	}()
	for name, a := range s.users {
		h, err := openHome(a.home, s.log)
		if err != nil {
			return fmt.Errorf("ftp: home of %s: %w", name, err)
		}
		s.homes[name] = h
	}
	if s.cfg.TLS.Mode != TLSOff {
		cert, err := loadCertificate(s.cfg.TLS, s.cfg.CertDir, s.cfg.PublicHost, s.log)
		if err != nil {
			return fmt.Errorf("ftp: %w", err)
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("ftp: listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = &ctrlListener{Listener: ln, adopt: s.adopt}
	s.ftp = ftpserver.NewFtpServer(s)
	s.ftp.Logger = s.log.With("lib", "ftpserverlib")
	if err := s.ftp.Listen(); err != nil {
		_ = ln.Close()
		s.ln, s.ftp = nil, nil
		return fmt.Errorf("ftp: %w", err)
	}
	s.log.Info("ftp endpoint listening", "addr", ln.Addr().String(), "tls", s.cfg.TLS.Mode,
		"tls_required", s.cfg.TLS.Required || s.cfg.TLS.Mode == TLSImplicit, "passive_ports", s.cfg.PassivePorts)
	return nil
}

// Addr is the bound control address ("" before Listen).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve accepts clients until ctx is done (calling Listen first if needed).
// Then it closes the listener and every live connection (an upload in
// progress is aborted and not imported, an import in progress sees its
// context canceled) and returns once all its goroutines have exited.
// Cancellation is not an error.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		return errors.New("ftp: Serve called twice")
	}
	s.served = true
	if s.ln == nil {
		if err := s.listenLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- s.ftp.Serve() }()
	s.sweepWG.Add(1)
	go func() { // temporary uploads never renamed, every hour
		defer s.sweepWG.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				s.sweepTemps(now)
			case <-s.quit:
				return
			}
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-done:
		done = nil
		if err != nil {
			err = fmt.Errorf("ftp: serve: %w", err)
		}
	}
	s.shutdown(done)
	return err
}

func (s *Server) shutdown(serving <-chan error) {
	s.mu.Lock()
	s.closing = true
	close(s.quit)
	s.mu.Unlock()
	if err := s.ftp.Stop(); err != nil && !errors.Is(err, ftpserver.ErrNotListening) {
		s.log.Warn("stop listening", "err", err)
	}
	if serving != nil {
		<-serving
	}
	s.mu.Lock()
	var pasv []*pasvListener
	for l := range s.passive {
		pasv = append(pasv, l)
	}
	var conns []*ctrlConn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, l := range pasv {
		_ = l.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
	s.connWG.Wait()
	s.uploadWG.Wait()
	s.sweepWG.Wait()
	s.mu.Lock()
	s.closeHomes()
	s.mu.Unlock()
	s.log.Info("ftp endpoint stopped", "closed_connections", len(conns))
}

func (s *Server) closeHomes() {
	for name, h := range s.homes {
		_ = h.root.Close()
		delete(s.homes, name)
	}
}

// Recent returns the last connection, login, upload and refusal events,
// oldest first.
func (s *Server) Recent() []Event { return s.events.list() }

// Counters returns the endpoint's totals since New (safe to call at any
// time, from any goroutine).
func (s *Server) Counters() Counters { return s.counts.snapshot() }

// adopt wraps a newly accepted control connection; ClientDisconnected
// releases it.
func (s *Server) adopt(raw net.Conn) net.Conn {
	implicit := s.cfg.TLS.Mode == TLSImplicit
	c := newCtrlConn(raw, implicit, s.tlsConf)
	if implicit { // bounds the handshake; the library sets its own deadlines afterwards
		_ = raw.SetDeadline(time.Now().Add(s.cfg.ConnectionTimeout.D()))
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.connWG.Add(1)
	return c
}

// connOf finds our connection behind a library client.
func connOf(cc ftpserver.ClientContext) *ctrlConn {
	if a, ok := cc.RemoteAddr().(*peerAddr); ok {
		return a.conn
	}
	panic("ftpd: a client connection that was not accepted by the server's listener")
}

func addrIP(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// GetSettings is the library's configuration.
func (s *Server) GetSettings() (*ftpserver.Settings, error) {
	lo, hi, _ := parsePortRange(s.cfg.PassivePorts)
	st := &ftpserver.Settings{
		Listener:                s.ln,
		Banner:                  "storeagent FTP endpoint",
		IdleTimeout:             seconds(s.cfg.IdleTimeout.D()),
		ConnectionTimeout:       seconds(s.cfg.ConnectionTimeout.D()),
		DisableActiveMode:       !s.cfg.ActiveMode,
		ActiveTransferPortNon20: true,
		DisableSite:             true,
		DisableMFMT:             true,
		DefaultTransferType:     ftpserver.TransferTypeBinary,
		// TYPE A is converted by ftpd itself (ascii.go): the library's
		// conversion would store LF on Unix and keep a CR CR LF as CR LF.
		DisableASCIIConversion: true,
		ActiveConnectionsCheck: ftpserver.IPMatchRequired,
		PasvConnectionsCheck:   ftpserver.IPMatchRequired,
	}
	switch {
	case s.cfg.TLS.Mode == TLSImplicit:
		st.TLSRequired = ftpserver.ImplicitEncryption
	case s.cfg.TLS.Mode == TLSExplicit && s.cfg.TLS.Required:
		st.TLSRequired = ftpserver.MandatoryEncryption
	default:
		st.TLSRequired = ftpserver.ClearOrEncrypted
	}
	if hi > 0 {
		st.PassiveTransferPortRange = ftpserver.PortRange{Start: lo, End: hi}
	}
	if h := s.cfg.PublicHost; h != "" {
		if ip, err := netip.ParseAddr(h); err == nil {
			st.PublicHost = ip.String()
		} else {
			st.PublicIPResolver = func(ftpserver.ClientContext) (string, error) { return resolve4(h) }
		}
	}
	return st, nil
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// resolve4 finds the IPv4 address of the public host name, for PASV.
func resolve4(host string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolve public_host %s: %w", host, err)
	}
	return ips[0].Unmap().String(), nil
}

// GetTLSConfig is the one TLS configuration of the server (the same value
// every time, so that data connections can resume the control session).
func (s *Server) GetTLSConfig() (*tls.Config, error) {
	if s.tlsConf == nil {
		return nil, errors.New("TLS is off on this server")
	}
	return s.tlsConf, nil
}

// WrapPassiveListener keeps track of passive listeners, to close them at
// shutdown.
func (s *Server) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		_ = l.Close()
		return nil, errors.New("the server is shutting down")
	}
	pl := &pasvListener{Listener: l}
	pl.release = func() {
		s.mu.Lock()
		delete(s.passive, pl)
		s.mu.Unlock()
	}
	s.passive[pl] = struct{}{}
	return pl, nil
}

// ClientConnected admits a connection, or refuses it (421) when its address
// is banned, when there are too many connections, or during shutdown.
func (s *Server) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	c := connOf(cc)
	ip, remote := addrIP(c.raw.RemoteAddr()), c.raw.RemoteAddr().String()
	until, banned := s.def.banned(ip)
	var why string
	s.mu.Lock()
	switch {
	case s.closing:
		why = "the server is shutting down, try again later"
	case banned:
		why = "too many failed logins from your address, try again after " + until.UTC().Format(time.RFC3339)
	case len(s.sessions) >= s.cfg.MaxConnections:
		why = "too many connections, try again later"
	case s.perIP[ip] >= s.cfg.MaxConnectionsPerIP:
		why = "too many connections from your address, try again later"
	default:
		s.sessions[c] = &session{ip: ip, remote: remote}
		s.perIP[ip]++
	}
	s.mu.Unlock()
	if why != "" {
		s.log.Info("ftp connection refused", "remote", remote, "reason", why)
		s.events.add(Event{Kind: EventRefused, Remote: remote, Code: 421, Detail: why})
		return why, &coded{code: 421, msg: why}
	}
	s.log.Info("ftp connection", "remote", remote, "tls", cc.HasTLSForControl())
	s.events.add(Event{Kind: EventConnect, Remote: remote})
	return "storeagent FTP endpoint ready", nil
}

// ClientDisconnected releases the connection's place.
func (s *Server) ClientDisconnected(cc ftpserver.ClientContext) {
	c := connOf(cc)
	s.mu.Lock()
	if sess, ok := s.sessions[c]; ok {
		delete(s.sessions, c)
		if s.perIP[sess.ip]--; s.perIP[sess.ip] <= 0 {
			delete(s.perIP, sess.ip)
		}
	}
	delete(s.conns, c)
	s.mu.Unlock()
	s.log.Debug("ftp disconnection", "remote", c.raw.RemoteAddr().String())
	s.connWG.Done()
}

// PreAuthUser refuses USER in cleartext when TLS is required (errTLSRequired);
// the library then closes the connection.
func (s *Server) PreAuthUser(cc ftpserver.ClientContext, _ string) error {
	if s.tlsRequired() && !cc.HasTLSForControl() {
		s.log.Info("ftp login refused: TLS is required", "remote", connOf(cc).raw.RemoteAddr().String())
		return errTLSRequired
	}
	return nil
}

func (s *Server) tlsRequired() bool {
	return s.cfg.TLS.Mode == TLSImplicit || s.cfg.TLS.Mode == TLSExplicit && s.cfg.TLS.Required
}

// errLogin is all a client learns about a failed login.
var errLogin = errors.New("wrong user name or password")

// AuthUser checks a password against the user's bcrypt hash. A failure
// scores against the client's address, is answered after a delay, and may
// ban the address.
func (s *Server) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	c := connOf(cc)
	ip, remote := addrIP(c.raw.RemoteAddr()), c.raw.RemoteAddr().String()
	if s.tlsRequired() && !cc.HasTLSForControl() { // PASS without USER
		return nil, errTLSRequired
	}
	if until, banned := s.def.banned(ip); banned {
		return nil, errors.New("too many failed logins from your address, try again after " + until.UTC().Format(time.RFC3339))
	}
	a := s.users[user]
	hash := s.dummy
	if a != nil {
		hash = a.hash
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	name := sanitize(user, 64)
	if a == nil || err != nil {
		until, banned := s.def.fail(ip)
		s.counts.failedLogins.Add(1)
		s.log.Warn("ftp login failed", "user", name, "remote", remote, "known_user", a != nil)
		s.events.add(Event{Kind: EventLoginFailed, User: name, Remote: remote})
		if banned {
			s.counts.bans.Add(1)
			s.log.Warn("ftp address banned after repeated login failures", "remote", remote, "until", until)
			s.events.add(Event{Kind: EventBanned, Remote: remote, Detail: "until " + until.UTC().Format(time.RFC3339)})
		}
		s.pause(s.cfg.Defender.FailureDelay.D())
		return nil, errLogin
	}
	s.mu.Lock()
	h := s.homes[a.Name]
	s.mu.Unlock()
	if h == nil {
		return nil, errors.New("the server is shutting down")
	}
	s.counts.logins.Add(1)
	s.log.Info("ftp login", "user", a.Name, "remote", remote, "tls", cc.HasTLSForControl())
	s.events.add(Event{Kind: EventLogin, User: a.Name, Remote: remote})
	return &userFS{s: s, cc: cc, acct: a, home: h, conn: c, remote: remote, log: s.log.With("user", a.Name, "remote", remote)}, nil
}

// pause waits d, or less if the server shuts down.
func (s *Server) pause(d time.Duration) {
	if s.sleep != nil {
		s.sleep(d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.quit:
	}
}

// importContext is the context of one Import: canceled at shutdown.
func (s *Server) importContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-stop:
		}
	}()
	return ctx, func() {
		close(stop)
		cancel()
	}
}

// startUpload registers an upload, unless the server is shutting down.
func (s *Server) startUpload() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.uploadWG.Add(1)
	return true
}
