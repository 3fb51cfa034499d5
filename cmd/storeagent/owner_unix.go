//go:build !windows

package main

import (
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of the file it replaces (root
// editing a file the service account owns must not take it away).
func keepOwner(f *os.File, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
