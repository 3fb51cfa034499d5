package installer

import (
	"fmt"
	"runtime"

	"github.com/kardianos/service"
)

// nopProgram stands for the agent when the service is only controlled, not
// run.
type nopProgram struct{}

func (nopProgram) Start(service.Service) error { return nil }
func (nopProgram) Stop(service.Service) error  { return nil }

var _ service.Interface = nopProgram{}

// openService is the kardianos service for p.
func openService(p Paths) (service.Service, error) {
	s, err := service.New(nopProgram{}, ServiceConfig(p))
	if err != nil {
		return nil, fmt.Errorf("open the service manager: %w", err)
	}
	return s, nil
}

// EventLog returns the Windows Event Log writer of the installed service
// (its source is registered by install), for logsink.Options.System. It
// returns nil, nil on other systems and when the agent runs in a terminal.
func EventLog() (service.Logger, error) {
	if runtime.GOOS != "windows" || service.Interactive() {
		return nil, nil
	}
	s, err := service.New(nopProgram{}, &service.Config{Name: Name})
	if err != nil {
		return nil, fmt.Errorf("open the event log: %w", err)
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return nil, fmt.Errorf("open the event log: %w", err)
	}
	return l, nil
}
