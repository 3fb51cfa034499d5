//go:build !linux && !windows

package installer

import "os"

// DefaultPaths on other systems follow the Linux layout, so that the agent
// can at least be built and run in the foreground there; service control is
// only supported on Linux (systemd) and Windows.
func DefaultPaths() Paths {
	return Paths{
		Executable: defaultExecutable(os.Executable, "/usr/local/bin/storeagent"),
		ConfigFile: "/etc/storeagent/config.yaml",
		DataDir:    "/var/lib/storeagent",
		LogDir:     "/var/log/storeagent",
	}
}
