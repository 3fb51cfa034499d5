package installer

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// restrict replaces the ACL of path by full control for SYSTEM (the service)
// and Administrators, nothing for other users.
func restrict(ctx context.Context, path string, dir bool) error {
	out, err := exec.CommandContext(ctx, "icacls", icaclsArgs(path, dir)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restrict %s with icacls: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// tightenFile applies the same ACL to an existing configuration file.
func tightenFile(ctx context.Context, path string) (string, error) {
	if err := restrict(ctx, path, false); err != nil {
		return "", err
	}
	return "", nil
}
