package installer

import "os"

// DefaultPaths are the Linux locations: the running binary (the package puts
// it at /usr/bin/storeagent), /etc/storeagent/config.yaml, /var/lib/storeagent
// and /var/log/storeagent.
func DefaultPaths() Paths {
	return Paths{
		Executable: defaultExecutable(os.Executable, "/usr/bin/storeagent"),
		ConfigFile: "/etc/storeagent/config.yaml",
		DataDir:    "/var/lib/storeagent",
		LogDir:     "/var/log/storeagent",
	}
}
