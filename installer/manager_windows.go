package installer

import (
	"errors"
	"strings"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// windowsManager installs the service itself (installWindowsService: every
// step undone when a later one fails, and the error names the step) and
// leaves the other verbs to kardianos.
type windowsManager struct {
	service.Service
	p Paths
}

func newManager(p Paths) (Manager, error) {
	s, err := openService(p)
	if err != nil {
		return nil, err
	}
	return windowsManager{s, p}, nil
}

func (w windowsManager) Install() error {
	m, err := mgr.Connect()
	if err != nil {
		return errors.New("connect to the Service Control Manager: " + err.Error())
	}
	defer m.Disconnect()
	r := &scmRegistry{m: m}
	defer r.close()
	return installWindowsService(r, windowsServiceFor(w.p))
}

// scmRegistry is windowsRegistry on the real Service Control Manager.
type scmRegistry struct {
	m *mgr.Mgr
	s *mgr.Service
}

func (r *scmRegistry) close() {
	if r.s != nil {
		r.s.Close()
	}
}

func (r *scmRegistry) CreateService(c windowsService) error {
	if s, err := r.m.OpenService(c.Name); err == nil {
		s.Close()
		return errors.New("a service named " + c.Name + " already exists")
	}
	s, err := r.m.CreateService(c.Name, c.Executable, mgr.Config{
		DisplayName:      c.DisplayName,
		Description:      c.Description,
		StartType:        mgr.StartAutomatic,
		ServiceStartName: c.Account,
		DelayedAutoStart: c.DelayedAutoStart,
		ServiceType:      windows.SERVICE_WIN32_OWN_PROCESS,
	}, c.Arguments...)
	if err != nil {
		return err
	}
	r.s = s
	return nil
}

func (r *scmRegistry) SetRecoveryActions(delay, reset time.Duration) error {
	return r.s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: delay}}, uint32(reset/time.Second))
}

func (r *scmRegistry) SetRecoveryActionsOnNonCrashFailures() error {
	return r.s.SetRecoveryActionsOnNonCrashFailures(true)
}

func (r *scmRegistry) DeleteService() error {
	if r.s == nil {
		return nil
	}
	err := r.s.Delete()
	r.s.Close()
	r.s = nil
	return err
}

func (r *scmRegistry) InstallEventSource() error {
	err := eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info)
	if err != nil && strings.Contains(err.Error(), "exists") {
		return nil
	}
	return err
}
