//go:build !windows

package main

import (
	"os"
	"syscall"
)

// keepOwner gives path the owner and group of the file fi describes, so
// that a configuration rewritten by root stays root:storeagent (readable by
// the service). Without the right to (not root) it does nothing.
func keepOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}
