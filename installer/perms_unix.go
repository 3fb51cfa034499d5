//go:build !windows

package installer

import (
	"context"
	"fmt"
	"os"
)

// restrict gives a folder 0750 and a file 0640, owned by root when install
// runs as root (the service runs as root, see SystemdUnit).
func restrict(_ context.Context, path string, dir bool) error {
	mode := configMode
	if dir {
		mode = dirMode
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(path, 0, 0); err != nil {
			return fmt.Errorf("restrict %s: %w", path, err)
		}
	}
	return nil
}

// tightenFile takes write from the group and everything from others on an
// existing configuration file, and says what changed ("" when nothing did).
// It never widens permissions an operator chose.
func tightenFile(_ context.Context, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("restrict %s: %w", path, err)
	}
	old := fi.Mode().Perm()
	mode := old &^ 0o037
	if mode == old {
		return "", nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return "", fmt.Errorf("restrict %s: %w", path, err)
	}
	return fmt.Sprintf("mode %04o, was %04o", mode, old), nil
}
