package installer

import (
	"fmt"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc/mgr"
)

// windowsManager adds to kardianos' install the one recovery setting it
// lacks: apply the restart action also when the service stops with an error
// instead of crashing, which is how RunService reports an agent that failed.
type windowsManager struct{ service.Service }

func newManager(p Paths) (Manager, error) {
	s, err := openService(p)
	if err != nil {
		return nil, err
	}
	return windowsManager{s}, nil
}

func (w windowsManager) Install() error {
	if err := w.Service.Install(); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	defer s.Close()
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	return nil
}
