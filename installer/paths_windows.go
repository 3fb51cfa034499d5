package installer

import (
	"os"
	"path/filepath"
)

// DefaultPaths are the Windows locations under %ProgramData%\StoreAgent:
// config.yaml, data\ and logs\, and the running storeagent.exe.
func DefaultPaths() Paths {
	base := filepath.Join(programData(os.Getenv), "StoreAgent")
	return Paths{
		Executable: defaultExecutable(os.Executable, filepath.Join(base, "storeagent.exe")),
		ConfigFile: filepath.Join(base, "config.yaml"),
		DataDir:    filepath.Join(base, "data"),
		LogDir:     filepath.Join(base, "logs"),
	}
}
