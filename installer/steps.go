package installer

import (
	"errors"
	"fmt"
	"time"
)

// step is one part of an install that can be undone.
type step struct {
	name string       // what the step does, as an error names it: "set recovery on failure"
	do   func() error // the step
	undo func() error // takes back what do did; nil when there is nothing to take back
}

// runSteps does the steps in order. When one fails, those done are undone,
// last first, and the error names the step that failed ("set recovery on
// failure: ..."), followed by any undo that failed too, so that the
// operator knows what is left behind.
func runSteps(steps []step) error {
	for i, s := range steps {
		err := s.do()
		if err == nil {
			continue
		}
		err = fmt.Errorf("%s: %w", s.name, err)
		var left []error
		for j := i - 1; j >= 0; j-- {
			if steps[j].undo == nil {
				continue
			}
			if uerr := steps[j].undo(); uerr != nil {
				left = append(left, fmt.Errorf("undo %s: %w", steps[j].name, uerr))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("%w; the service may be left half-registered (storeagent uninstall removes it): %w", err, errors.Join(left...))
		}
		return err
	}
	return nil
}

// windowsRegistry is what installing the Windows service needs of the
// Service Control Manager and the Event Log: the Windows build uses
// golang.org/x/sys/windows/svc/mgr and eventlog, tests a fake.
type windowsRegistry interface {
	// CreateService registers the service (not started).
	CreateService(c windowsService) error
	// SetRecoveryActions sets what the manager does when the service
	// fails: restart after delay, failures counted over resetPeriod.
	SetRecoveryActions(delay, resetPeriod time.Duration) error
	// SetRecoveryActionsOnNonCrashFailures applies them also when the
	// service stops with an error instead of crashing.
	SetRecoveryActionsOnNonCrashFailures() error
	// DeleteService unregisters the service.
	DeleteService() error
	// InstallEventSource registers the Event Log source (one already
	// registered is fine).
	InstallEventSource() error
}

// windowsService is the service definition given to the Service Control
// Manager.
type windowsService struct {
	Name, DisplayName, Description string
	Executable                     string
	Arguments                      []string
	Account                        string // ServiceStartName: the account it runs as
	DelayedAutoStart               bool
}

// windowsServiceFor is the definition of the service for p.
func windowsServiceFor(p Paths) windowsService {
	c := ServiceConfig(p)
	return windowsService{
		Name: c.Name, DisplayName: c.DisplayName, Description: c.Description,
		Executable: c.Executable, Arguments: c.Arguments, Account: c.UserName,
		DelayedAutoStart: true,
	}
}

// installWindowsService registers the service, its recovery settings and
// its Event Log source. When a step fails, what was done is undone: no
// half-registered service is left behind.
func installWindowsService(r windowsRegistry, c windowsService) error {
	return runSteps([]step{
		{
			name: "register the service",
			do:   func() error { return r.CreateService(c) },
			undo: r.DeleteService,
		},
		{
			name: "set recovery on failure",
			do: func() error {
				return r.SetRecoveryActions(restartDelaySeconds*time.Second, failureResetSeconds*time.Second)
			},
		},
		{
			name: "set recovery on failure",
			do:   r.SetRecoveryActionsOnNonCrashFailures,
		},
		{
			name: "register the event log source",
			do:   r.InstallEventSource,
		},
	})
}
