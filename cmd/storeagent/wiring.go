package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/ftpd"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
)

// posSource is what the command line needs of a POS importer besides what
// the agent needs: its own list of locations and its doctor checks.
type posSource interface {
	agent.Importer
	agent.Backfiller
	Locations(ctx context.Context) ([]record.Location, error)
	Check(ctx context.Context) []record.Finding
}

// sourceDeps are what constructors may need from the running program.
type sourceDeps struct {
	logger *slog.Logger
	state  stateStore // where tokens are kept durably
}

// stateStore is the part of the buffer a source keeps its own state in.
type stateStore interface {
	State(name string) ([]byte, error)
	SetState(values map[string][]byte) error
}

// sourceSpec builds one configured source: its importer and schedule.
type sourceSpec func(c *config.Config, d sourceDeps) (posSource, agent.Source, error)

// sources is the one list of POS sources: adding one is a folder under
// importers/ and a line here. A nil result means "not configured".
var sources = map[string]sourceSpec{
	"shopify": shopifySource,
	"vend": func(c *config.Config, d sourceDeps) (posSource, agent.Source, error) {
		if c.Vend == nil {
			return nil, agent.Source{}, nil
		}
		var ts vend.TokenStore
		if c.Vend.UsesOAuth() && d.state != nil {
			ts = vendTokens{d.state}
		}
		imp, err := vend.New(*c.Vend, c.Bindings("vend"), vend.Options{Logger: d.logger.With("source", "vend"), TokenStore: ts})
		if err != nil {
			return nil, agent.Source{}, err
		}
		return imp, agent.Source{Name: "vend", Importer: imp, Schedule: c.Vend.Schedule, Spread: c.Vend.Spread.D()}, nil
	},
}

// buildSources constructs every configured source.
func buildSources(c *config.Config, d sourceDeps) (map[string]posSource, []agent.Source, error) {
	imps := map[string]posSource{}
	var list []agent.Source
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		imp, src, err := sources[name](c, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if imp == nil {
			continue
		}
		imps[name] = imp
		list = append(list, src)
	}
	return imps, list, errors.Join(errs...)
}

// vendTokens keeps the Lightspeed token in the buffer file, so a rotated
// refresh token is durable before it is used.
type vendTokens struct{ st stateStore }

const vendTokenState = "token:vend"

func (v vendTokens) LoadToken(context.Context) (vend.Token, error) {
	raw, err := v.st.State(vendTokenState)
	if err != nil {
		return vend.Token{}, err
	}
	if raw == nil {
		return vend.Token{}, vend.ErrNoToken
	}
	var t vend.Token
	return t, t.UnmarshalBinary(raw)
}

func (v vendTokens) SaveToken(_ context.Context, t vend.Token) error {
	raw, err := t.MarshalBinary()
	if err != nil {
		return err
	}
	return v.st.SetState(map[string][]byte{vendTokenState: raw})
}

// lazyState lets sources be built before the agent opens the buffer.
type lazyState struct{ sp *spool.Spool }

func (l *lazyState) State(name string) ([]byte, error) {
	if l.sp == nil {
		return nil, errors.New("the buffer is not open")
	}
	return l.sp.State(name)
}

func (l *lazyState) SetState(v map[string][]byte) error {
	if l.sp == nil {
		return errors.New("the buffer is not open")
	}
	return l.sp.SetState(v)
}

// assembled is a ready agent with its listening endpoints.
type assembled struct {
	agent     *agent.Agent
	ftp       *ftpd.Server
	statusURL string
	extra     map[string]agent.Component
}

// assemble builds the agent, its sources, the FTP endpoint and the status
// server, and binds their ports, so that the caller can print them before
// running.
func assemble(c *config.Config, logger *slog.Logger, opts agent.Options) (*assembled, error) {
	state := &lazyState{}
	_, list, err := buildSources(c, sourceDeps{logger: logger, state: state})
	if err != nil {
		return nil, usageError{err}
	}
	opts.Logger, opts.Version, opts.Sources = logger, version, list
	if c.FTP != nil {
		for _, u := range c.FTP.Users {
			opts.Folders = append(opts.Folders, agent.Folder{Dir: filepath.Join(c.FTP.HomeRoot, u.Name), Location: u.Location, Origin: "ftp:" + u.Name})
		}
	}
	a, err := agent.New(c, opts)
	if err != nil {
		return nil, err
	}
	state.sp = a.Spool()
	out := &assembled{agent: a, extra: map[string]agent.Component{}}
	if c.FTP != nil {
		srv, err := ftpd.New(*c.FTP, ftpInbox{a}, logger.With("component", "ftp"))
		if err != nil {
			a.Spool().Close()
			return nil, err
		}
		if err := srv.Listen(); err != nil {
			a.Spool().Close()
			return nil, fmt.Errorf("ftp: %w", err)
		}
		out.ftp = srv
		out.extra["ftp"] = agent.ComponentFunc(srv.Serve)
	}
	ln, err := net.Listen("tcp", c.Status.Listen)
	if err != nil {
		a.Spool().Close()
		return nil, fmt.Errorf("status: listen on %s: %w (is another storeagent running?)", c.Status.Listen, err)
	}
	out.statusURL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	registerPage(mux, a, logger)
	out.extra["status"] = a.StatusServer(ln, a.Handler(mux))
	return out, nil
}

// ftpInbox hands complete FTP uploads to the agent.
type ftpInbox struct{ a *agent.Agent }

func (f ftpInbox) Import(ctx context.Context, u ftpd.Upload) error {
	return f.a.ImportFile(ctx, agent.FileRequest{Path: u.Path, Root: u.Home, Location: u.Location, Origin: "ftp:" + u.User, Discard: true})
}

var _ ftpd.Inbox = ftpInbox{}

// within bounds a short command's wait on the network.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
