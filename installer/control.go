package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/kardianos/service"
)

// The actions Control accepts.
const (
	ActionInstall   = "install"
	ActionUninstall = "uninstall"
	ActionStart     = "start"
	ActionStop      = "stop"
	ActionRestart   = "restart"
)

// ErrNotInstalled is returned by start and restart when the service is not
// installed.
var ErrNotInstalled = errors.New("the storeagent service is not installed: run storeagent install first")

// ErrUnconfigured is returned by start and restart while the configuration
// file is missing or still the unedited sample that install wrote.
var ErrUnconfigured = errors.New("the agent is not configured yet")

// Manager is what Control needs of the service manager. A kardianos
// service.Service has these methods; tests give a fake.
type Manager interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (service.Status, error)
	Platform() string
}

var _ Manager = service.Service(nil)

// Option changes how Control works.
type Option func(*controlOptions)

type controlOptions struct {
	purge   bool
	out     io.Writer
	logger  *slog.Logger
	manager Manager
	account *account
}

// WithPurge makes uninstall also delete the configuration, the data (with
// any records not yet delivered) and the logs. Without it they are kept.
func WithPurge() Option { return func(o *controlOptions) { o.purge = true } }

// WithOutput sets where Control tells the operator what it did (one line per
// step, for a terminal). The default discards it.
func WithOutput(w io.Writer) Option { return func(o *controlOptions) { o.out = w } }

// WithLogger sets the logger for details (the default discards them).
func WithLogger(l *slog.Logger) Option { return func(o *controlOptions) { o.logger = l } }

// WithManager replaces the system's service manager (for tests).
func WithManager(m Manager) Option { return func(o *controlOptions) { o.manager = m } }

// WithOwner makes install give the folders to uid:gid instead of the
// service's system user, which it then neither looks up nor creates (for
// tests; -1, -1 leaves ownership alone).
func WithOwner(uid, gid int) Option {
	return func(o *controlOptions) {
		o.account = &account{name: fmt.Sprintf("%d:%d", uid, gid), uid: uid, gid: gid}
	}
}

// supportedPlatforms are the kardianos systems Control manages: the unit
// file and the recovery settings are written for these two only.
var supportedPlatforms = map[string]bool{"linux-systemd": true, "windows-service": true}

// Control carries out one of install, uninstall, start, stop and restart on
// the storeagent service installed with paths p. Every action is idempotent:
//
//   - install creates the configuration, data and log folders (readable by
//     root/SYSTEM and administrators only), writes the sample configuration
//     if there is none, and installs the service without starting it; when
//     the service is already installed it is reinstalled with the current
//     settings (and restarted if it was running).
//   - uninstall stops and removes the service (nothing to do when absent)
//     and keeps the configuration and data unless WithPurge is given.
//   - start and restart refuse while the service is not installed or the
//     configuration is missing or still the sample; start on a running
//     service and stop on a stopped or absent one do nothing.
func Control(ctx context.Context, action string, p Paths, opts ...Option) error {
	o := controlOptions{out: io.Discard, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	switch action {
	case ActionInstall, ActionUninstall, ActionStart, ActionStop, ActionRestart:
	default:
		return fmt.Errorf("unknown service action %q (use install, uninstall, start, stop or restart)", action)
	}
	p, err := p.Abs()
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	m := o.manager
	if m == nil {
		if m, err = newManager(p); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	if pl := m.Platform(); !supportedPlatforms[pl] {
		return fmt.Errorf("%s: this system's service manager is %q; storeagent installs itself under systemd or the Windows Service Control Manager only: run \"storeagent run --config %s\" under your own supervisor instead", action, pl, p.ConfigFile)
	}
	c := controller{m: m, p: p, o: o, say: func(format string, a ...any) {
		fmt.Fprintf(o.out, format+"\n", a...)
	}}
	o.logger.Debug("service control", "action", action, "platform", m.Platform(), "config", p.ConfigFile)
	switch action {
	case ActionInstall:
		err = c.install(ctx)
	case ActionUninstall:
		err = c.uninstall(ctx)
	case ActionStart:
		err = c.start(ctx)
	case ActionStop:
		err = c.stop(ctx)
	case ActionRestart:
		err = c.restart(ctx)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

type controller struct {
	m   Manager
	p   Paths
	o   controlOptions
	say func(format string, a ...any)
}

type state int

const (
	absent state = iota
	stopped
	running
)

// state asks the service manager whether the service is installed and
// running. systemd reports a unit in the failed state as an error: it is
// installed and not running.
func (c *controller) state() (state, error) {
	st, err := c.m.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return absent, nil
	case err != nil && strings.Contains(err.Error(), "failed state"):
		return stopped, nil
	case err != nil:
		return absent, fmt.Errorf("query the service: %w", err)
	case st == service.StatusRunning:
		return running, nil
	default:
		return stopped, nil
	}
}

func (c *controller) install(ctx context.Context) error {
	ensure := ensureAccount
	if c.o.account != nil {
		a := *c.o.account
		ensure = func(context.Context, Paths, func(string, ...any)) (account, error) { return a, nil }
	}
	if err := prepare(ctx, c.p, ensure, c.say); err != nil {
		return err
	}
	st, err := c.state()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if st == absent {
		if err := c.m.Install(); err != nil {
			return err
		}
		c.say("installed the %s service (%s), set to start at boot; not started", Name, c.m.Platform())
		if c.unconfigured() == nil {
			c.say("next: storeagent start")
		} else {
			c.say("next: edit %s, check it with storeagent doctor, then storeagent start", c.p.ConfigFile)
		}
		return nil
	}
	if st == running {
		if err := c.m.Stop(); err != nil {
			return fmt.Errorf("stop the running service to reinstall it: %w", err)
		}
	}
	if err := c.removeService(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.m.Install(); err != nil {
		return err
	}
	if st == running {
		if err := c.m.Start(); err != nil {
			return fmt.Errorf("start the reinstalled service: %w", err)
		}
		c.say("the %s service was already installed: reinstalled it with the current settings and restarted it", Name)
		return nil
	}
	c.say("the %s service was already installed: reinstalled it with the current settings (not started)", Name)
	return nil
}

// removeService unregisters the service. A unit file that is not where
// kardianos writes it (the package's /lib/systemd/system one) was disabled
// by kardianos before it looked for the file: that is enough.
func (c *controller) removeService() error {
	err := c.m.Uninstall()
	if errors.Is(err, fs.ErrNotExist) {
		c.say("the %s unit file belongs to the installed package: disabled it (remove the package to delete it)", Name)
		return nil
	}
	return err
}

func (c *controller) uninstall(ctx context.Context) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	switch st {
	case absent:
		c.say("the %s service is not installed: nothing to remove", Name)
	default:
		if st == running {
			if err := c.m.Stop(); err != nil {
				return fmt.Errorf("stop the service: %w", err)
			}
			c.say("stopped the %s service", Name)
		}
		if err := c.removeService(); err != nil {
			return err
		}
		c.say("removed the %s service", Name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.o.purge {
		c.say("kept the configuration %s, the data in %s and the logs in %s (uninstall --purge deletes them)", c.p.ConfigFile, c.p.DataDir, c.p.LogDir)
		return nil
	}
	return purge(c.p, c.say)
}

func (c *controller) start(_ context.Context) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	switch st {
	case absent:
		return ErrNotInstalled
	case running:
		c.say("the %s service is already running", Name)
		return nil
	}
	if err := c.unconfigured(); err != nil {
		return err
	}
	if err := c.m.Start(); err != nil {
		return err
	}
	c.say("started the %s service", Name)
	return nil
}

func (c *controller) stop(_ context.Context) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	switch st {
	case absent:
		c.say("the %s service is not installed: nothing to stop", Name)
		return nil
	case stopped:
		c.say("the %s service is already stopped", Name)
		return nil
	}
	if err := c.m.Stop(); err != nil {
		return err
	}
	c.say("stopped the %s service", Name)
	return nil
}

func (c *controller) restart(_ context.Context) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	if st == absent {
		return ErrNotInstalled
	}
	if err := c.unconfigured(); err != nil {
		return err
	}
	if st == stopped {
		if err := c.m.Start(); err != nil {
			return err
		}
		c.say("the %s service was stopped: started it", Name)
		return nil
	}
	if err := c.m.Restart(); err != nil {
		return err
	}
	c.say("restarted the %s service", Name)
	return nil
}
