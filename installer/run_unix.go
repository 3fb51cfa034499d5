//go:build !windows

package installer

import "github.com/kardianos/service"

// stopSelf does nothing: RunWait already returns when the agent ends.
func stopSelf(service.Service) error { return nil }

// stopSelfBlocks tells whether stopSelf may block until the process ends.
const stopSelfBlocks = false
