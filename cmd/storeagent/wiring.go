package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/ftpd"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/shopify"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/woocommerce"
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
type stateStore = record.StateStore

// sources is the one list of POS sources: the key is the name of the
// source's configuration section (and of its key under each location).
// Adding a source is a package under importers/ and a line here (what the
// package provides: agent/config/README.md).
var sources = map[string]sourceSpec{
	"shopify":     source(shopify.Build),
	"vend":        source(vend.Build),
	"woocommerce": source(woocommerce.Build),
}

// sourceSpec is one source: its configuration section and its constructor.
type sourceSpec struct {
	section func() config.Section
	build   func(sec config.Section, b []record.Binding, env record.SourceEnv) (posSource, agent.Source, error)
}

// sourceConfig is what a source's configuration section provides: it maps
// locations either under each location (config.LocationMapper) or in its
// own keys (config.LocationOwner).
type sourceConfig interface {
	config.Section
	Timing() (schedule string, spread time.Duration)
}

// source makes the spec of a source package from its Build function, whose
// first argument is its configuration section (a pointer to a struct).
func source[C interface {
	*T
	sourceConfig
}, T any, I posSource](build func(C, []record.Binding, record.SourceEnv) (I, error)) sourceSpec {
	return sourceSpec{
		section: func() config.Section { return C(new(T)) },
		build: func(sec config.Section, b []record.Binding, env record.SourceEnv) (posSource, agent.Source, error) {
			cfg := sec.(C)
			imp, err := build(cfg, b, env)
			if err != nil {
				return nil, agent.Source{}, err
			}
			schedule, spread := cfg.Timing()
			return imp, agent.Source{Importer: imp, Schedule: schedule, Spread: spread}, nil
		},
	}
}

// configKinds are the sources' sections, for config.Load.
func configKinds() []config.Kind {
	var out []config.Kind
	for _, name := range sortedSourceNames() {
		out = append(out, config.Kind{Name: name, New: sources[name].section})
	}
	return out
}

// buildSource builds one source; a nil importer means its section is absent.
func buildSource(name string, c *config.Config, d sourceDeps) (posSource, agent.Source, error) {
	spec, ok := sources[name]
	sec := c.Section(name)
	if !ok || sec == nil {
		return nil, agent.Source{}, nil
	}
	env := record.SourceEnv{Logger: d.logger.With("source", name), State: d.state}
	imp, src, err := spec.build(sec, c.Bindings(name), env)
	src.Name = name
	return imp, src, err
}

// buildSources constructs every configured source.
func buildSources(c *config.Config, d sourceDeps) (map[string]posSource, []agent.Source, error) {
	imps := map[string]posSource{}
	var list []agent.Source
	var errs []error
	for _, name := range sortedSourceNames() {
		imp, src, err := buildSource(name, c, d)
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

// vendTokens keeps the Lightspeed token in the buffer file (for connect).
type vendTokens struct{ st stateStore }

func (v vendTokens) LoadToken(ctx context.Context) (vend.Token, error) {
	return vend.StateTokens(v.st).LoadToken(ctx)
}

func (v vendTokens) SaveToken(ctx context.Context, t vend.Token) error {
	return vend.StateTokens(v.st).SaveToken(ctx, t)
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
	registerPage(mux, a, logger, out.ftp)
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
