package installer

import "github.com/kardianos/service"

// stopSelf asks the Service Control Manager to stop this service; its Stop
// then reports the agent's error as the service's exit code, which triggers
// the recovery action (install sets it for non-crash failures too).
func stopSelf(s service.Service) error { return s.Stop() }

// stopSelfBlocks: kardianos' Stop waits for the service to reach Stopped,
// which happens only as the process ends, so RunService does not wait for it.
const stopSelfBlocks = true
