package installer

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// restrict replaces the ACL of path by full control for SYSTEM and
// Administrators, and for the service's virtual account modify (what it
// writes) or read (the configuration); nothing for other users.
func restrict(ctx context.Context, path string, dir bool, _ account, writes bool) error {
	out, err := exec.CommandContext(ctx, "icacls", icaclsArgs(path, dir, writes)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restrict %s with icacls: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// handOver applies the service's write access to an existing folder; what
// is in it inherits it.
func handOver(ctx context.Context, dir string, a account) error {
	return restrict(ctx, dir, true, a, true)
}

// tightenFile applies the configuration's ACL to an existing file.
func tightenFile(ctx context.Context, path string, a account) (string, error) {
	if err := restrict(ctx, path, false, a, false); err != nil {
		return "", err
	}
	return "", nil
}

// shareConfigFiles does nothing on Windows: the files inherit the folder's
// ACL.
func shareConfigFiles(string, string, account) error { return nil }
